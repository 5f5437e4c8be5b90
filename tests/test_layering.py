"""The sans-IO contract: the parser and encoder import no I/O or async library."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "dicomstream"
FORBIDDEN = {"anyio", "asyncio", "trio", "aiofiles", "socket", "selectors", "threading",
             "subprocess", "dicomstream.io", "dicomstream.streams", "dicomstream.pipeline",
             "dicomstream.bulk", "dicomstream.cli", "open"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id == "open":
            names.add("open")
    return names


def test_core_modules_import_nothing_forbidden() -> None:
    for sub in ("parser", "encoder"):
        for path in (PACKAGE / sub).glob("*.py"):
            bad = {m for m in imported_modules(path)
                   if m in FORBIDDEN or m.split(".")[0] in FORBIDDEN}
            assert not bad, f"{path.name} imports {bad}"


def test_core_runtime_imports_no_async_library() -> None:
    code = ("import sys, dicomstream.parser, dicomstream.encoder, dicomstream.events;"
            "from dicomstream.parser import parse_bytes;"
            "from dicomstream.encoder import encode_events;"
            "import pydicom.data, os;"
            "p = os.path.join(os.path.dirname(pydicom.data.__file__), 'test_files', 'rtplan.dcm');"
            "d = open(p, 'rb').read(); assert encode_events(parse_bytes(d)) == d;"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('anyio', 'asyncio', 'trio', 'aiofiles')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
