"""The rules, as data: PS3.15 Table E.1-1, the safe private list (Table E.3.10-1) and the
attribute Types that resolve compound codes.

Why data files and a loader, not Python literals: the tables are the standard's, and a
new edition should be a new file, not a code change. :func:`load_table` reads the shipped
edition (2026d) or any file of the same shape (see ``data/README`` of PS3.15 in the
repository: 14 tab-separated columns, one header row).

Tags in Table E.1-1 are exact ``(GGGG,EEEE)``, masked ``(50xx,xxxx)``/``(60xx,3000)``/
``(60xx,4000)`` (the even repeating groups 5000-501E / 6000-601E), or the single row
``(gggg,eeee)`` standing for every private data element.
"""

from __future__ import annotations

__all__ = (
    "BASIC_CODES",
    "OPTIONS",
    "OPTION_CODES",
    "ProfileTable",
    "Rule",
    "SafePrivateList",
    "load_iod_types",
    "load_safe_private",
    "load_table",
    "normalize_option",
    "parse_safe_private",
)

import functools
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

DEFAULT_EDITION = "2026d"

OPTIONS: tuple[str, ...] = (
    "retain-safe-private",
    "retain-uids",
    "retain-device-identity",
    "retain-institution-identity",
    "retain-patient-characteristics",
    "retain-long-full-dates",
    "retain-long-modified-dates",
    "clean-descriptors",
    "clean-structured-content",
    "clean-graphics",
)
"""Option names, in the order of the table's option columns."""

OPTION_CODES: dict[str, tuple[str, str]] = {
    # option: (CID 7050 code value, code meaning)
    "retain-safe-private": ("113111", "Retain Safe Private Option"),
    "retain-uids": ("113110", "Retain UIDs Option"),
    "retain-device-identity": ("113109", "Retain Device Identity Option"),
    "retain-institution-identity": ("113112", "Retain Institution Identity Option"),
    "retain-patient-characteristics": ("113108", "Retain Patient Characteristics Option"),
    "retain-long-full-dates": ("113106", "Retain Longitudinal Temporal Information Full "
                                         "Dates Option"),
    "retain-long-modified-dates": ("113107", "Retain Longitudinal Temporal Information "
                                             "Modified Dates Option"),
    "clean-descriptors": ("113105", "Clean Descriptors Option"),
    "clean-structured-content": ("113104", "Clean Structured Content Option"),
    "clean-graphics": ("113103", "Clean Graphics Option"),
}
BASIC_PROFILE_CODE = ("113100", "Basic Application Confidentiality Profile")

BASIC_CODES = frozenset({"X", "Z", "D", "U", "K", "C", "Z/D", "X/Z", "X/D", "X/Z/D",
                         "X/Z/U*"})

_TAG = re.compile(r"^\(([0-9A-Fa-fx]{4}),([0-9A-Fa-fx]{4})\)$")


def normalize_option(name: str) -> str:
    """The canonical spelling of an option: ``retain_uids`` or ``Retain-UIDs`` →
    ``retain-uids``.

    Raises:
        ValueError: an unknown option (the message lists the known ones).
    """
    key = name.strip().lower().replace("_", "-")
    if key not in OPTIONS:
        raise ValueError(f"unknown option {name!r}; options are: {', '.join(OPTIONS)}")
    return key


@dataclass(frozen=True, slots=True)
class Rule:
    """One row of Table E.1-1.

    Attributes:
        tag_text: the tag as the table writes it, e.g. ``(0010,0010)`` or ``(60xx,3000)``.
        name: the attribute name.
        retired: the "Retd." column.
        basic: the Basic Profile code (``X``, ``Z/D``, …).
        options: option name → ``K`` or ``C`` for the options that have a code.
        tag: the exact tag, or ``None`` for a masked row.
    """

    tag_text: str
    name: str
    retired: bool
    basic: str
    options: Mapping[str, str] = field(default_factory=dict)
    tag: int | None = None

    def code_for(self, options: Iterable[str]) -> tuple[str, str]:
        """The effective code under ``options`` and the option that set it (``""`` for
        the Basic Profile). When several selected options give a code, ``K`` (retain)
        beats ``C`` (clean); among equals the first in :data:`OPTIONS` order wins."""
        best: tuple[str, str] | None = None
        chosen = set(options)
        for option in OPTIONS:
            if option in chosen and option in self.options:
                code = self.options[option]
                if best is None or (code == "K" and best[0] != "K"):
                    best = (code, option)
        return best if best is not None else (self.basic, "")


@dataclass(frozen=True)
class ProfileTable:
    """Table E.1-1 of one edition."""

    edition: str
    rules: tuple[Rule, ...]
    exact: Mapping[int, Rule]
    curve: Rule | None
    overlay_data: Rule | None
    overlay_comments: Rule | None
    private: Rule | None

    def rule_for(self, tag: int) -> Rule | None:
        """The row that governs ``tag`` (exact rows first, then masked ones)."""
        rule = self.exact.get(tag)
        if rule is not None:
            return rule
        group = tag >> 16
        if group & 1:
            return self.private if group > 7 and group != 0xFFFF else None
        if group & 0xFF01 == 0x5000 and group <= 0x501E:
            return self.curve
        if group & 0xFF01 == 0x6000 and group <= 0x601E:
            element = tag & 0xFFFF
            if element == 0x3000:
                return self.overlay_data
            if element == 0x4000:
                return self.overlay_comments
        return None


def _parse_tag(text: str) -> int | None:
    m = _TAG.match(text)
    if m is None:
        if text == "(gggg,eeee)":
            return None
        raise ValueError(f"bad tag {text!r}")
    if "x" in text.lower():
        return None
    return int(m.group(1) + m.group(2), 16)


def _read(path: Path | None, name: str) -> str:
    if path is not None:
        return Path(path).read_text(encoding="utf-8")
    return resources.files("dicomstream_deid").joinpath("data", name).read_text(
        encoding="utf-8")


def _parse_table(text: str, edition: str) -> ProfileTable:
    lines = text.splitlines()
    header = lines[0].split("\t")
    expected = ["tag", "name", "retired", "basic", *(o.replace("-", "_") for o in OPTIONS)]
    if header != expected:
        raise ValueError(f"table header {header} is not {expected}")
    rules: list[Rule] = []
    exact: dict[int, Rule] = {}
    masked: dict[str, Rule] = {}
    for number, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        cells = line.split("\t")
        if len(cells) != len(expected):
            raise ValueError(f"line {number}: {len(cells)} columns, expected {len(expected)}")
        tag_text, name, retired, basic = cells[:4]
        if basic not in BASIC_CODES:
            raise ValueError(f"line {number}: unknown Basic Profile code {basic!r}")
        opts = {}
        for option, cell in zip(OPTIONS, cells[4:], strict=True):
            if cell:
                if cell not in ("K", "C"):
                    raise ValueError(f"line {number}: option code {cell!r} is not K or C")
                opts[option] = cell
        tag = _parse_tag(tag_text)
        rule = Rule(tag_text, name, retired == "Y", basic, opts, tag)
        rules.append(rule)
        if tag is not None:
            if tag in exact:
                raise ValueError(f"line {number}: {tag_text} repeats")
            exact[tag] = rule
        else:
            masked[tag_text.lower()] = rule
    return ProfileTable(edition, tuple(rules), exact, masked.get("(50xx,xxxx)"),
                        masked.get("(60xx,3000)"), masked.get("(60xx,4000)"),
                        masked.get("(gggg,eeee)"))


@functools.cache
def _shipped_table() -> ProfileTable:
    return _parse_table(_read(None, f"confidentiality-profile-{DEFAULT_EDITION}.tsv"),
                        DEFAULT_EDITION)


def load_table(path: str | Path | None = None, *, edition: str | None = None) -> ProfileTable:
    """Table E.1-1: the shipped edition, or the file at ``path`` (same 14 columns).

    ``edition`` names the edition of a file (recorded in DeidentificationMethod and in
    audit records); by default it is taken from a name like ``…-2027a.tsv``, else the
    file's stem.
    """
    if path is None:
        return _shipped_table()
    path = Path(path)
    if edition is None:
        m = re.search(r"(\d{4}[a-e])", path.stem)
        edition = m.group(1) if m else path.stem
    return _parse_table(_read(path, ""), edition)


@dataclass(frozen=True)
class SafePrivateList:
    """Private data elements known not to identify anyone: ``(creator, group, element
    byte)`` triples (the block byte of the element is irrelevant)."""

    entries: frozenset[tuple[str, int, int]]
    creators: frozenset[tuple[str, int]]

    def is_safe(self, creator: str, tag: int) -> bool:
        return (creator, tag >> 16, tag & 0xFF) in self.entries

    def extended(self, more: Iterable[tuple[str, int, int]]) -> SafePrivateList:
        entries = self.entries | frozenset(more)
        return SafePrivateList(entries, frozenset((c, g) for c, g, _ in entries))


def parse_safe_private(text: str) -> SafePrivateList:
    entries = set()
    for line in text.splitlines()[1:]:
        if not line.strip():
            continue
        tag_text, creator = line.split("\t")[:2]
        m = re.match(r"^\(([0-9A-Fa-f]{4}),xx([0-9A-Fa-f]{2})\)$", tag_text)
        if m is None:
            raise ValueError(f"bad safe private tag {tag_text!r}")
        entries.add((creator.strip(), int(m.group(1), 16), int(m.group(2), 16)))
    return SafePrivateList(frozenset(entries), frozenset((c, g) for c, g, _ in entries))


@functools.cache
def load_safe_private(path: str | Path | None = None) -> SafePrivateList:
    """PS3.15 Table E.3.10-1 (shipped, 2026d), or a file of the same two columns
    (``tag`` as ``(GGGG,xxEE)``, ``private_creator``)."""
    return parse_safe_private(_read(Path(path) if path else None,
                                    f"safe-private-{DEFAULT_EDITION}.tsv"))


@functools.cache
def load_iod_types() -> tuple[frozenset[str], Mapping[str, Mapping[int, str]]]:
    """(SOP classes whose IOD is known, SOP class → {tag: "1" or "2"}) for the
    compound-code attributes; see ``scripts/derive_iod_types.py``."""
    known: set[str] = set()
    types: dict[str, dict[int, str]] = {}
    for line in _read(None, "iod-types.tsv").splitlines()[1:]:
        uid, tag_text, kind = line.split("\t")
        if tag_text == "*":
            known.add(uid)
            continue
        tag = _parse_tag(tag_text)
        if tag is not None:
            types.setdefault(uid, {})[tag] = kind
    return frozenset(known), types
