"""Write benchmark data: ``python benchmarks/generate.py {ct-series,multiframe} …``.

Examples::

    python benchmarks/generate.py ct-series /dev/shm/ct --count 500
    python benchmarks/generate.py ct-series /dev/shm/ct-be --count 50 --syntax big
    python benchmarks/generate.py multiframe /dev/shm/mf.dcm --size 1GiB
    python benchmarks/generate.py multiframe /dev/shm/rle.dcm --size 5GiB --encapsulated

Sizes take an optional unit: B, KB/MB/GB (powers of 1000) or KiB/MiB/GiB (powers of 1024);
``k``/``m``/``g`` alone mean KiB/MiB/GiB. Transfer syntaxes take a UID or a short name.
"""

from __future__ import annotations

__all__ = ("main", "parse_size")

import argparse
import re
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._generate import (  # noqa: E402
    DEFLATED_EXPLICIT_VR_LE,
    EXPLICIT_VR_BE,
    EXPLICIT_VR_LE,
    IMPLICIT_VR_LE,
    RLE_LOSSLESS,
    write_ct_series,
    write_multiframe,
)

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1 << 10,
    "m": 1 << 20,
    "g": 1 << 30,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1 << 10,
    "mib": 1 << 20,
    "gib": 1 << 30,
}
_SYNTAXES = {
    "explicit": EXPLICIT_VR_LE,
    "implicit": IMPLICIT_VR_LE,
    "big": EXPLICIT_VR_BE,
    "deflated": DEFLATED_EXPLICIT_VR_LE,
    "rle": RLE_LOSSLESS,
}


def parse_size(text: str) -> int:
    """``"1GiB"`` → 1073741824, ``"512k"`` → 524288, ``"5MB"`` → 5000000."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*", text)
    if not match or match.group(2).lower() not in _UNITS:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 512KiB, 1GiB, 5MB)")
    return int(float(match.group(1)) * _UNITS[match.group(2).lower()])


def _syntax(text: str) -> str:
    if text.lower() in _SYNTAXES:
        return _SYNTAXES[text.lower()]
    if re.fullmatch(r"[0-9.]+", text):
        return text
    names = ", ".join(_SYNTAXES)
    raise argparse.ArgumentTypeError(f"not a transfer syntax: {text!r} (a UID or one of {names})")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="generate.py", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)

    ct = commands.add_parser("ct-series", help="a directory of single-frame CT files")
    ct.add_argument("directory", type=Path)
    ct.add_argument("--count", type=int, default=500, help="number of files (500)")
    ct.add_argument(
        "--target-size", type=parse_size, default=512 << 10, help="bytes of pixels per file"
    )
    ct.add_argument("--seed", type=int, default=0)
    ct.add_argument("--syntax", type=_syntax, default=EXPLICIT_VR_LE, help="transfer syntax")

    mf = commands.add_parser("multiframe", help="one Enhanced CT file of a given size")
    mf.add_argument("file", type=Path)
    mf.add_argument("--size", type=parse_size, default=1 << 30, help="at least this many bytes")
    mf.add_argument("--frame-bytes", type=parse_size, default=512 * 512 * 2)
    mf.add_argument("--encapsulated", action="store_true", help="RLE fragments, one per frame")
    mf.add_argument("--no-per-frame-groups", dest="per_frame_groups", action="store_false")
    mf.add_argument("--seed", type=int, default=0)
    mf.add_argument("--syntax", type=_syntax, default=None, help="transfer syntax")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    started = time.perf_counter()
    try:
        if args.command == "ct-series":
            paths = write_ct_series(
                args.directory,
                args.count,
                target_size=args.target_size,
                seed=args.seed,
                transfer_syntax=args.syntax,
            )
            total = sum(p.stat().st_size for p in paths)
            what = f"{len(paths)} files in {args.directory}"
        else:
            path = write_multiframe(
                args.file,
                args.size,
                frame_bytes=args.frame_bytes,
                transfer_syntax=args.syntax,
                encapsulated=args.encapsulated,
                per_frame_groups=args.per_frame_groups,
                seed=args.seed,
            )
            total = path.stat().st_size
            what = str(path)
    except ValueError as exc:
        print(f"generate.py: error: {exc}", file=sys.stderr)
        return 2
    elapsed = time.perf_counter() - started
    print(f"wrote {what}: {total / (1 << 20):.1f} MiB in {elapsed:.2f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
