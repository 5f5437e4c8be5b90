"""Value codecs: the raw bytes of events ⇄ Python values, applied on demand.

Events carry raw value bytes in the stream's byte order; nothing is decoded until someone
asks. :func:`decode_value` turns a raw value into what pydicom 3 would give for it
(numbers, ``str`` subclasses for dates and names, lists for several values), and
:func:`encode_value` turns Python values back into padded bytes, reproducing the bytes of
unchanged values. Text in SH, LO, ST, LT, UC, UT and PN goes through a
:class:`CharacterSet` built from Specific Character Set (0008,0005), ISO 2022 code
extensions included.

>>> cs = CharacterSet.from_raw(b"\\\\ISO 2022 IR 87")
>>> name = decode_value("PN", b"\\x1b$B;3ED\\x1b(B^\\x1b$BB@O:\\x1b(B", charset=cs)
>>> name.family_name
'山田'
>>> encode_value("PN", name, charset=cs)
b'\\x1b$B;3ED\\x1b(B^\\x1b$BB@O:\\x1b(B '
"""

from __future__ import annotations

__all__ = (
    "CODECS",
    "CUSTOMIZABLE_VRS",
    "DA",
    "DEFAULT_CHARSET",
    "DT",
    "IS",
    "TM",
    "CharacterSet",
    "Codec",
    "DSfloat",
    "ISfloat",
    "InvalidValueError",
    "PersonName",
    "check_every_vr_has_codec",
    "decode_value",
    "encode_value",
    "format_da",
    "format_ds",
    "format_dt",
    "format_is",
    "format_tm",
)

from dicomstream.values._charset import (
    CUSTOMIZABLE_VRS as CUSTOMIZABLE_VRS,
)
from dicomstream.values._charset import (
    DEFAULT_CHARSET as DEFAULT_CHARSET,
)
from dicomstream.values._charset import (
    CharacterSet as CharacterSet,
)
from dicomstream.values._datetime import DA as DA
from dicomstream.values._datetime import DT as DT
from dicomstream.values._datetime import TM as TM
from dicomstream.values._datetime import format_da as format_da
from dicomstream.values._datetime import format_dt as format_dt
from dicomstream.values._datetime import format_tm as format_tm
from dicomstream.values._errors import InvalidValueError as InvalidValueError
from dicomstream.values._numbers import IS as IS
from dicomstream.values._numbers import DSfloat as DSfloat
from dicomstream.values._numbers import ISfloat as ISfloat
from dicomstream.values._numbers import format_ds as format_ds
from dicomstream.values._numbers import format_is as format_is
from dicomstream.values._person_name import PersonName as PersonName
from dicomstream.values._registry import CODECS as CODECS
from dicomstream.values._registry import Codec as Codec
from dicomstream.values._registry import check_every_vr_has_codec as check_every_vr_has_codec
from dicomstream.values._registry import decode_value as decode_value
from dicomstream.values._registry import encode_value as encode_value

for _name in __all__:
    _obj = globals()[_name]
    if getattr(_obj, "__module__", "").startswith("dicomstream.values._"):
        try:
            _obj.__module__ = __name__
        except (AttributeError, TypeError):
            pass
del _name, _obj
