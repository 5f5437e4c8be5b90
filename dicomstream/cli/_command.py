"""What a CLI subcommand is, and how subcommands are found.

Every subcommand — built-in or from a plugin — is a :class:`Command` published under
the ``dicomstream.commands`` entry-point group, so ``dicomstream dump`` is found the same
way as a third party's ``dicomstream frobnicate``. A plugin that fails to load is
reported on stderr and the others keep working.
"""

from __future__ import annotations

__all__ = ("BUILTIN_COMMANDS", "Command", "command_names", "discover_commands")

import functools
import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable

COMMANDS_GROUP = "dicomstream.commands"

BUILTIN_COMMANDS = {
    "dump": "dicomstream.cli.dump:command",
    "rewrite": "dicomstream.cli.rewrite:command",
    "plugins": "dicomstream.cli.plugins:command",
}
"""The package's own commands: found without reading installed metadata (which costs
~25 ms at start-up), and never shadowed by a plugin of the same name."""


@dataclass(frozen=True)
class Command:
    """A subcommand: its name, one-line help, argument set-up and entry function.

    ``run`` returns the exit status: 0 success, 1 some inputs failed, 2 usage error.
    """

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _load(value: str) -> Command:
    module, _, attr = value.partition(":")
    obj = getattr(importlib.import_module(module), attr)
    if not isinstance(obj, Command):
        raise TypeError(f"{value} is not a dicomstream.cli.Command")
    return obj


@functools.cache
def command_names() -> dict[str, str]:
    """Installed command names → ``module:attribute``, without importing anything."""
    from importlib.metadata import entry_points  # ~25 ms: only when plugins are asked for

    seen = dict(BUILTIN_COMMANDS)  # a plugin cannot take over a built-in command's name
    for ep in entry_points(group=COMMANDS_GROUP):
        seen.setdefault(ep.name, ep.value)
    return dict(sorted(seen.items()))


def discover_commands(only: str | None = None) -> tuple[dict[str, Command], list[str]]:
    """Installed commands by name, and one message per command that failed to load.

    With ``only``, just that command is imported, so running one command never pays for
    (or trips over) the others' imports; ``--help`` loads them all.
    """
    found: dict[str, Command] = {}
    problems: list[str] = []
    if only is not None and only in BUILTIN_COMMANDS:
        # A built-in command is the package's own: no need to read any metadata.
        seen = {only: BUILTIN_COMMANDS[only]}
    else:
        seen = dict(command_names())
        if only is not None:
            seen = {only: seen[only]} if only in seen else {}
    for name, value in seen.items():
        try:
            found[name] = _load(value)
        except Exception as exc:  # a broken plugin must not break the CLI
            problems.append(f"command {name!r} ({value}) failed to load: "
                            f"{type(exc).__name__}: {exc}")
    return found, problems
