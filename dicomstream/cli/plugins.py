"""``dicomstream plugins``: what is installed, where it comes from, and whether it loads."""

from __future__ import annotations

__all__ = ("command",)

import json
import sys
from typing import TYPE_CHECKING

from dicomstream.cli._command import Command
from dicomstream.plugin import discover

if TYPE_CHECKING:
    import argparse


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per plugin")


def _run(args: argparse.Namespace) -> int:
    plugins = discover()
    if args.json:
        for p in plugins:
            print(json.dumps({"group": p.group, "name": p.name, "value": p.value,
                              "distribution": p.distribution, "version": p.version,
                              "error": p.error}))
        return 0
    if sys.stdout.isatty():
        from rich.console import Console
        from rich.table import Table

        table = Table("group", "name", "distribution", "version", "status")
        for p in plugins:
            table.add_row(p.group.removeprefix("dicomstream."), p.name, p.distribution,
                          p.version, "ok" if p.error is None else f"[red]{p.error}")
        Console().print(table)
    else:
        for p in plugins:
            status = "ok" if p.error is None else f"BROKEN: {p.error}"
            print(f"{p.group.removeprefix('dicomstream.'):9} {p.name:20} "
                  f"{p.distribution} {p.version}  {status}")
    return 0


command = Command(name="plugins", help="list installed plugins (stages, sources, sinks, "
                  "commands) and whether they load", configure=_configure, run=_run)
