"""``dicomstream anonymize SRC DST``: de-identify files, trees, ``-`` or URLs.

The Basic Profile always applies; ``--option`` adds options (repeatable), ``--recipe``
overrides per tag. A key is required — ``--key-file FILE``, or the environment
(``DICOMSTREAM_DEID_KEY`` / ``DICOMSTREAM_DEID_KEY_FILE``) — so that UIDs, pseudonyms and
date offsets agree across runs; ``--random-key`` runs without one (nothing will match any
other run). Exit status: 0 all written, 1 some inputs failed, 2 usage error.
"""

from __future__ import annotations

__all__ = ("command",)

import os
import sys
from typing import TYPE_CHECKING, Any

from dicomstream.cli import Command, add_bulk_options, run_bulk_command
from dicomstream_deid._keys import ENV_KEY, ENV_KEY_FILE, key_from_environment, read_key_file
from dicomstream_deid._table import OPTIONS

if TYPE_CHECKING:
    import argparse

    from dicomstream.stages import Stage

_VERB = "anonymize"


def _configure(parser: argparse.ArgumentParser) -> None:
    add_bulk_options(parser)
    parser.add_argument("--option", "-O", action="append", default=[], metavar="NAME",
                        help="a PS3.15 option (repeatable): " + ", ".join(OPTIONS))
    parser.add_argument("--recipe", metavar="FILE",
                        help="TOML recipe overriding the profile per tag, path or "
                             "private creator")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--key-file", metavar="FILE",
                      help=f"the project secret (else ${ENV_KEY} or ${ENV_KEY_FILE})")
    keys.add_argument("--random-key", action="store_true",
                      help="use a random key: outputs match nothing outside this run")
    parser.add_argument("--audit", metavar="FILE",
                        help="append one JSON line per element acted on")
    parser.add_argument("--audit-values", action="store_true",
                        help="include original and new values in the audit (sensitive!)")
    parser.add_argument("--burned-in", choices=("warn", "fail", "pass"), default="warn",
                        help="objects with burned-in annotation (BurnedInAnnotation YES, "
                             "secondary capture, ultrasound): warn (default), fail or pass")
    parser.add_argument("--no-pseudonyms", action="store_true",
                        help="Patient ID/Name follow the table (emptied) instead of keyed "
                             "pseudonyms")
    parser.add_argument("--age", choices=("keep", "round"), default="keep",
                        help="Patient's Age when retained: keep, or round to whole years "
                             "(90+ as 090Y)")
    parser.add_argument("--table", metavar="TSV",
                        help="another edition of PS3.15 Table E.1-1 (same columns)")


def _fail(message: str) -> int:
    print(f"dicomstream {_VERB}: {message}", file=sys.stderr)
    return 2


def _run(args: argparse.Namespace) -> int:
    from dicomstream.stages import MetaStage
    from dicomstream_deid._audit import JsonLinesAudit
    from dicomstream_deid._profile import DeidConfig
    from dicomstream_deid._recipe import Recipe, load_recipe
    from dicomstream_deid._table import load_table
    from dicomstream_deid.stage import DeidStage

    try:
        if args.key_file:
            key = read_key_file(args.key_file)
        elif args.random_key:
            key = os.urandom(32)
            print(f"dicomstream {_VERB}: warning: random key; UIDs, pseudonyms and dates "
                  "will match no other run", file=sys.stderr)
        else:
            found = key_from_environment()
            if found is None:
                return _fail(f"no key: give --key-file FILE, set ${ENV_KEY} or "
                             f"${ENV_KEY_FILE}, or --random-key for a one-off run")
            key = found
        recipe = load_recipe(args.recipe) if args.recipe else Recipe()
        table = load_table(args.table) if args.table else load_table()
    except OSError as exc:
        return _fail(f"{exc.filename or ''}: {exc.strerror or exc}")
    except ValueError as exc:
        return _fail(str(exc))
    audit = JsonLinesAudit(args.audit, values=args.audit_values) if args.audit else None
    try:
        try:
            config = DeidConfig.create(key, args.option, recipe=recipe, table=table,
                                       burned_in=args.burned_in, audit=audit,
                                       pseudonyms=not args.no_pseudonyms, age=args.age)
        except ValueError as exc:
            return _fail(str(exc))

        def stages() -> list[Stage]:
            return [DeidStage(config), MetaStage()]

        def extra(task: Any, result: Any) -> dict[str, Any]:
            details = getattr(result, "details", None) or {}
            deid = details.get("deid") or {}
            if deid.get("burned_in") in ("yes", "suspect") and config.burned_in == "warn":
                print(f"dicomstream {_VERB}: warning: {task.source}: burned-in annotation "
                      f"{'present' if deid['burned_in'] == 'yes' else 'likely'}; "
                      "pixel data not cleaned", file=sys.stderr)
            return {}

        return run_bulk_command(args, stages, verb=_VERB, extra=extra)
    finally:
        if audit is not None:
            audit.close()


command = Command(name=_VERB, help="de-identify files or trees (DICOM PS3.15 Basic "
                  "Profile and options)", configure=_configure, run=_run)
