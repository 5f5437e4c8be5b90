"""Dates and times: DA, TM and DT values.

Why strings: pydicom (by default) gives these values as ``str``, and real files hold
values a ``datetime`` cannot (ranges such as ``20200101-20201231`` in queries, partial
times ``"14"``, leap seconds, ACR-NEMA ``"2001.01.31"``). So :class:`DA`, :class:`TM` and
:class:`DT` are ``str`` subclasses, equal to pydicom's values and written back unchanged,
with :meth:`DA.date`, :meth:`TM.time` and :meth:`DT.datetime` to get Python objects when
the text is one. Constructed from a ``date``/``time``/``datetime`` they take the text
pydicom would write for it.
"""

from __future__ import annotations

__all__ = ("DA", "DT", "TM", "format_da", "format_dt", "format_tm")

import datetime as _dt
import re

from dicomstream.values._errors import InvalidValueError, warn_value

_DA_RE = re.compile(r"(\d{4})(\d{2})(\d{2})|(\d{4})\.(\d{2})\.(\d{2})")
_TM_RE = re.compile(
    r"(?P<h>[01]\d|2[0-3])(?::?(?P<m>[0-5]\d)(?::?(?P<s>[0-5]\d|60)(?:\.(?P<f>\d{1,6}))?)?)?"
)
_DT_RE = re.compile(
    r"(?P<Y>\d{4})(?:(?P<M>\d{2})(?:(?P<D>\d{2})(?:(?P<h>\d{2})(?:(?P<m>\d{2})"
    r"(?:(?P<s>\d{2})(?:\.(?P<f>\d{1,6}))?)?)?)?)?)?(?P<z>[+-]\d{4})?"
)


def format_da(value: _dt.date) -> str:
    """``YYYYMMDD`` (the date part of a ``datetime``)."""
    return f"{value.year:04}{value.month:02}{value.day:02}"


def format_tm(value: _dt.time) -> str:
    """``HHMMSS``, with ``.FFFFFF`` only when there are microseconds (as pydicom writes)."""
    text = f"{value.hour:02}{value.minute:02}{value.second:02}"
    return f"{text}.{value.microsecond:06}" if value.microsecond else text


def format_dt(value: _dt.datetime | _dt.date) -> str:
    """``YYYYMMDDHHMMSS[.FFFFFF][&ZZXX]`` as pydicom writes it; a ``date`` gives ``YYYYMMDD``."""
    if not isinstance(value, _dt.datetime):
        return format_da(value)
    text = format_da(value) + format_tm(value.time())
    offset = value.utcoffset()
    if offset is not None:
        minutes = offset.days * 24 * 60 + offset.seconds // 60
        sign = "+" if minutes >= 0 else "-"
        minutes = abs(minutes)
        text += f"{sign}{minutes // 60:02}{minutes % 60:02}"
    return text


def _leap_second(second: int, vr: str) -> int:
    if second == 60:
        warn_value(f"{vr} value has a leap second, which Python cannot hold; using 59")
        return 59
    return second


class DA(str):
    """A DA value (``YYYYMMDD``); :meth:`date` gives it as a :class:`datetime.date`."""

    __slots__ = ()

    def __new__(cls, value: str | _dt.date = "") -> DA:
        return super().__new__(cls, value if isinstance(value, str) else format_da(value))

    def date(self) -> _dt.date:
        """The date; ACR-NEMA ``YYYY.MM.DD`` is accepted too.

        Raises:
            InvalidValueError: the text is empty, a range, or no valid date.
        """
        match = _DA_RE.fullmatch(self.strip())
        if match is None:
            raise InvalidValueError(f"not a DA date: {str(self)!r}")
        y, m, d = (int(g) for g in match.groups() if g is not None)
        try:
            return _dt.date(y, m, d)
        except ValueError as exc:
            raise InvalidValueError(f"not a DA date: {str(self)!r} ({exc})") from None


class TM(str):
    """A TM value (``HH[MM[SS[.F{1,6}]]]``); :meth:`time` gives a :class:`datetime.time`."""

    __slots__ = ()

    def __new__(cls, value: str | _dt.time = "") -> TM:
        return super().__new__(cls, value if isinstance(value, str) else format_tm(value))

    def time(self) -> _dt.time:
        """The time; missing parts are 0, a leap second is read as 59 (with a warning).

        ACR-NEMA ``HH:MM:SS`` is accepted too.

        Raises:
            InvalidValueError: the text is empty, a range, or no valid time.
        """
        match = _TM_RE.fullmatch(self.strip())
        if match is None:
            raise InvalidValueError(f"not a TM time: {str(self)!r}")
        parts = match.groupdict()
        fraction = parts["f"]
        return _dt.time(
            int(parts["h"]),
            int(parts["m"] or 0),
            _leap_second(int(parts["s"] or 0), "TM"),
            int(fraction.ljust(6, "0")) if fraction else 0,
        )


class DT(str):
    """A DT value (``YYYY[MM[DD[HH[MM[SS[.F]]]]]][&ZZXX]``); see :meth:`datetime`."""

    __slots__ = ()

    def __new__(cls, value: str | _dt.date = "") -> DT:
        return super().__new__(cls, value if isinstance(value, str) else format_dt(value))

    def datetime(self) -> _dt.datetime:
        """The date and time; missing parts are their minimum (month 1, hour 0, …).

        A UTC offset suffix gives an aware ``datetime`` whose tzinfo is named after it.

        Raises:
            InvalidValueError: the text is empty, a range, or no valid date and time.
        """
        text = self.strip()
        match = _DT_RE.fullmatch(text)
        if match is None:
            raise InvalidValueError(f"not a DT date-time: {str(self)!r}")
        p = match.groupdict()
        tzinfo = None
        if p["z"]:
            z = p["z"]
            minutes = int(z[1:3]) * 60 + int(z[3:5])
            delta = _dt.timedelta(minutes=-minutes if z[0] == "-" else minutes)
            try:
                tzinfo = _dt.timezone(delta, name=z)
            except ValueError:
                raise InvalidValueError(f"bad UTC offset in DT {str(self)!r}") from None
        try:
            return _dt.datetime(
                int(p["Y"]),
                int(p["M"] or 1),
                int(p["D"] or 1),
                int(p["h"] or 0),
                int(p["m"] or 0),
                _leap_second(int(p["s"] or 0), "DT"),
                int(p["f"].ljust(6, "0")) if p["f"] else 0,
                tzinfo=tzinfo,
            )
        except ValueError as exc:
            raise InvalidValueError(f"not a DT date-time: {str(self)!r} ({exc})") from None
