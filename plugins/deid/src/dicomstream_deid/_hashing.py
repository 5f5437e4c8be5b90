"""Consistency without shared state: every replacement that must agree across files is a
keyed hash of the original.

One secret key (the *project key*) and HMAC-SHA-256 give, for the same input, the same
output in every file, batch, process and machine, and different outputs under different
keys — so two halves of a study de-identified on two machines still reference each other,
and nobody without the key can recompute (or test guesses against) the mapping.

* UIDs → ``2.25.<integer>``: the first 128 bits of the HMAC made into a version 8
  (custom) UUID (RFC 9562), written as the decimal integer ISO/IEC 9834-8 prescribes for
  the ``2.25`` arc. At most 44 characters.
* Patient ID / name → ``ID-`` / ``ANON^`` plus 16 base-32 characters of the HMAC.
* Dates → a per-patient offset of 1 to 3650 whole days into the past, from the HMAC of the
  patient key (the original Patient ID); whole days keep every TM consistent with its DA.

Every derivation is domain-separated (``uid``, ``pid``, ``pname``, ``date``, ``text``).
"""

from __future__ import annotations

__all__ = ("MIN_KEY_BYTES", "Keyring")

import base64
import functools
import hashlib
import hmac

MIN_KEY_BYTES = 16
"""Shortest key accepted (128 bits), as for an HMAC key of a 128-bit security level."""

MAX_SHIFT_DAYS = 3650
"""Dates move back by 1 … this many days (ten years)."""

_UUID_VERSION_MASK = ~(0xF << 76)
_UUID_VARIANT_MASK = ~(0x3 << 62)


class Keyring:
    """Keyed derivations from one project key (thread-safe, caches recent results)."""

    def __init__(self, key: bytes) -> None:
        if len(key) < MIN_KEY_BYTES:
            raise ValueError(f"the de-identification key must be at least {MIN_KEY_BYTES} "
                             f"bytes (got {len(key)})")
        self._key = bytes(key)
        self.uid = functools.lru_cache(maxsize=65536)(self._uid)
        self.date_offset = functools.lru_cache(maxsize=4096)(self._date_offset)
        self.patient_id = functools.lru_cache(maxsize=4096)(self._patient_id)
        self.patient_name = functools.lru_cache(maxsize=4096)(self._patient_name)

    def __reduce__(self) -> tuple[type[Keyring], tuple[bytes]]:
        # the caches are rebuilt, not shipped (bulk runs on a cluster pickle the config)
        return (Keyring, (self._key,))

    def _digest(self, domain: bytes, value: str) -> bytes:
        return hmac.new(self._key, domain + b"\0" + value.encode("utf-8"),
                        hashlib.sha256).digest()

    def fingerprint(self) -> str:
        """A short, non-reversible identifier of the key (for reports): equal keys give
        equal fingerprints."""
        return self._digest(b"fingerprint", "")[:6].hex()

    def _uid(self, uid: str) -> str:
        """``2.25.<int>`` for ``uid`` (padding stripped first)."""
        value = int.from_bytes(self._digest(b"uid", uid.strip("\0 "))[:16], "big")
        value = (value & _UUID_VERSION_MASK) | (0x8 << 76)
        value = (value & _UUID_VARIANT_MASK) | (0x2 << 62)
        return f"2.25.{value}"

    def token(self, domain: str, value: str, length: int = 16) -> str:
        """``length`` base-32 characters (A-Z, 2-7) keyed on ``value``."""
        digest = self._digest(domain.encode(), value)
        return base64.b32encode(digest).decode("ascii")[:length]

    def _patient_id(self, patient_key: str) -> str:
        return "ID-" + self.token("pid", patient_key)

    def _patient_name(self, patient_key: str) -> str:
        return "ANON^" + self.token("pname", patient_key)

    def _date_offset(self, patient_key: str) -> int:
        """Days to add to every date of this patient (negative: into the past)."""
        digest = self._digest(b"date", patient_key)
        return -(1 + int.from_bytes(digest[:8], "big") % MAX_SHIFT_DAYS)
