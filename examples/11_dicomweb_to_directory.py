"""Export a study (or every match of a search) from a DICOMweb server to a directory.

Run::

    python examples/11_dicomweb_to_directory.py \\
        dicomweb+http://127.0.0.1:8042/dicom-web/studies/1.2.3 out/ [--anonymize]
    python examples/11_dicomweb_to_directory.py \\
        'dicomweb+http://127.0.0.1:8042/dicom-web/studies?PatientID=X' out/

WADO-RS answers ``multipart/related; type="application/dicom"``; each part streams
straight into the parser and out to ``out/<study>/<series>/<sop>.dcm`` (written
atomically), so a study of any size is exported in flat memory. With ``--anonymize`` the
source UIDs must not reach the file names either: each instance is written under a
temporary name, then named ``out/<new SOP Instance UID>.dcm`` from its de-identified
header (the lower-level API: ``WadoInstances.instances()`` + ``rewrite``). Auth: ``--token`` or
``--user``/``--password`` (or ``DICOMWEB_TOKEN`` / ``DICOMWEB_USERNAME`` /
``DICOMWEB_PASSWORD``). ``--anonymize`` runs the ``deid`` stage when the dicomstream-deid
plugin is installed, else blanks names and drops private tags. The command-line form::

    dicomstream rewrite dicomweb+http://127.0.0.1:8042/dicom-web/studies/1.2.3 out/ \\
        --remove-private --url-option token=…
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

import anyio

from dicomstream.bulk import rewrite_many
from dicomstream.errors import DicomStreamError, PluginError
from dicomstream.events import Element
from dicomstream.io import FileSink
from dicomstream.parser import Parser
from dicomstream.pipeline import rewrite
from dicomstream.plugin import STAGES, load
from dicomstream.stages import EditStage, FilterStage, MetaStage
from dicomstream_dicomweb import WadoInstances


def anonymizing_stages() -> list[Any]:
    try:
        deid = load(STAGES, "deid")
    except PluginError:
        return [EditStage(set={"PatientName": "", "ReferringPhysicianName": ""}),
                FilterStage(remove_private=True), MetaStage()]
    return [deid(), MetaStage()]


def sop_instance_uid(path: Path) -> str:
    """The SOP Instance UID of a written file, from its first 64 KiB."""
    parser = Parser()
    with open(path, "rb") as f:
        parser.receive_data(f.read(64 * 1024))
    for event in parser.events():
        if isinstance(event, Element) and event.tag == 0x00080018 and not event.path:
            return event.value.rstrip(b"\0 ").decode("ascii")
    raise ValueError(f"{path}: no SOP Instance UID")


async def export_anonymized(args: argparse.Namespace, options: dict[str, str]) -> int:
    """One instance at a time, straight from the multipart answer, renamed after."""
    out = Path(args.destination)
    written = failed = 0
    async for instance in WadoInstances(args.source, **options).instances():
        tmp = out / f".instance-{written + failed}.tmp"
        try:
            await rewrite(instance, FileSink(tmp, make_parents=True),
                          stages=anonymizing_stages())
            target = out / f"{sop_instance_uid(tmp)}.dcm"
            os.replace(tmp, target)
            print(f"ok      {target}")
            written += 1
        except DicomStreamError as exc:
            print(f"error   {instance.name}: {exc}")
            failed += 1
        finally:
            await instance.aclose()
    print(f"{written} instances written, {failed} failed")
    return 1 if failed else 0


async def main(args: argparse.Namespace) -> int:
    options = {k: v for k, v in (("token", args.token), ("username", args.user),
                                 ("password", args.password)) if v}
    if args.anonymize:
        try:
            anonymizing_stages()  # fail now (e.g. no deid key), not once per instance
        except DicomStreamError as exc:
            print(f"error: {exc}")
            return 2
        return await export_anonymized(args, options)
    summary = await rewrite_many(
        args.source, args.destination, source_options=options,
        on_done=lambda r: print(f"{r['status']:7} {r['destination']} "
                                f"({r['bytes_out']} bytes) {r['error'] or ''}"))
    print(f"{summary.ok} instances written, {summary.failed} failed in "
          f"{summary.seconds:.2f} s")
    return 1 if summary.failed else 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="dicomweb+http(s)://…/studies/<uid> or a search URL")
    parser.add_argument("destination", help="a directory")
    parser.add_argument("--anonymize", action="store_true")
    parser.add_argument("--token")
    parser.add_argument("--user")
    parser.add_argument("--password")
    raise SystemExit(anyio.run(main, parser.parse_args()))
