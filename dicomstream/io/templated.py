"""A file sink whose name is known only at the end of the stream.

Why this module exists: when outputs are named from their own values
(``--name-template '{PatientID}/{SOPInstanceUID}.dcm'``, :mod:`dicomstream.naming`), the
name is known only once those elements have streamed past, and a whole file must not
be buffered to wait for them. :class:`TemplatedFileSink` streams into a staging file in
the output root — an ordinary atomic :class:`~dicomstream.io.FileSink` whose name ends
in the temporary suffix, so a resumed run sweeps it — and on commit asks for the
relative name, joins it with :func:`~dicomstream.naming.safe_join` (it never leaves the
root, whatever the data said) and moves the staging file there.

Placing never overwrites: the staging file is hard-linked to the target, which fails
atomically when the target exists (two inputs rendering the same name at once cannot
both win). Then:

* an existing regular file with the same bytes is kept and the staging file dropped
  (outcome ``identical``): re-running a job, or two copies of the same instance, never
  makes duplicates;
* otherwise a suffix ``-1``, ``-2``, … goes before the extension (``x.dcm`` →
  ``x-1.dcm``; a UID's last number is not an extension) until a free or identical name
  is found (outcome ``suffixed``), at most :data:`MAX_SUFFIX` times, then the input
  fails with a :class:`~dicomstream.errors.SinkError`.

Where hard links are not supported, the target is reserved with an exclusive create
and the staging file renamed over it. The staging file must be on the same file system
as the target (a mount point inside the output root is not).
"""

from __future__ import annotations

__all__ = ("MAX_SUFFIX", "TemplatedFileSink", "place_without_overwrite")

import errno
import os
import stat
from pathlib import Path
from typing import TYPE_CHECKING

import anyio.to_thread

from dicomstream.errors import SinkError
from dicomstream.io.files import WRITE_BUFFER_SIZE, FileSink, temporary_path_for
from dicomstream.naming import safe_join

if TYPE_CHECKING:
    from collections.abc import Callable

MAX_SUFFIX = 1000
"""Most ``-N`` suffixes tried for one name before the input fails."""

_NO_LINKS = frozenset({errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.ENOSYS,
                       errno.EMLINK})
_COMPARE_CHUNK = 1024 * 1024


def _suffixed(target: Path, n: int) -> Path:
    name = target.name
    stem, dot, ext = name.rpartition(".")
    if dot and stem and 1 <= len(ext) <= 8 and ext.isalnum() and not ext.isdigit():
        return target.with_name(f"{stem}-{n}.{ext}")
    return target.with_name(f"{name}-{n}")


def _same_content(a: Path, b: Path) -> bool:
    """Whether ``b`` is a regular file (not a symlink) with the bytes of ``a``."""
    try:
        info = os.lstat(b)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode) or info.st_size != os.stat(a).st_size:
        return False
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            chunk = fa.read(_COMPARE_CHUNK)
            if chunk != fb.read(_COMPARE_CHUNK):
                return False
            if not chunk:
                return True


def _link_exclusive(staging: Path, target: Path) -> None:
    """Make ``staging`` appear at ``target``; FileExistsError if ``target`` exists."""
    try:
        os.link(staging, target, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in _NO_LINKS:
            raise
        # No hard links here (some network and FAT file systems): reserve, then rename.
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        os.close(fd)
        os.replace(staging, target)


def place_without_overwrite(staging: Path, root: Path, relative: str) -> tuple[Path, str]:
    """Move the complete file ``staging`` to ``root/relative`` without overwriting
    anything (see the module docstring); returns the path and the outcome (``new``,
    ``identical`` or ``suffixed``). ``staging`` is gone afterwards, whatever happens."""
    try:
        target = safe_join(root, relative)
        target.parent.mkdir(parents=True, exist_ok=True)
        # The folders now exist: resolve again, in case one of them was a symlink that
        # only now has something to lead to.
        target = safe_join(root, relative)
        for n in range(MAX_SUFFIX + 1):
            candidate = target if n == 0 else _suffixed(target, n)
            try:
                _link_exclusive(staging, candidate)
            except FileExistsError:
                if _same_content(staging, candidate):
                    return candidate, "identical"
                continue
            return candidate, "new" if n == 0 else "suffixed"
        raise SinkError(f"{target}: more than {MAX_SUFFIX} different outputs render to "
                        "this name (add more placeholders to the template)")
    finally:
        staging.unlink(missing_ok=True)


class TemplatedFileSink:
    """Write a file under ``root`` whose relative name ``namer()`` gives at commit.

    Args:
        root: the output root (created if missing); nothing is ever written outside it.
        namer: called once the stream has ended; returns the relative POSIX path.
        on_placed: told ``(path, outcome)`` once the file is in place.
        buffer_size / inline / inline_small: as for :class:`~dicomstream.io.FileSink`
            (with either, the placing also runs in the calling thread).

    ``name`` is the root until the output is placed, then its path.
    """

    def __init__(self, root: str | os.PathLike[str], namer: Callable[[], str], *,
                 on_placed: Callable[[str, str], None] | None = None,
                 buffer_size: int = WRITE_BUFFER_SIZE, inline_small: bool = False,
                 inline: bool = False) -> None:
        self.root = Path(root)
        self.name = str(root)
        self.path: Path | None = None
        self.outcome: str | None = None
        self._namer = namer
        self._on_placed = on_placed
        self._inline = inline_small or inline
        self._staging = temporary_path_for(self.root / "output")
        self._inner = FileSink(self._staging, buffer_size=buffer_size, make_parents=True,
                               inline_small=inline_small, inline=inline)
        self._staged = False
        self._done = False

    @property
    def bytes_written(self) -> int:
        return self._inner.bytes_written

    async def write(self, data: bytes | memoryview) -> None:
        await self._inner.write(data)

    async def commit(self) -> None:
        if self._done:
            return
        try:
            relative = self._namer()
        except (ValueError, KeyError) as exc:
            await self.abort()
            raise SinkError(f"cannot name the output: {exc}") from exc
        await self._inner.commit()
        self._staged = True
        try:
            if self._inline:
                path, outcome = place_without_overwrite(self._staging, self.root, relative)
            else:
                path, outcome = await anyio.to_thread.run_sync(
                    place_without_overwrite, self._staging, self.root, relative)
        except OSError as exc:
            raise SinkError(f"cannot write {self.root / relative}: "
                            f"{exc.strerror or exc}") from exc
        finally:
            self._done = True
        self.path, self.name, self.outcome = path, str(path), outcome
        if self._on_placed is not None:
            self._on_placed(str(path), outcome)

    async def abort(self) -> None:
        if self._done:
            return
        self._done = True
        await self._inner.abort()
        if self._staged:
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(self._staging.unlink, True)
