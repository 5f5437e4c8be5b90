"""Recipes: a TOML file that overrides the profile per tag, tag path or private creator.

A site writes down what it does today (in CTP, pydicom/deid, …) and gets the same from
the stage; anything a recipe does not mention follows the profile and its options::

    [profile]
    options = ["retain-device-identity", "clean-descriptors"]   # added to --option
    safe_private = [{ creator = "ACME CT 1.0", group = "0029", element = "10" }]

    [[rule]]
    target = "StudyDescription"            # keyword, (gggg,eeee) or a tag path
    action = "keep"

    [[rule]]
    target = "PatientName"
    action = "replace"
    value = "TRIAL01^SUBJECT"

    [[rule]]
    target = "RequestAttributesSequence[*].RequestedProcedureID"
    action = "hash"

    [[rule]]
    private_creator = "SIEMENS CSA HEADER" # every element of that creator's blocks
    group = "0029"                         # optional
    action = "remove"

Actions: ``keep``, ``remove``, ``empty``, ``dummy``, ``replace`` (needs ``value``: text,
number or list), ``hash`` (a keyed pseudonym: the same input gives the same output in
every file; UIDs get their ``2.25`` form), ``shift`` (dates move by the patient's
offset), ``uid`` (same as ``hash`` for UIDs). A path rule beats a tag rule, which beats a
private creator rule, which beats the profile.
"""

from __future__ import annotations

__all__ = ("RECIPE_ACTIONS", "Recipe", "RecipeRule", "load_recipe", "parse_recipe")

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dicomstream.stages import TagPattern, parse_tag_path
from dicomstream_deid._table import normalize_option

RECIPE_ACTIONS = frozenset({"keep", "remove", "empty", "dummy", "replace", "hash", "shift",
                            "uid"})
ACTION_CODES = {"keep": "K", "remove": "X", "empty": "Z", "dummy": "D", "replace": "R",
                "hash": "H", "shift": "S", "uid": "U"}


@dataclass(frozen=True, slots=True)
class RecipeRule:
    """One ``[[rule]]``.

    Attributes:
        action: one of :data:`RECIPE_ACTIONS`.
        value: the replacement value (``replace`` only).
        target: the text of ``target`` or ``private_creator`` as written (for audits).
        pattern: the tag pattern (tag and path rules).
        creator, group, element: a private creator rule (group and element byte optional).
    """

    action: str
    value: Any = None
    target: str = ""
    pattern: TagPattern | None = None
    creator: str | None = None
    group: int | None = None
    element: int | None = None

    @property
    def code(self) -> str:
        return ACTION_CODES[self.action]


@dataclass(frozen=True)
class Recipe:
    """A parsed recipe (see the module docstring for the format)."""

    options: tuple[str, ...] = ()
    safe_private: tuple[tuple[str, int, int], ...] = ()
    tag_rules: dict[int, RecipeRule] = field(default_factory=dict)
    path_rules: tuple[RecipeRule, ...] = ()
    private_rules: tuple[RecipeRule, ...] = ()
    source: str = "recipe"

    @property
    def path_tags(self) -> frozenset[int]:
        return frozenset(r.pattern.tag for r in self.path_rules if r.pattern is not None)

    def private_rule(self, creator: str, tag: int) -> RecipeRule | None:
        """The most specific private creator rule for element ``tag`` of ``creator``."""
        best: RecipeRule | None = None
        best_score = -1
        for rule in self.private_rules:
            if rule.creator != creator:
                continue
            if rule.group is not None and rule.group != tag >> 16:
                continue
            if rule.element is not None and rule.element != tag & 0xFF:
                continue
            score = (rule.group is not None) + 2 * (rule.element is not None)
            if score > best_score:
                best, best_score = rule, score
        return best

    def keeps_creator(self, creator: str, group: int) -> bool:
        """Whether some rule may keep elements of ``creator`` in ``group``."""
        return any(r.creator == creator and r.group in (None, group) and
                   r.action != "remove" for r in self.private_rules)


def _hex(value: Any, what: str) -> int:
    if isinstance(value, int):
        return value
    try:
        return int(str(value), 16)
    except ValueError:
        raise ValueError(f"recipe: {what} {value!r} is not hexadecimal") from None


def parse_recipe(data: dict[str, Any], *, source: str = "recipe") -> Recipe:
    """A :class:`Recipe` from parsed TOML."""
    unknown = set(data) - {"profile", "rule"}
    if unknown:
        raise ValueError(f"recipe: unknown section(s) {sorted(unknown)}")
    profile = data.get("profile", {})
    options = tuple(normalize_option(o) for o in profile.get("options", []))
    safe = tuple((str(e["creator"]).strip(), _hex(e["group"], "group"),
                  _hex(e["element"], "element") & 0xFF)
                 for e in profile.get("safe_private", []))
    tag_rules: dict[int, RecipeRule] = {}
    path_rules: list[RecipeRule] = []
    private_rules: list[RecipeRule] = []
    for number, raw in enumerate(data.get("rule", []), start=1):
        action = str(raw.get("action", "")).lower()
        if action not in RECIPE_ACTIONS:
            raise ValueError(f"recipe rule {number}: action {raw.get('action')!r} is not one "
                             f"of {', '.join(sorted(RECIPE_ACTIONS))}")
        if action == "replace" and "value" not in raw:
            raise ValueError(f"recipe rule {number}: 'replace' needs a value")
        extra = set(raw) - {"action", "value", "target", "private_creator", "group",
                            "element"}
        if extra:
            raise ValueError(f"recipe rule {number}: unknown key(s) {sorted(extra)}")
        if "private_creator" in raw:
            creator = str(raw["private_creator"]).strip()
            group = _hex(raw["group"], "group") if "group" in raw else None
            if group is not None and not group & 1:
                raise ValueError(f"recipe rule {number}: group {raw['group']} is not private")
            element = _hex(raw["element"], "element") & 0xFF if "element" in raw else None
            private_rules.append(RecipeRule(action, raw.get("value"), creator, None,
                                            creator, group, element))
            continue
        if "target" not in raw:
            raise ValueError(f"recipe rule {number}: needs a target or a private_creator")
        target = str(raw["target"])
        try:
            pattern = parse_tag_path(target)
        except ValueError as exc:
            raise ValueError(f"recipe rule {number}: {exc}") from None
        rule = RecipeRule(action, raw.get("value"), target, pattern)
        if pattern.steps:
            path_rules.append(rule)
        else:
            tag_rules[pattern.tag] = rule
    return Recipe(options, safe, tag_rules, tuple(path_rules), tuple(private_rules), source)


def load_recipe(path: str | Path) -> Recipe:
    """Read and check a recipe file.

    Raises:
        ValueError: the file is not valid TOML or not a valid recipe (the message says
            where).
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ValueError(f"recipe {path}: {exc}") from None
    return parse_recipe(data, source=f"recipe:{path.name}")
