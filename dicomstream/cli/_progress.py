"""A progress bar for bulk runs: on a terminal only, never in a pipe or a log file."""

from __future__ import annotations

__all__ = ("BulkProgress",)

import sys
from typing import Any


class BulkProgress:
    """Counts outcomes of a bulk run; draws a rich progress bar when stderr is a TTY."""

    def __init__(self, description: str, *, enabled: bool | None = None) -> None:
        self.enabled = sys.stderr.isatty() if enabled is None else enabled
        self._progress: Any = None
        self._task: Any = None
        self._description = description

    def __enter__(self) -> BulkProgress:
        if self.enabled:
            from rich.console import Console
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            self._progress = Progress(
                TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"), TimeElapsedColumn(),
                TimeRemainingColumn(), console=Console(stderr=True), transient=False)
            self._progress.__enter__()
            self._task = self._progress.add_task(self._description, total=None, failed=0)
        return self

    def set_total(self, total: int) -> None:
        if self._progress is not None:
            self._progress.update(self._task, total=total)

    def done(self, record: dict[str, Any]) -> None:
        if self._progress is not None:
            failed = self._progress.tasks[0].fields["failed"] + (record["status"] == "error")
            self._progress.update(self._task, advance=1, failed=failed)

    def __exit__(self, *exc: object) -> None:
        if self._progress is not None:
            self._progress.__exit__(None, None, None)
