"""Real servers for the cloud tests, on free loopback ports.

Each server is a subprocess started by a session fixture (``conftest.py``), waited for
with a bounded probe, and stopped by PID (SIGTERM, then SIGKILL after 5 s). A missing
server binary skips the tests that need it, saying why — except under CI (``CI=true``),
where it fails them: CI must install every server (``scripts/test.sh``).
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import TYPE_CHECKING, NoReturn

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

if TYPE_CHECKING:
    from pathlib import Path

START_TIMEOUT = 20.0
"""Seconds a server gets to answer its probe (they need 0.2 – 2 s here)."""

STOP_GRACE = 5.0
"""Seconds between SIGTERM and SIGKILL."""


def missing(what: str, install: str) -> NoReturn:
    """Skip (locally) or fail (under CI) because ``what`` is not installed."""
    message = f"{what} is not installed ({install})"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{message}; CI must install it (scripts/test.sh)", pytrace=False)
    pytest.skip(message)


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now (for servers that cannot take port 0)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    """A running server process."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    def stop(self) -> None:
        """SIGTERM, wait up to :data:`STOP_GRACE`, then SIGKILL."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(STOP_GRACE)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(STOP_GRACE)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1.0) as response:  # noqa: S310 - loopback
            return bool(response.status < 500)
    except urllib.error.HTTPError as exc:
        return exc.code < 500
    except OSError:
        return False


def start(name: str, argv: list[str], probe: str, log: Path, *,
          env: dict[str, str] | None = None, url: str = "") -> Server:
    """Start ``argv``, wait (bounded) until ``probe`` answers; fail with the log if the
    process exits or the probe never answers."""
    with open(log, "wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                   env={**os.environ, **(env or {})},
                                   start_new_session=True)
    server = Server(name, process, url or probe, log)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode} at start:\n"
                               f"{log.read_text(errors='replace')[-2000:]}")
        if _answers(probe):
            return server
        time.sleep(0.1)
    server.stop()
    raise RuntimeError(f"{name} did not answer {probe} within {START_TIMEOUT} s:\n"
                       f"{log.read_text(errors='replace')[-2000:]}")


def run_cli(*args: str, timeout: float = 300.0) -> subprocess.CompletedProcess[str]:
    """``python -m dicomstream ARGS`` in a child process (the environment inherited)."""
    import sys

    return subprocess.run([sys.executable, "-m", "dicomstream", *args], capture_output=True,
                          text=True, timeout=timeout, check=False)


def read_report(path: Path) -> list[dict[str, object]]:
    """The JSON lines of a bulk report."""
    import json

    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@contextlib.contextmanager
def raises_through_groups(kind: type[BaseException], match: str) -> Iterator[None]:
    """Like ``pytest.raises(kind, match=…)``, also accepting ``kind`` inside (nested)
    one-member exception groups, as task-group-based pipelines may raise it."""
    try:
        yield
    except BaseException as exc:  # noqa: BLE001 - inspected, re-raised if not expected
        inner = exc
        while isinstance(inner, BaseExceptionGroup) and len(inner.exceptions) == 1:
            inner = inner.exceptions[0]
        if not isinstance(inner, kind) or not re.search(match, str(inner)):
            raise
        return
    pytest.fail(f"DID NOT RAISE {kind.__name__}")
