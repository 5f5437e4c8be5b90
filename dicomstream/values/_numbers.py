"""Numbers written as text: DS (decimal string) and IS (integer string).

Why they are types and not plain floats and ints: a DS of ``"1.50"`` and one of ``"1.5"``
are the same number but not the same bytes. :class:`DSfloat` and :class:`IS` are a
``float`` and an ``int`` that remember the string they came from, so an unchanged value
encodes to exactly the bytes it was read from, while arithmetic gives plain numbers.
They behave like pydicom's classes of the same names: ``str()`` is the original string,
``repr()`` is quoted (``'1.50'`` for DS, ``'5'`` for IS, as pydicom prints them), and they
compare equal to numbers and to their string.

A number without an original string is written the way pydicom writes it: ``repr`` of
the float when that fits the 16 characters of DS, else :func:`format_ds` (pydicom's
``format_number_as_ds``); ``str`` of the int for IS.
"""

from __future__ import annotations

__all__ = ("IS", "DSfloat", "ISfloat", "format_ds", "format_is")

import math
from decimal import Decimal
from typing import Any, SupportsIndex

from dicomstream.errors import EncodeError
from dicomstream.values._errors import InvalidValueError

_IS_MIN, _IS_MAX = -(2**31), 2**31 - 1  # PS3.5 Table 6.2-1: IS is a signed 32-bit value


def format_ds(value: float | Decimal) -> str:
    """The decimal string for ``value`` in at most 16 characters, as pydicom formats it.

    Python's shortest ``repr`` when it fits; else fixed or scientific notation truncated
    to 16 characters (scientific below 1e-4 and from 1e14, 1e13 for negatives).

    Raises:
        EncodeError: ``value`` is not finite.
    """
    if not math.isfinite(value):
        raise EncodeError(f"DS cannot hold the non-finite value {value!r}")
    text = str(value)
    if len(text) <= 16:
        return text
    logval = math.log10(abs(float(value)))
    sign_chars = 1 if value < 0 else 0
    if logval < -4 or logval >= 14 - sign_chars:
        digits = 10 - sign_chars
        text = f"{value:.{digits}e}"
        if len(text) > 16:
            text = f"{value:.{digits - 1}e}"
        while math.isinf(float(text)):  # rounded up past the largest float (pydicom: inf)
            digits -= 1
            text = f"{value:.{digits}e}"
        return text
    if logval >= 1.0:
        return f"{value:.{14 - sign_chars - int(math.floor(logval))}f}"
    return f"{value:.{14 - sign_chars}f}"


def format_is(value: int) -> str:
    """The integer string for ``value``.

    Raises:
        EncodeError: ``value`` is outside the signed 32-bit range IS allows.
    """
    if not _IS_MIN <= value <= _IS_MAX:
        raise EncodeError(f"IS values must be in [-2**31, 2**31 - 1], not {value}")
    return str(value)


class DSfloat(float):
    """A DS value: a ``float`` that keeps the string it was read from.

    ``DSfloat("1.50")`` keeps ``"1.50"``; ``DSfloat(1.5)`` has no original string and is
    written as :func:`format_ds` gives it. With ``auto_format=True`` an original string that
    is not valid DS (too long, say) is replaced by the formatted number.

    Raises:
        InvalidValueError: the string is no number.
    """

    __slots__ = ("auto_format", "original_string")

    original_string: str | None
    auto_format: bool

    def __new__(cls, value: str | float | Decimal | SupportsIndex,
                auto_format: bool = False) -> DSfloat:
        if isinstance(value, str):
            try:
                return super().__new__(cls, value)
            except ValueError:
                raise InvalidValueError(f"not a decimal string: {value!r}") from None
        if isinstance(value, float | Decimal):
            return super().__new__(cls, value)
        return super().__new__(cls, value.__index__())

    def __init__(self, value: str | float | Decimal | SupportsIndex,
                 auto_format: bool = False) -> None:
        original: str | None = None
        if isinstance(value, str):
            original = value.strip()
        elif isinstance(value, DSfloat):
            original = value.original_string
            auto_format = auto_format or value.auto_format
        if auto_format and (original is None or not _valid_ds(original)):
            original = format_ds(float(self))
        self.original_string = original
        self.auto_format = auto_format

    def __str__(self) -> str:
        if self.original_string is not None:
            return self.original_string
        return float.__repr__(self)

    def __repr__(self) -> str:
        return f"'{self}'"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        return float.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return float.__hash__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self) if self.original_string else float(self),
                             self.auto_format))

    def to_ds(self) -> str:
        """The string this value is written as (at most 16 characters unless read so)."""
        if self.original_string is not None:
            return self.original_string
        return format_ds(float(self))


class ISfloat(float):
    """An IS value read as a non-integral number (``"1.5"``), kept as pydicom keeps it.

    IS must be an integer; a value that is not is tolerated on reading and written back
    exactly as read.
    """

    __slots__ = ("original_string",)

    original_string: str | None

    def __init__(self, value: str | float) -> None:
        self.original_string = value.strip() if isinstance(value, str) else None

    def __str__(self) -> str:
        if self.original_string is not None:
            return self.original_string
        return float.__repr__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self),))


class IS(int):
    """An IS value: an ``int`` that keeps the string it was read from.

    ``IS(" +5")`` is 5 and keeps ``"+5"``; ``IS("5.0")`` is 5 too (a float string with no
    fraction is accepted, as pydicom accepts it). Use :func:`parse_is` to also accept
    non-integral strings (which give an :class:`ISfloat`).

    Raises:
        InvalidValueError: the value is not an integer.
    """

    original_string: str | None

    def __new__(cls, value: str | float | Decimal | SupportsIndex) -> IS:
        if isinstance(value, str):
            try:
                return super().__new__(cls, value)
            except ValueError:
                pass
            try:
                number = float(value)
            except ValueError:
                raise InvalidValueError(f"not an integer string: {value!r}") from None
        elif isinstance(value, float | Decimal):
            number = float(value)
        else:
            return super().__new__(cls, value.__index__())
        if not number.is_integer():
            raise InvalidValueError(f"not an integer: {value!r}")
        return super().__new__(cls, int(number))

    def __init__(self, value: str | float | Decimal | SupportsIndex) -> None:
        if isinstance(value, str):
            self.original_string = value.strip()
        elif isinstance(value, IS):
            self.original_string = value.original_string
        else:
            self.original_string = None

    def __str__(self) -> str:
        if self.original_string is not None:
            return self.original_string
        return int.__repr__(self)

    def __repr__(self) -> str:
        return f"'{int.__repr__(self)}'"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            return str(self) == other
        return int.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self == other

    def __hash__(self) -> int:
        return int.__hash__(self)

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self),))


def _valid_ds(text: str) -> bool:
    """Valid DS text: at most 16 characters of a decimal number (PS3.5 Table 6.2-1)."""
    if len(text) > 16 or not text or any(c not in "0123456789+-.eE " for c in text):
        return False
    try:
        return math.isfinite(float(text))
    except ValueError:
        return False


def parse_ds(text: str) -> DSfloat | str:
    """One DS value as pydicom reads it: blank stays the string, else a DSfloat."""
    return text if not text.strip() else DSfloat(text)


def parse_is(text: str) -> IS | ISfloat | str:
    """One IS value as pydicom reads it: blank stays the string, a fraction an ISfloat."""
    if not text.strip():
        return text
    try:
        return IS(text)
    except InvalidValueError:
        try:
            return ISfloat(text)
        except ValueError:
            raise InvalidValueError(f"not an integer string: {text!r}") from None
