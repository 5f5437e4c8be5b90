"""Choosing one VR where the dictionary offers several, for implicit VR input.

In implicit VR the VR comes from the data dictionary, which for some attributes says
"US or SS", "OB or OW" …; the right one depends on other attributes (PS3.5 §A.1, PS3.3
C.7.6.3, C.11.1). The rules are those of pydicom and dcmtk, so values decode alike.
"""

from __future__ import annotations

__all__ = ("resolve_ambiguous_vr",)

_OVERLAY_DATA = frozenset((g << 16) | 0x3000 for g in range(0x6000, 0x6020, 2))
_LUT_DATA = 0x00283006


def resolve_ambiguous_vr(
    tag: int, vr: str, pixel_representation: int | None, lut_first: int | None
) -> str:
    """A single VR for a dictionary VR such as ``"US or SS"`` read in implicit VR.

    Args:
        tag: the element's tag.
        vr: the dictionary VR, containing ``" or "``.
        pixel_representation: (0028,0103) of the nearest dataset that has it, if any.
        lut_first: first value of the LUT Descriptor in the same item, if any.
    """
    if tag == _LUT_DATA:
        return "US" if lut_first == 1 else "OW"
    if vr == "US or SS":
        return "SS" if pixel_representation == 1 else "US"
    if tag in _OVERLAY_DATA or "OW" in vr:
        # Implicit VR little endian: pixel, overlay, waveform and LUT data are OW (§A.1).
        return "OW"
    return vr.split(" or ", 1)[0]
