"""Output names taken from data, and paths that never leave their root.

Why this module exists: ``dicomstream rewrite SRC DST --name-template
'{PatientID}/{StudyInstanceUID}/{SOPInstanceUID}.dcm'`` names outputs by values read
from the files themselves — and a file's values are whatever its author wrote. A
SOP Instance UID of ``../../etc/passwd``, a Patient ID with a NUL byte or ``CON``, a
DICOMDIR's Referenced File ID pointing at ``/``: none of them may decide where a file
lands. So every value goes through :func:`sanitize_value` before it becomes part of a
path, every rendered component through the component rules below, and the joined
result through :func:`safe_join`, which resolves it (symlinks included) and refuses
anything outside the output root.

Templates (:func:`parse_template`) are ``str.format``-like: ``{Keyword}`` is a DICOM
keyword, ``{relpath}`` the input's path relative to SRC (its folders become folders),
``{stem}`` the input's file name without its extension; ``/`` in the template's own text
separates folders. A format spec may follow a keyword or ``{stem}``: ``{PatientName:.8}``
keeps the first 8 characters, ``{InstanceNumber:05}`` zero-pads a number to 5 digits,
``{PatientID:hash}`` writes 16 hex digits of the value's SHA-256 instead of the value.
Unknown keywords, binary or sequence keywords, attribute access, conversions, ``..`` or
absolute paths in the template's text are errors when the template is parsed (the CLI's
usage errors), not when the first file arrives.

Sanitisation, per value (:func:`sanitize_value`): NFKC normalisation (so a fullwidth
solidus or a one-dot leader cannot come back as ``/`` or ``..`` later), padding stripped,
then every character that is not a letter, a digit or one of ``-_.+=@,`` becomes ``_``
(path separators of every platform, NUL and control characters, ``:``, look-alike
slashes such as U+2215, bidi overrides), runs of dots and leading dots become ``_``;
an empty or absent value becomes :data:`EMPTY_VALUE`. Per path component: a Windows
device name (``CON``, ``nul.dcm``, ``COM1``…) gets a ``_`` prefix, a trailing dot or
space a ``_`` suffix, and a component over :data:`MAX_COMPONENT_BYTES` bytes of UTF-8 is
cut, keeping its extension and adding a short hash of the whole so that distinct long
values stay distinct. ``{ReferencedFileID}`` (CS, VM 1-8) gives one folder per value.
"""

from __future__ import annotations

__all__ = ("EMPTY_VALUE", "MAX_COMPONENT_BYTES", "NameCaptureStage", "NameTemplate",
           "file_id_parts", "parse_template", "referenced_file_path", "safe_join",
           "sanitize_component", "sanitize_value")

import hashlib
import os
import re
import string
import unicodedata
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, NamedTuple

from dicomstream.dictionary import tag_for_keyword, vr_for_tag
from dicomstream.errors import SinkError
from dicomstream.events import DatasetStart, Element, FragmentsStart, SequenceStart, ValueStart
from dicomstream.stages._base import Stage
from dicomstream.values import DEFAULT_CHARSET, CharacterSet, decode_value

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from dicomstream.events import Event

EMPTY_VALUE = "_"
"""What an empty or absent value becomes in a path."""

MAX_COMPONENT_BYTES = 200
"""Longest path component written, in bytes of UTF-8: ext4, XFS and APFS allow 255
bytes, NTFS 255 UTF-16 units; 200 leaves room for a collision suffix (``-999``)."""

MAX_FILE_ID_PARTS = 8
"""Folders one Referenced File ID may give (its VM is 1-8, PS3.3 F.3.2.2)."""

_SOURCE_FIELDS = frozenset({"relpath", "stem"})
_MULTI_PART_FIELDS = frozenset({"relpath", "ReferencedFileID"})
_REFERENCED_FILE_ID = 0x00041500
_CHARSET_TAG = 0x00080005
_BINARY_VRS = frozenset({"SQ", "OB", "OW", "OF", "OD", "OL", "OV", "UN", "NONE"})
_SAFE_PUNCTUATION = frozenset("-_.+=@,")
_DOT_RUN = re.compile(r"\.{2,}")
_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$", "CLOCK$"}
    | {f"{name}{n}" for name in ("COM", "LPT") for n in "0123456789"})
_HASH_DIGITS = 16
_MAX_TRUNCATE = 255
_MAX_PAD = 64


# -- sanitisation -------------------------------------------------------------------------

def sanitize_value(text: str) -> str:
    """``text`` made safe to stand in a path component (see the module docstring): never
    empty, never a separator, a control character, ``.``/``..`` or a leading dot."""
    text = unicodedata.normalize("NFKC", text).strip(" \0\t\r\n")
    out = "".join(ch if ch.isalnum() or ch in _SAFE_PUNCTUATION else "_" for ch in text)
    out = _DOT_RUN.sub(lambda m: "_" * len(m.group()), out)
    stripped = out.lstrip(".")
    out = "_" * (len(out) - len(stripped)) + stripped
    return out or EMPTY_VALUE


def _extension(component: str) -> str:
    """A short extension (``.dcm``) worth keeping when a component is cut or suffixed; a
    UID's last number (``.55``) is not one."""
    stem, dot, ext = component.rpartition(".")
    if dot and stem and 1 <= len(ext) <= 8 and ext.isalnum() and not ext.isdigit():
        return "." + ext
    return ""


def _cut_utf8(text: str, limit: int) -> str:
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def sanitize_component(component: str) -> str:
    """The last rules for one rendered path component: ``.``/``..``/empty refused (as
    ``_``), Windows device names prefixed, a trailing dot or space suffixed, and length
    capped at :data:`MAX_COMPONENT_BYTES` (extension kept, hash of the whole added)."""
    if component in ("", ".", ".."):
        return EMPTY_VALUE
    if component.endswith((".", " ")):
        component += "_"
    if component.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        component = "_" + component
    if len(component.encode("utf-8")) > MAX_COMPONENT_BYTES:
        ext = _extension(component)
        digest = hashlib.sha256(component.encode("utf-8")).hexdigest()[:8]
        budget = MAX_COMPONENT_BYTES - len(ext.encode("utf-8")) - len(digest) - 1
        head = _cut_utf8(component[:len(component) - len(ext)], budget)
        component = f"{head}~{digest}{ext}"
    return component


def file_id_parts(value: str) -> list[str]:
    """The folders of a Referenced File ID (``DIR1\\\\IMG001``), each sanitised; at most
    :data:`MAX_FILE_ID_PARTS` (the rest join the last). A valid File ID (upper-case
    letters, digits and ``_``, PS3.10 §8.5) comes back unchanged."""
    parts = [sanitize_value(p) for p in value.strip(" \0").split("\\")]
    if len(parts) > MAX_FILE_ID_PARTS:
        parts[MAX_FILE_ID_PARTS - 1:] = ["_".join(parts[MAX_FILE_ID_PARTS - 1:])]
    return [sanitize_component(p) for p in parts]


def safe_join(root: str | os.PathLike[str], relative: str | Sequence[str]) -> Path:
    """``root`` joined with ``relative`` (a POSIX path or its components), guaranteed to
    stay inside ``root``.

    Raises :class:`~dicomstream.errors.SinkError` for an absolute path, an empty, ``.``
    or ``..`` component, a NUL or a backslash — and when the joined path, resolved
    through the symlinks that already exist under ``root``, lands outside ``root``
    (a symlink inside the output tree pointing elsewhere is never followed). Symlinks
    that stay inside ``root`` are fine. The check is about hostile *data*; a local
    user racing to swap folders under ``root`` while it is written is out of its scope.
    """
    parts = relative.split("/") if isinstance(relative, str) else list(relative)
    for part in parts:
        if part in ("", ".", "..") or "\0" in part or "/" in part or "\\" in part:
            raise SinkError(f"unsafe output path {'/'.join(parts)!r}: component {part!r}")
    base = Path(root)
    real_root = os.path.realpath(base)
    candidate = base.joinpath(*parts)
    real = os.path.realpath(candidate)
    if os.path.commonpath([real_root, real]) != real_root or real == real_root:
        raise SinkError(f"unsafe output path {'/'.join(parts)!r}: resolves to {real}, "
                        f"outside {real_root}")
    return candidate


def referenced_file_path(root: str | os.PathLike[str], file_id: str) -> Path:
    """Where a DICOMDIR's Referenced File ID points under the file-set ``root``, never
    outside it (:func:`file_id_parts`, then :func:`safe_join`)."""
    return safe_join(root, file_id_parts(file_id))


# -- templates ----------------------------------------------------------------------------

class _Field(NamedTuple):
    name: str          # a keyword, "relpath" or "stem"
    tag: int           # 0 for relpath/stem
    truncate: int      # 0: no cut
    pad: int           # 0: no zero padding
    hashed: bool


_Piece = str | _Field


def _parse_spec(name: str, spec: str) -> tuple[int, int, bool]:
    """``.N`` (cut), ``0N`` (zero-pad numbers) or ``hash``."""
    if not spec:
        return 0, 0, False
    if name in _MULTI_PART_FIELDS:
        raise ValueError(f"{{{name}:{spec}}}: {{{name}}} takes no format")
    if spec == "hash":
        return 0, 0, True
    if m := re.fullmatch(r"\.(\d{1,3})", spec):
        n = int(m.group(1))
        if 1 <= n <= _MAX_TRUNCATE:
            return n, 0, False
    if m := re.fullmatch(r"0(\d{1,2})", spec):
        n = int(m.group(1))
        if 1 <= n <= _MAX_PAD:
            return 0, n, False
    raise ValueError(f"{{{name}:{spec}}}: unknown format (use .N to keep N characters, "
                     "0N to zero-pad a number to N digits, or hash)")


def _field(name: str, spec: str, conversion: str | None) -> _Field:
    if conversion:
        raise ValueError(f"{{{name}!{conversion}}}: conversions are not supported")
    if not name or not name.isidentifier():
        raise ValueError(f"{{{name}}}: a placeholder is a DICOM keyword, relpath or stem")
    truncate, pad, hashed = _parse_spec(name, spec)
    if name in _SOURCE_FIELDS:
        return _Field(name, 0, truncate, pad, hashed)
    tag = tag_for_keyword(name)
    if tag is None:
        raise ValueError(f"{{{name}}}: unknown keyword (a DICOM keyword such as "
                         "SOPInstanceUID, or relpath / stem)")
    vrs = set(vr_for_tag(tag).split(" or "))
    if vrs & _BINARY_VRS or not tag & 0xFFFF:
        raise ValueError(f"{{{name}}}: a {'/'.join(sorted(vrs))} element cannot name files")
    return _Field(name, tag, truncate, pad, hashed)


def _check_literal(text: str, template: str) -> None:
    if "\\" in text or any(unicodedata.category(ch) == "Cc" for ch in text):
        raise ValueError(f"template {template!r}: backslashes and control characters "
                         "are not allowed")


@dataclass(frozen=True, slots=True)
class NameTemplate:
    """A parsed output-name template (see the module docstring); plain data, so it
    pickles to cluster workers. Make one with :func:`parse_template`.

    Attributes:
        text: the template as given.
        segments: the path components, each a tuple of literal strings and fields.
        tags: (tag, keyword) of every DICOM element the template needs.
    """

    text: str
    segments: tuple[tuple[_Piece, ...], ...]
    tags: tuple[tuple[int, str], ...]

    def render(self, values: Mapping[str, str | None], *, relpath: str | None = None
               ) -> str:
        """The relative POSIX path for ``values`` (keyword → decoded text, ``None`` or
        missing when absent) and the input's ``relpath``; every component sanitised."""
        components: list[str] = []
        for segment in self.segments:
            current = ""
            for piece in segment:
                if isinstance(piece, str):
                    current += piece
                    continue
                parts = _field_parts(piece, values, relpath)
                current += parts[0]
                for part in parts[1:]:
                    components.append(current)
                    current = part
            components.append(current)
        return "/".join(sanitize_component(c) for c in components)


def _field_parts(field: _Field, values: Mapping[str, str | None], relpath: str | None
                 ) -> list[str]:
    if field.name == "relpath":
        rel = (relpath or "").replace("\\", "/")
        return [sanitize_value(p) for p in rel.split("/") if p not in ("", ".")] or \
            [EMPTY_VALUE]
    if field.name == "stem":
        name = (relpath or "").replace("\\", "/").rsplit("/", 1)[-1]
        value: str | None = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    else:
        value = values.get(field.name)
    if field.tag == _REFERENCED_FILE_ID:
        return file_id_parts(value) if value else [EMPTY_VALUE]
    if not value:
        return [EMPTY_VALUE]
    if field.hashed:
        return [hashlib.sha256(value.encode("utf-8")).hexdigest()[:_HASH_DIGITS]]
    if field.truncate:
        value = value[:field.truncate]
    if field.pad and value.isdigit():
        value = value.zfill(field.pad)
    return [sanitize_value(value)]


def parse_template(text: str) -> NameTemplate:
    """Parse and check an output-name template; raises :class:`ValueError` with a
    one-line reason (unknown keyword, bad format, ``..``, absolute path…)."""
    if not text.strip():
        raise ValueError("empty name template")
    if text.startswith("/") or re.match(r"[A-Za-z]:", text):
        raise ValueError(f"template {text!r}: must be relative to DST")
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError as exc:
        raise ValueError(f"template {text!r}: {exc}") from None
    segments: list[list[_Piece]] = [[]]
    tags: dict[int, str] = {}
    fields = 0
    for literal, name, spec, conversion in parsed:
        if literal:
            _check_literal(literal, text)
            first, *rest = literal.split("/")
            if first:
                segments[-1].append(first)
            for part in rest:
                segments.append([part] if part else [])
        if name is None:
            continue
        if spec and "{" in spec:
            raise ValueError(f"template {text!r}: nested placeholders are not supported")
        field = _field(name, spec or "", conversion)
        fields += 1
        if field.tag:
            tags[field.tag] = field.name
        segments[-1].append(field)
    if not fields:
        raise ValueError(f"template {text!r} has no placeholder: every output would "
                         "have the same name")
    for segment in segments:
        if not segment:
            raise ValueError(f"template {text!r}: empty folder name (// or a trailing /)")
        literals = [p for p in segment if isinstance(p, str)]
        if len(literals) == len(segment) and "".join(literals) in (".", ".."):
            raise ValueError(f"template {text!r}: '.' and '..' are not allowed")
    return NameTemplate(text, tuple(tuple(s) for s in segments), tuple(sorted(tags.items())))


# -- capturing the values as they stream ------------------------------------------------

def _text(element: Element, little_endian: bool, charset: CharacterSet) -> str:
    """A top-level element's value as text (multi-values joined by ``\\``)."""
    raw = bytes(element.value)
    if not raw:
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # undecodable bytes become U+FFFD, then "_"
        try:
            value: Any = decode_value(element.vr, raw, little_endian=little_endian,
                                      charset=charset)
        except (ValueError, ArithmeticError):
            return raw.decode("latin-1")
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return "\\".join(str(v) for v in value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value).strip(" \0")


class NameCaptureStage(Stage):
    """Watch a stream (change nothing) and keep the top-level values a
    :class:`NameTemplate` needs; :meth:`render` names the output once it has passed.

    Put it last, so the values are those of the *output* (after edits and
    de-identification). It stops looking once the top level is past the last tag it
    needs. A value too large to arrive whole (over the parser's threshold) counts as
    absent.
    """

    name: ClassVar[str] = "name-capture"

    def __init__(self, template: NameTemplate, *, relpath: str | None = None) -> None:
        self.template = template
        self.relpath = relpath
        self.values: dict[str, str] = {}
        self.placed: tuple[str, str] | None = None
        """(path, outcome) once the sink has placed the output (see
        :class:`~dicomstream.io.templated.TemplatedFileSink`)."""
        self._tags = dict(template.tags)
        self._last = max((t for t in self._tags if t >> 16 != 2), default=0)
        self._in_dataset = False
        self._done = not template.tags
        self._little = True
        self._charset = DEFAULT_CHARSET

    async def process(self, batch: list[Event]) -> list[Event]:
        if self._done:
            return batch
        tags = self._tags
        for ev in batch:
            cls = type(ev)
            if cls is Element:
                assert isinstance(ev, Element)
                if ev.path:
                    continue
                tag = ev.tag
                if self._in_dataset and tag == _CHARSET_TAG:
                    self._charset = CharacterSet.from_raw(bytes(ev.value))
                if tag in tags:
                    self.values[tags[tag]] = _text(ev, self._little, self._charset)
                if self._in_dataset and tag > self._last:
                    self._done = True
                    return batch
            elif cls is DatasetStart:
                assert isinstance(ev, DatasetStart)
                self._in_dataset = True
                self._charset = DEFAULT_CHARSET
                self._little = ev.transfer_syntax != "1.2.840.10008.1.2.2"
            elif (cls is SequenceStart or cls is ValueStart or cls is FragmentsStart) and \
                    self._in_dataset and not getattr(ev, "path", ()) and \
                    getattr(ev, "tag", 0) > self._last:
                self._done = True
                return batch
        return batch

    def render(self) -> str:
        """The output's path relative to the root (call after the stream has ended)."""
        return self.template.render(self.values, relpath=self.relpath)

    def on_placed(self, path: str, outcome: str) -> None:
        """Told by the sink where the output went and how (``new``, ``identical``,
        ``suffixed``)."""
        self.placed = (path, outcome)

    def report(self) -> dict[str, Any]:
        """``{"naming": …}`` in the report line when the output did not simply land at
        its rendered name (an identical file was already there, or a suffix was
        added)."""
        if self.placed is None or self.placed[1] == "new":
            return {}
        return {"naming": {"outcome": self.placed[1], "rendered": self.render()}}
