"""``dcmread``: dicomstream side by side with pydicom, in one process, on the same files.

Run: ``python benchmarks/bench_dcmread.py [--runs 7] [--count 500] [--clock wall|cpu]``

Workloads (each timed as one pass over all its files; the figure is the median of
``--runs`` passes, pydicom and dicomstream alternating pass by pass so that load from
other processes hits both alike):

* ``ct``: a CT-like series written by ``benchmarks/_generate.py`` (``--count`` files,
  512 KiB of pixel data and ~200 header elements each, sequences and private blocks);
* ``corpus``: every DICOM file of the pydicom wheel that both libraries read;

each read in full, with ``stop_before_pixels=True``, and read in full then every value
at every depth decoded (``iterall`` + ``.value``), since both libraries decode lazily.
Files are in the page cache (one warm-up pass), so this measures the libraries, not
the disk. The series is written to ``--work`` (a tmpfs by default). ``--clock cpu``
times with the process's CPU time instead of the wall clock: on a busy machine it is
much less noisy (both libraries are single-threaded, so the two agree on an idle one).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import pydicom  # noqa: E402
import pydicom.data  # noqa: E402

import dicomstream  # noqa: E402
from benchmarks._generate import write_ct_series  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

_NOT_DICOM = {".py", ".pyc", ".json", ".txt", ".md", ".gz", ".icc", ".dump"}


def corpus_files() -> list[Path]:
    """Corpus files both libraries read without error."""
    root = Path(pydicom.data.__file__).parent
    out = []
    for path in sorted(root.rglob("*")):
        if not path.is_file() or path.suffix in _NOT_DICOM or path.name.startswith("README") \
                or "__pycache__" in path.parts:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                pydicom.dcmread(path, force=True)
                dicomstream.dcmread(path)
        except Exception:  # noqa: BLE001 - files either library refuses are left out
            continue
        out.append(path)
    return out


def _touch_all_pydicom(ds: Any) -> None:
    for elem in ds.iterall():
        elem.value  # noqa: B018


def _touch_all_ours(ds: Any) -> None:
    for elem in ds.iterall():
        elem.value  # noqa: B018


CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = time.perf_counter


def _pass(files: list[Path], read: Callable[..., Any], touch: Callable[[Any], None] | None,
          **options: Any) -> float:
    started = _clock()
    for path in files:
        ds = read(path, **options)
        if touch is not None:
            touch(ds)
    return _clock() - started


def compare(files: list[Path], runs: int, mode: str) -> tuple[float, float]:
    """Median seconds of pydicom and dicomstream over ``files`` in ``mode``."""
    options: dict[str, Any] = {}
    touch_p = touch_o = None
    if mode == "stop_before_pixels":
        options["stop_before_pixels"] = True
    elif mode == "all values":
        touch_p, touch_o = _touch_all_pydicom, _touch_all_ours
    pyd: list[float] = []
    ours: list[float] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _pass(files, pydicom.dcmread, touch_p, force=True, **options)  # warm-up
        _pass(files, dicomstream.dcmread, touch_o, **options)
        for _ in range(runs):
            pyd.append(_pass(files, pydicom.dcmread, touch_p, force=True, **options))
            ours.append(_pass(files, dicomstream.dcmread, touch_o, **options))
    return statistics.median(pyd), statistics.median(ours)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--count", type=int, default=500, help="CT files (default 500)")
    default_work = "/dev/shm" if Path("/dev/shm").is_dir() else tempfile.gettempdir()
    parser.add_argument("--work", default=default_work, help="where the series is written")
    parser.add_argument("--clock", choices=sorted(CLOCKS), default="wall")
    args = parser.parse_args(argv)
    global _clock
    _clock = CLOCKS[args.clock]

    with tempfile.TemporaryDirectory(prefix="dsread-", dir=args.work) as tmp:
        ct_dir = Path(tmp) / "ct"
        write_ct_series(ct_dir, args.count)
        sets = {
            "ct": sorted(ct_dir.iterdir()),
            "corpus": corpus_files(),
        }
        print(f"Python {sys.version.split()[0]}, pydicom {pydicom.__version__}, "
              f"median of {args.runs} passes, {args.clock} clock")
        print(f"{'workload':<8} {'files':>5} {'mode':<19} {'pydicom':>10} "
              f"{'dicomstream':>12} {'speed-up':>9}")
        for name, files in sets.items():
            for mode in ("full", "stop_before_pixels", "all values"):
                pyd, ours = compare(files, args.runs, mode)
                per = 1e3 / len(files)
                print(f"{name:<8} {len(files):>5} {mode:<19} {pyd * per:8.3f}ms "
                      f"{ours * per:10.3f}ms {pyd / ours:8.2f}x")
        print("(times are per file)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
