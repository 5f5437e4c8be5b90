"""The ``dicomstream`` command line: subcommands found through entry points.

Exit status: 0 when everything succeeded, 1 when some inputs failed, 2 for usage
errors. Errors are one line on stderr; ``--debug`` shows the traceback.
"""

from __future__ import annotations

__all__ = ("Command", "add_bulk_options", "build_parser", "main", "run_bulk_command")

import argparse
import os
import sys
from typing import TYPE_CHECKING

from dicomstream.cli._command import (
    BUILTIN_COMMANDS,
    Command,
    command_names,
    discover_commands,
)
from dicomstream.cli.rewrite import add_bulk_options, run_bulk_command

if TYPE_CHECKING:
    from collections.abc import Sequence


def _terminal_columns() -> int:
    """Columns of the terminal, as :func:`shutil.get_terminal_size` finds them."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


class _HelpFormatter(argparse.HelpFormatter):
    """argparse's formatter, sized without importing :mod:`shutil`: argparse builds one
    for every ``add_argument``, and shutil (with bz2, lzma…) is ~5 ms of every start."""

    def __init__(self, prog: str, indent_increment: int = 2, max_help_position: int = 24,
                 width: int | None = None) -> None:
        if width is None:
            width = _terminal_columns() - 2
        super().__init__(prog, indent_increment, max_help_position, width)


def build_parser(only: str | None = None
                 ) -> tuple[argparse.ArgumentParser, dict[str, Command], list[str]]:
    """The top-level parser with one sub-parser per discovered command (or just ``only``)."""
    from dicomstream import __version__

    parser = argparse.ArgumentParser(
        prog="dicomstream", formatter_class=_HelpFormatter,
        description="Streaming DICOM: dump, rewrite and transform files, trees and streams.")
    parser.add_argument("--version", action="version", version=f"dicomstream {__version__}")
    parser.add_argument("--debug", action="store_true",
                        help="show tracebacks instead of one-line errors")
    commands, problems = discover_commands(only)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, command in commands.items():
        p = sub.add_parser(name, help=command.help, description=command.help,
                           formatter_class=_HelpFormatter)
        p.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                       help="show tracebacks instead of one-line errors")
        command.configure(p)
    return parser, commands, problems


def _is_broken_pipe(exc: BaseException) -> bool:
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return isinstance(exc, BrokenPipeError)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    args_list = list(sys.argv[1:] if argv is None else argv)
    wanted = next((a for a in args_list if not a.startswith("-")), None)
    if wanted is not None and (wanted in BUILTIN_COMMANDS or wanted in command_names()):
        only: str | None = wanted
    else:  # --version needs no command; --help and mistakes list them all
        only = "" if "--version" in args_list else None
    parser, commands, problems = build_parser(only)
    for problem in problems:
        print(f"dicomstream: warning: {problem}", file=sys.stderr)
    args = parser.parse_args(args_list)
    if not args.command:
        parser.print_help(sys.stderr)
        return 2
    command = commands[args.command]
    try:
        return command.run(args)
    except KeyboardInterrupt:
        print("dicomstream: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if _is_broken_pipe(exc):
            # The reader went away (``| head``): stop quietly, as cat does.
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1
        if getattr(args, "debug", False):
            raise
        from dicomstream.cli._errors import describe

        print(f"dicomstream {args.command}: {describe(exc)}", file=sys.stderr)
        return 1
