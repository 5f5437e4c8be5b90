"""De-identification throughput: ``dicomstream anonymize`` (Basic Profile) side by side with
dicognito, pydicom/deid's default recipe and (where installed) GDCM's ``gdcmanon``.

Usage::

    python benchmarks/bench_deid.py                       # 200 CT slices of 512 KiB
    python benchmarks/bench_deid.py --count 500 --repeat 5 --workdir /dev/shm/bench-deid

Every contender reads the same generated CT-like series (``write_ct_series``) and writes a
de-identified copy of every file; each run is its own process (so peak RSS is that tool's
alone, from ``wait4``), runs are interleaved round-robin, and the table shows the median
files/s over ``--repeat`` runs. Times are measured inside each process around the work
itself (imports, interpreter start-up and the loading of data dictionaries and tables
excluded, which pydicom does at import and dicomstream on first use; gdcmanon: the whole
process); each Python contender first processes one file untimed (a warm-up: lazy
imports, caches). "files/CPU-s" divides by the CPU time of the work instead of the wall time: it
is the steadier figure on a busy machine. The peers
are benchmark-only dependencies: ``pip install dicognito deid`` (and Debian's
``libgdcm-tools`` plus ``openssl`` for gdcmanon, which needs a certificate).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from importlib import metadata
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEY = b"benchmark key for dicomstream-deid, not secret"


# -- the contenders (each runs in a child process: ``--run NAME SRC DST``) -------------

def run_dicomstream(src: Path, dst: Path, jobs: str) -> int:
    from dicomstream.cli import main

    dst.parent.mkdir(parents=True, exist_ok=True)
    key = dst.parent / f"{dst.name}.key"
    key.write_bytes(KEY)
    status = main(["anonymize", str(src), str(dst), "--key-file", str(key), "--jobs", jobs,
                   "--progress", "never", "--overwrite"])
    if status:
        raise SystemExit(f"dicomstream anonymize exited {status}")
    return sum(1 for _ in dst.rglob("*.dcm"))


def run_rewrite(src: Path, dst: Path) -> int:
    """The same pipeline without de-identification: the ceiling for ``anonymize``."""
    from dicomstream.cli import main

    status = main(["rewrite", str(src), str(dst), "--jobs", "1", "--progress", "never",
                   "--overwrite"])
    if status:
        raise SystemExit(f"dicomstream rewrite exited {status}")
    return sum(1 for _ in dst.rglob("*.dcm"))


def run_dicognito(src: Path, dst: Path) -> int:
    import pydicom
    from dicognito.anonymizer import Anonymizer

    anonymizer = Anonymizer()
    dst.mkdir(parents=True, exist_ok=True)
    count = 0
    for path in sorted(src.iterdir()):
        ds = pydicom.dcmread(path)
        anonymizer.anonymize(ds)
        ds.save_as(dst / path.name)
        count += 1
    return count


def run_deid(src: Path, dst: Path) -> int:
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.disable(logging.WARNING)
    from deid.config import DeidRecipe  # type: ignore[import-untyped]
    from deid.dicom import replace_identifiers  # type: ignore[import-untyped]

    dst.mkdir(parents=True, exist_ok=True)
    files = [str(p) for p in sorted(src.iterdir())]
    replace_identifiers(dicom_files=files, deid=DeidRecipe(), save=True,
                        output_folder=str(dst), overwrite=True)
    return sum(1 for _ in dst.iterdir())


def child(name: str, src: Path, dst: Path) -> None:
    """Import what the tool needs first, then time only the work."""
    if name.startswith("dicomstream") or name == "rewrite":
        # dicomstream loads its data dictionaries (and the plugin its tables) on first
        # use, where pydicom loads them at import: load them here, outside the timing.
        import dicomstream.cli  # noqa: F401
        from dicomstream.dictionary import lookup, uid_type
        from dicomstream_deid import load_safe_private, load_table
        from dicomstream_deid._table import load_iod_types
        lookup(0x00100010)
        uid_type("1.2.840.10008.1.2")
        load_table()
        load_safe_private()
        load_iod_types()
    elif name == "dicognito":
        import dicognito.anonymizer  # noqa: F401
        import pydicom  # noqa: F401
    elif name == "deid":
        import deid.dicom  # type: ignore[import-untyped]  # noqa: F401
    warm = src.parent / f"{src.name}-warm"
    if warm.is_dir():  # one file first, untimed, so one-time costs stay out of the figure
        run_one(name, warm, dst.parent / f"{dst.name}-warm")
    started, cpu = time.perf_counter(), time.process_time()
    count = run_one(name, src, dst)
    print(json.dumps({"files": count, "seconds": time.perf_counter() - started,
                      "cpu": time.process_time() - cpu, "peak_kib": _peak_kib("self")}))


def run_one(name: str, src: Path, dst: Path) -> int:
    if name.startswith("dicomstream"):
        count = run_dicomstream(src, dst, name.partition(":")[2] or "1")
    elif name == "rewrite":
        count = run_rewrite(src, dst)
    elif name == "dicognito":
        count = run_dicognito(src, dst)
    elif name == "deid":
        count = run_deid(src, dst)
    else:
        raise SystemExit(f"unknown contender {name}")
    return count


# -- the parent ------------------------------------------------------------------------

def _peak_kib(pid: int | str) -> int:
    """The process's resident-set high-water mark (``VmHWM``), in KiB; 0 if unknown.

    Not ``ru_maxrss``: a child forked from this (large) process starts with the parent's
    pages counted, so every tool would seem to use at least the parent's memory."""
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def _wait_watching(proc: subprocess.Popen[bytes]) -> tuple[int, float, int]:
    """Wait for ``proc``; (exit status, CPU seconds, peak RSS in KiB seen meanwhile)."""
    import threading

    peak = 0
    done = threading.Event()

    def watch() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _peak_kib(proc.pid))
            done.wait(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = status
    done.set()
    watcher.join()
    return status, usage.ru_utime + usage.ru_stime, peak

def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return ""


def _gdcm_command(work: Path) -> list[str] | None:
    if not shutil.which("gdcmanon") or not shutil.which("openssl"):
        return None
    cert = work / "gdcm-cert.pem"
    if not cert.exists():
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes",
                        "-keyout", str(work / "gdcm-key.pem"), "-out", str(cert),
                        "-subj", "/CN=bench-deid", "-days", "2"], check=True,
                       capture_output=True)
    return ["gdcmanon", "-e", "-c", str(cert), "-r", "--continue"]


def measure(name: str, src: Path, dst: Path,
            gdcm: list[str] | None) -> tuple[float, float, float]:
    """(files per second of wall time, files per CPU-second, peak RSS in MiB) of one run in
    a fresh process. CPU time counts only the work (not what other processes on a busy
    machine take), so it is the steadier figure."""
    shutil.rmtree(dst, ignore_errors=True)
    if name == "gdcmanon":
        assert gdcm is not None
        dst.mkdir(parents=True)
        started = time.perf_counter()
        proc = subprocess.Popen([*gdcm, "-i", str(src), "-o", str(dst)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        status, cpu, peak = _wait_watching(proc)
        seconds = time.perf_counter() - started
        files = sum(1 for _ in dst.iterdir())
        if status:
            raise SystemExit(f"gdcmanon exited {status}")
    else:
        proc = subprocess.Popen([sys.executable, __file__, "--run", name, str(src), str(dst)],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        status, _, peak = _wait_watching(proc)
        out = proc.stdout.read() if proc.stdout else b""
        err = proc.stderr.read() if proc.stderr else b""
        if status:
            raise SystemExit(f"{name} failed: {err.decode()[-2000:]}")
        result = json.loads(out.decode().strip().splitlines()[-1])
        files, seconds, cpu = result["files"], result["seconds"], result["cpu"]
        peak = max(peak, result["peak_kib"])
    return files / seconds, files / cpu, peak / 1024


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=200, help="CT slices (default 200)")
    parser.add_argument("--size", type=int, default=512 * 1024,
                        help="pixel bytes per slice (default 524288: 512x512x16 bits)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per contender")
    parser.add_argument("--jobs", default="8", help="also run dicomstream with --jobs N "
                        "(one process; default 8; 0 to skip)")
    parser.add_argument("--workdir", type=Path, help="where the series and outputs go "
                        "(default: a temporary folder under /dev/shm if it exists)")
    parser.add_argument("--skip", action="append", default=[], help="contender to leave out")
    parser.add_argument("--run", nargs=3, metavar=("NAME", "SRC", "DST"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        child(args.run[0], Path(args.run[1]), Path(args.run[2]))
        return 0

    sys.path.insert(0, str(ROOT))
    from benchmarks._generate import write_ct_series

    base = Path("/dev/shm") if Path("/dev/shm").is_dir() else None
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-deid-", dir=base))
    work.mkdir(parents=True, exist_ok=True)
    src = work / f"ct-{args.count}-{args.size}"
    if not src.exists() or sum(1 for _ in src.iterdir()) != args.count:
        shutil.rmtree(src, ignore_errors=True)
        write_ct_series(src, args.count, target_size=args.size)
    mib = sum(p.stat().st_size for p in src.iterdir()) / 2**20
    warm = work / f"{src.name}-warm"
    if not warm.is_dir():
        warm.mkdir()
        first = min(src.iterdir())
        shutil.copyfile(first, warm / first.name)

    contenders = ["dicomstream"]
    if args.jobs not in ("0", "1"):
        contenders.append(f"dicomstream:{args.jobs}")
    contenders.append("rewrite")
    for name, dist in (("dicognito", "dicognito"), ("deid", "deid")):
        if _version(dist):
            contenders.append(name)
        else:
            print(f"({name} not installed: pip install {dist})", file=sys.stderr)
    gdcm = _gdcm_command(work)
    if gdcm:
        contenders.append("gdcmanon")
    contenders = [c for c in contenders if c.partition(":")[0] not in args.skip]

    rates: dict[str, list[float]] = {c: [] for c in contenders}
    cpu_rates: dict[str, list[float]] = {c: [] for c in contenders}
    rss: dict[str, float] = {c: 0.0 for c in contenders}
    for r in range(args.repeat):
        order = contenders[r % len(contenders):] + contenders[:r % len(contenders)]
        for name in order:
            rate, cpu_rate, peak = measure(name, src, work / "out" / name.replace(":", "-"),
                                           gdcm)
            rates[name].append(rate)
            cpu_rates[name].append(cpu_rate)
            rss[name] = max(rss[name], peak)
    shutil.rmtree(work / "out", ignore_errors=True)

    versions = {"dicomstream": _version("dicomstream-deid"), "rewrite": _version("dicomstream"),
                "dicognito": _version("dicognito"),
                "deid": _version("deid"), "gdcmanon": "gdcm " + (subprocess.run(
                    ["gdcmanon", "--version"], capture_output=True, text=True).stdout.split()
                    or ["", "", "?"])[2] if gdcm else ""}
    python_peers = [c for c in contenders if c in ("dicognito", "deid")]
    peer_wall = max((statistics.median(rates[c]) for c in python_peers), default=None)
    peer_cpu = max((statistics.median(cpu_rates[c]) for c in python_peers), default=None)
    print(f"\nBasic Profile over {args.count} CT slices ({mib:.0f} MiB, {args.size} pixel "
          f"bytes each), median of {args.repeat} runs, Python {sys.version.split()[0]}, "
          f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"command: python benchmarks/bench_deid.py --count {args.count} --size {args.size} "
          f"--repeat {args.repeat} --jobs {args.jobs}\n")
    print(f"{'tool':<22}{'version':<13}{'files/s':>9}{'range':>14}{'files/CPU-s':>13}"
          f"{'peak RSS':>10}{'x peer (wall)':>15}{'x peer (CPU)':>14}")
    for name in contenders:
        wall, cpu = statistics.median(rates[name]), statistics.median(cpu_rates[name])
        label = name if ":" not in name else f"dicomstream --jobs {name.partition(':')[2]}"
        label = "(rewrite, no deid)" if name == "rewrite" else label
        spread = f"{min(rates[name]):.0f}-{max(rates[name]):.0f}"
        line = (f"{label:<22}{versions.get(name.partition(':')[0], ''):<13}{wall:>9.1f}"
                f"{spread:>14}{cpu:>13.1f}{rss[name]:>7.0f} MiB")
        if peer_wall and peer_cpu:
            line += f"{wall / peer_wall:>14.1f}x{cpu / peer_cpu:>13.1f}x"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
