"""``dicomstream rewrite SRC DST``: stream files or trees through stages.

With no options the output is byte-identical to the input. Options add stages, in this
order: ``--set``/``--delete`` (edit), ``--remove-private`` and ``--stop-before-pixels``
(filter), then each ``--stage`` as given, then ``meta`` when an edit touches the SOP
Class/Instance UID (so the file meta follows). ``--transfer-syntax`` re-encodes.
SRC/DST: files, directory trees (mirrored), ``-``, or URLs handled by plugins
(``--endpoint-url`` and ``--url-option`` configure them); ``--cluster`` runs the inputs
on a Dask cluster. ``--name-template`` names outputs from their values instead of
mirroring SRC (:mod:`dicomstream.naming`).
"""

from __future__ import annotations

__all__ = ("add_bulk_options", "build_stage_factory", "command", "name_template_option",
           "run_bulk_command", "url_options")

import sys
from typing import TYPE_CHECKING, Any

from dicomstream.cli._command import Command
from dicomstream.cli._errors import describe
from dicomstream.errors import DicomStreamError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

    from dicomstream.naming import NameTemplate
    from dicomstream.stages import Stage


def add_bulk_options(parser: argparse.ArgumentParser) -> None:
    """SRC, DST and the options every bulk command shares."""
    parser.add_argument("source", metavar="SRC", help="file, directory, - or URL")
    parser.add_argument("destination", metavar="DST", help="file, directory, - or URL")
    parser.add_argument("--transfer-syntax", metavar="NAME|UID",
                        help="re-encode: implicit, explicit, big, deflated, a keyword or UID")
    parser.add_argument("--jobs", "-j", type=int, default=8, metavar="N",
                        help="inputs in flight at once (default 8); local runs parse one "
                             "at a time and write up to N-1 (at most 4) behind it")
    parser.add_argument("--report", metavar="FILE", help="append one JSON line per input")
    parser.add_argument("--overwrite", action="store_true",
                        help="rewrite outputs that already exist (default: skip them, "
                             "so a re-run resumes)")
    parser.add_argument("--lenient", action="store_true",
                        help="accept truncated inputs (warn, close open containers)")
    parser.add_argument("--io", choices=("inline", "threads"), default="inline",
                        help="local files: read and write them in line, small outputs "
                             "by one writer thread, with no event loop at all when every "
                             "stage allows (inline, fastest for local disks), or in worker "
                             "threads of the concurrent runner (better on slow network "
                             "file systems)")
    parser.add_argument("--progress", choices=("auto", "always", "never"), default="auto",
                        help="progress bar (default: only on a terminal)")
    parser.add_argument("--name-template", metavar="TEMPLATE", type=_template_argument,
                        help="name outputs from their own (output) values under the "
                             "directory DST instead of mirroring SRC, e.g. "
                             "'{PatientID}/{StudyInstanceUID}/{SOPInstanceUID}.dcm'; "
                             "placeholders: DICOM keywords, {relpath}, {stem}; formats "
                             "{Keyword:.N} (cut), {Keyword:0N} (zero-pad), {Keyword:hash}. "
                             "Values are sanitised and never leave DST; a name already "
                             "taken by a different file gets a -N suffix")
    # Network and cluster runs (URL plugins such as dicomstream-cloud, Dask).
    parser.add_argument("--endpoint-url", metavar="URL",
                        help="S3-compatible server for s3:// URLs (e.g. http://127.0.0.1:9000)")
    parser.add_argument("--url-option", action="append", default=[], metavar="KEY=VALUE",
                        help="an option for the URL source/sink plugins (each takes the "
                             "keys it knows, e.g. token=… for DICOMweb)")
    parser.add_argument("--cluster", metavar="ADDR",
                        help="run on Dask: tcp://scheduler:8786, or local[:N] for N worker "
                             "processes here; --jobs then counts per worker")


def _template_argument(text: str) -> NameTemplate:
    """``--name-template``, parsed and checked when the options are (a bad template is
    a usage error, exit status 2)."""
    import argparse

    from dicomstream.naming import parse_template

    try:
        return parse_template(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def name_template_option(args: argparse.Namespace) -> NameTemplate | None:
    """The parsed ``--name-template``, if any; :class:`ValueError` when DST cannot take
    one (``-`` or a URL: templated outputs are local files)."""
    from dicomstream.plugin import url_scheme

    template: NameTemplate | None = getattr(args, "name_template", None)
    if template is not None and (args.destination == "-" or url_scheme(args.destination)):
        raise ValueError("--name-template needs a local directory as DST")
    return template


def _configure(parser: argparse.ArgumentParser) -> None:
    add_bulk_options(parser)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="set a value by keyword, tag or path (e.g. PatientName=ANON, "
                             "ReferencedSeriesSequence[*].SeriesInstanceUID=1.2.3)")
    parser.add_argument("--delete", action="append", default=[], metavar="KEY",
                        help="delete an element by keyword, tag or path")
    parser.add_argument("--remove-private", action="store_true", help="drop private elements")
    parser.add_argument("--stop-before-pixels", action="store_true",
                        help="drop pixel data and everything after it")
    parser.add_argument("--stage", action="append", default=[], metavar="NAME[:K=V,...]",
                        help="add a registered stage (see 'dicomstream plugins')")


def build_stage_factory(args: argparse.Namespace) -> Callable[[], list[Stage]] | None:
    """A factory of fresh stage instances (one set per input) from the options."""
    if not (args.set or args.delete or args.remove_private or args.stop_before_pixels
            or args.stage):
        return None  # the identity rewrite: not even the stages' modules are needed
    from dicomstream.stages import build_cli_stages

    return build_cli_stages(sets=args.set, deletes=args.delete,
                            remove_private=args.remove_private,
                            stop_before_pixels=args.stop_before_pixels, stages=args.stage)


def url_options(args: argparse.Namespace) -> dict[str, str]:
    """The options for URL plugins: ``--url-option K=V``s and ``--endpoint-url``."""
    options: dict[str, str] = {}
    for item in getattr(args, "url_option", []):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--url-option {item!r}: expected KEY=VALUE")
        options[key.strip()] = value
    if getattr(args, "endpoint_url", None):
        options["endpoint_url"] = args.endpoint_url
    return options


def run_bulk_command(args: argparse.Namespace, stages: Callable[[], list[Stage]] | None,
                     *, verb: str = "rewrite",
                     extra: Callable[..., dict[str, Any]] | None = None) -> int:
    """Run a bulk rewrite from parsed options; prints a summary, returns the exit status."""
    from dicomstream.cli._progress import BulkProgress
    from dicomstream.transfer_syntax import resolve_transfer_syntax

    ts = None
    if args.transfer_syntax:
        try:
            ts = resolve_transfer_syntax(args.transfer_syntax).uid
        except ValueError as exc:
            print(f"dicomstream {verb}: {exc}", file=sys.stderr)
            return 2
    if args.jobs < 1:
        print(f"dicomstream {verb}: --jobs must be at least 1", file=sys.stderr)
        return 2
    try:
        options = url_options(args)
        template = name_template_option(args)
    except ValueError as exc:
        print(f"dicomstream {verb}: {exc}", file=sys.stderr)
        return 2
    enabled = {"auto": None, "always": True, "never": False}[args.progress]
    import warnings

    counts = {"ok": 0, "skipped": 0, "error": 0}

    def done(record: dict[str, Any]) -> None:
        counts[record["status"]] = counts.get(record["status"], 0) + 1
        progress.done(record)

    common: dict[str, Any] = dict(
        stages=stages, transfer_syntax=ts, jobs=args.jobs, report=args.report,
        skip_existing=not args.overwrite, extra=extra,
        parser_options={"lenient": True} if args.lenient else None)
    # SIGTERM ends the run cleanly: outputs in progress are removed, finished outputs
    # and report lines stay, and a re-run resumes (see cli/_signals.py).
    with BulkProgress(verb, enabled=enabled) as progress, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if _runs_without_event_loop(args, stages, template):
            from dicomstream.cli._signals import call_until_terminated
            from dicomstream.local import rewrite_many_local

            summary, signum = call_until_terminated(lambda: rewrite_many_local(
                args.source, args.destination, on_done=done, on_total=progress.set_total,
                **common))
        else:
            from dicomstream.bulk import rewrite_many
            from dicomstream.cli._signals import run_until_terminated

            summary, signum = run_until_terminated(lambda: rewrite_many(
                args.source, args.destination, on_done=done, on_total=progress.set_total,
                source_options=options, sink_options=options,
                cluster=getattr(args, "cluster", None), name_template=template,
                # Dask workers share their loop with heartbeats: keep I/O off it there.
                inline_io=args.io == "inline" and not getattr(args, "cluster", None),
                **common))
    if signum is not None or summary is None:
        import signal

        name = signal.Signals(signum).name if signum is not None else "a signal"
        print(f"dicomstream {verb}: stopped by {name}: {counts['ok']} written, "
              f"{counts['skipped']} skipped, {counts['error']} failed; outputs in progress "
              "were removed, run the same command again to resume", file=sys.stderr)
        return 128 + (signum or 0)
    for source, message in summary.failures[:20]:
        print(f"dicomstream {verb}: {source}: {message}", file=sys.stderr)
    if summary.failed > 20:
        print(f"dicomstream {verb}: … and {summary.failed - 20} more failures "
              "(see --report)", file=sys.stderr)
    if summary.total > 1 or summary.failed:
        print(f"dicomstream {verb}: {summary.ok} written, {summary.skipped} skipped, "
              f"{summary.failed} failed in {summary.seconds:.2f} s", file=sys.stderr)
    return 1 if summary.failed else 0


def _runs_without_event_loop(args: argparse.Namespace,
                              stages: Callable[[], list[Stage]] | None,
                              template: NameTemplate | None) -> bool:
    """Whether the run can go through :mod:`dicomstream.local`: local files in and out,
    read and written in line (``--io inline``), no cluster or name template, and only
    stages that never await (:class:`~dicomstream.stages.SyncStage`). It gives the same
    outputs and report, without asyncio's start-up and per-input overhead."""
    if args.io != "inline" or getattr(args, "cluster", None) or template is not None:
        return False
    if "-" in (args.source, args.destination) or \
            "://" in args.source or "://" in args.destination:
        return False
    if stages is None:
        return True
    from dicomstream.stages import is_sync_stage

    return all(map(is_sync_stage, stages()))


def _run(args: argparse.Namespace) -> int:
    try:
        stages = build_stage_factory(args)
    except (ValueError, KeyError, DicomStreamError) as exc:
        print(f"dicomstream rewrite: {describe(exc)}", file=sys.stderr)
        return 2
    return run_bulk_command(args, stages)


command = Command(name="rewrite", help="rewrite files or trees through stages "
                  "(byte-identical with no options)", configure=_configure, run=_run)
