"""The de-identification configuration, and the per-SOP-Class plans built from it.

A :class:`DeidConfig` is immutable and shared by every stage of a bulk run (one stage
instance per file); it owns the :class:`~dicomstream_deid._hashing.Keyring` and caches one
:class:`Plan` per SOP Class: dicts from tag to action, resolved once, so the per-element
work of the stage is one dict lookup.
"""

from __future__ import annotations

__all__ = ("BURNED_IN_POLICIES", "Act", "DeidConfig", "Plan")

import dataclasses
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NamedTuple

from dicomstream_deid._actions import resolve_compound
from dicomstream_deid._hashing import Keyring
from dicomstream_deid._recipe import Recipe
from dicomstream_deid._table import (
    OPTIONS,
    ProfileTable,
    Rule,
    SafePrivateList,
    load_iod_types,
    load_safe_private,
    load_table,
    normalize_option,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from dicomstream_deid._audit import AuditSink

BURNED_IN_POLICIES = ("warn", "fail", "pass")

PATIENT_ID = 0x00100020
PATIENT_NAME = 0x00100010
PATIENT_AGE = 0x00101010

# Sequences whose codes give SR content (and similar trees) their structure: inside a
# dummy (D) sequence they are kept as they are, while the codes of other sequences (an
# Institution Code Sequence, a Person Identification Code Sequence) become dummies.
CONCEPT_SEQUENCES = frozenset({
    0x0040A043,  # Concept Name Code Sequence
    0x0040A168,  # Concept Code Sequence
    0x004008EA,  # Measurement Units Code Sequence
    0x0040A300,  # Measured Value Sequence
    0x0040A301,  # Numeric Value Qualifier Code Sequence
    0x00082218,  # Anatomic Region Sequence
    0x00082220,  # Anatomic Region Modifier Sequence
    0x0040A504,  # Content Template Sequence
})
CODE_TAGS = frozenset({
    0x00080100, 0x00080102, 0x00080103, 0x00080104, 0x00080105, 0x00080119,
    0x00080120, 0x00080122, 0x00080106, 0x00080107, 0x0040DB00,
})
"""Code Sequence Macro attributes: never "cleaned" of digits (a code is not a number
someone typed)."""


class Act(NamedTuple):
    """An action on one tag.

    Attributes:
        code: X Z D U C K, or R (recipe value), H (keyed hash), S (date shift),
            P (patient ID pseudonym), N (patient name pseudonym).
        source: where it came from, for audits: ``table:<code>``, ``option:<name>``,
            ``recipe:<file>``, ``pseudonym``.
        value: the replacement for R.
    """

    code: str
    source: str
    value: Any = None


_KEEP = Act("K", "table:K")


@dataclass(frozen=True)
class Plan:
    """The resolved actions for objects of one SOP Class.

    Attributes:
        top: actions at the top level of the dataset (compound codes resolved by the
            IOD's Types).
        nested: inside sequences (compound codes resolved conservatively).
        dummy: inside a sequence whose action is D (removals become dummies).
        record: inside the records of a DICOMDIR's Directory Record Sequence, whose keys
            are Type 1 or 2 there: Z becomes D and X becomes Z.
        curve, overlay_data, overlay_comments, private: the masked rows' actions.
        drop_overlays: the overlay groups (60xx) go whole (Overlay Data is removed, and
            an overlay without its data is no overlay).
    """

    sop_class: str
    top: dict[int, Act]
    nested: dict[int, Act]
    dummy: dict[int, Act]
    record: dict[int, Act]
    curve: Act
    overlay_data: Act
    overlay_comments: Act
    private: Act
    drop_overlays: bool
    iod_known: bool
    private_removal: Act = Act("X", "private")


@dataclass(frozen=True)
class DeidConfig:
    """Everything a de-identification run needs; shared by the stages of a bulk run.

    Args:
        key: the project secret (at least 16 bytes). The same key gives the same UIDs,
            pseudonyms and date offsets everywhere.
        options: option names (see :data:`~dicomstream_deid._table.OPTIONS`).
        recipe: overrides per tag, path or private creator.
        table: Table E.1-1 (default: the shipped 2026d edition).
        safe_private: the safe private list (default: PS3.15 Table E.3.10-1), extended by
            the recipe's ``safe_private``.
        pseudonyms: replace Patient ID / Patient's Name by keyed pseudonyms (else they
            follow the table: Z/D, Z).
        burned_in: ``warn``, ``fail`` or ``pass`` for objects likely to carry burned-in
            text.
        audit: where audit records go (``None``: nowhere).
        age: ``keep`` or ``round`` Patient's Age when retained (round: whole years,
            90 and over as ``090Y``).
    """

    key: bytes
    options: frozenset[str] = frozenset()
    recipe: Recipe = field(default_factory=Recipe)
    table: ProfileTable = field(default_factory=load_table)
    safe_private: SafePrivateList = field(default_factory=load_safe_private)
    pseudonyms: bool = True
    burned_in: str = "warn"
    audit: AuditSink | None = None
    age: str = "keep"
    keyring: Keyring = field(init=False, repr=False, compare=False)
    _plans: dict[str | None, Plan] = field(init=False, repr=False, compare=False)
    _cache: dict[Any, Any] = field(init=False, repr=False, compare=False)
    _lock: Any = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        options = frozenset(normalize_option(o) for o in (*self.options, *self.recipe.options))
        if {"retain-long-full-dates", "retain-long-modified-dates"} <= options:
            raise ValueError("retain-long-full-dates and retain-long-modified-dates "
                             "exclude each other")
        if self.burned_in not in BURNED_IN_POLICIES:
            raise ValueError(f"burned-in policy {self.burned_in!r} is not one of "
                             f"{', '.join(BURNED_IN_POLICIES)}")
        if self.age not in ("keep", "round"):
            raise ValueError(f"age policy {self.age!r} is not keep or round")
        object.__setattr__(self, "options", options)
        if self.recipe.safe_private:
            object.__setattr__(self, "safe_private",
                               self.safe_private.extended(self.recipe.safe_private))
        object.__setattr__(self, "keyring", Keyring(self.key))
        object.__setattr__(self, "_plans", {})
        object.__setattr__(self, "_cache", {})
        object.__setattr__(self, "_lock", threading.Lock())

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickle the settings, not the caches and locks (cluster runs ship the config
        to their workers, which rebuild plans and hashes — identical, being keyed)."""
        return (_rebuild, (self.key, self.options, self.recipe, self.table,
                           self.safe_private, self.pseudonyms, self.burned_in, self.audit,
                           self.age))

    @classmethod
    def create(cls, key: bytes, options: Iterable[str] = (), **kwargs: Any) -> DeidConfig:
        return cls(key=key, options=frozenset(options), **kwargs)

    @property
    def edition(self) -> str:
        return self.table.edition

    def ordered_options(self) -> list[str]:
        return [o for o in OPTIONS if o in self.options]

    @property
    def longitudinal(self) -> str:
        """Value of Longitudinal Temporal Information Modified (0028,0303)."""
        if "retain-long-full-dates" in self.options:
            return "UNMODIFIED"
        if "retain-long-modified-dates" in self.options:
            return "MODIFIED"
        return "REMOVED"

    def cached(self, key: Any, make: Any) -> Any:
        """``make()``, computed once per config and ``key`` (for what every object of a
        run shares, such as the elements the stage inserts)."""
        try:
            return self._cache[key]
        except KeyError:
            value = self._cache[key] = make()
            return value

    def plan(self, sop_class: str) -> Plan:
        """The plan for objects of ``sop_class`` (built once, then cached).

        SOP classes whose IOD the table does not know get the same actions, so they
        share one cached plan (handed out under their own UID): a stream of inputs with
        made-up SOP Class UIDs must not cost a plan of ~2,400 actions each, held for the
        whole run (a long fuzz run grew to 400,000 of them).
        """
        known, _ = load_iod_types()
        key = sop_class if sop_class in known else None
        plan = self._plans.get(key)
        if plan is None:
            with self._lock:
                plan = self._plans.get(key)
                if plan is None:
                    plan = self._build(sop_class)
                    self._plans[key] = plan
        if plan.sop_class != sop_class:
            plan = dataclasses.replace(plan, sop_class=sop_class)
        return plan

    def _act(self, rule: Rule, iod_type: str | None, *, top: bool) -> Act:
        code, option = rule.code_for(self.options)
        source = f"option:{option}" if option else f"table:{rule.basic}"
        code = resolve_compound(code, iod_type)
        if self.pseudonyms and code in ("Z", "D") and rule.tag in (PATIENT_ID, PATIENT_NAME):
            if rule.tag == PATIENT_ID:
                return Act("P", "pseudonym")
            if top:
                return Act("N", "pseudonym")
        return Act(code, source)

    def _build(self, sop_class: str) -> Plan:
        known, types = load_iod_types()
        iod_known = sop_class in known
        iod = types.get(sop_class, {})
        top: dict[int, Act] = {}
        nested: dict[int, Act] = {}
        dummy: dict[int, Act] = {}
        record: dict[int, Act] = {}
        for tag, rule in self.table.exact.items():
            iod_type = iod.get(tag, "3") if iod_known else None
            act = self._act(rule, iod_type, top=True)
            # A removal must not break the IOD: where the table removes or empties an
            # attribute this IOD requires (Type 1; Type 2 for a removal), a dummy or an
            # empty value takes its place -- the rule of the compound codes, applied to
            # the few simple codes that would otherwise break an IOD (Presentation
            # Creation Date/Time, Type 1 in presentation states, are X in the table).
            if iod_type == "1" and act.code in ("X", "Z"):
                act = Act("D", act.source + ">iod:1")
            elif iod_type == "2" and act.code == "X":
                act = Act("Z", act.source + ">iod:2")
            top[tag] = act
            inner = self._act(rule, None, top=False)
            nested[tag] = inner
            dummy[tag] = Act("D", inner.source) if inner.code == "X" else inner
            record[tag] = Act({"Z": "D", "X": "Z"}.get(inner.code, inner.code), inner.source,
                              inner.value)
        if self.age == "round":
            for acts in (top, nested, dummy, record):
                if acts[PATIENT_AGE].code == "K":
                    acts[PATIENT_AGE] = Act("A", acts[PATIENT_AGE].source + ">age:round")
        recipe = self.recipe
        for tag, rrule in recipe.tag_rules.items():
            act = Act(rrule.code, recipe.source, rrule.value)
            top[tag] = nested[tag] = dummy[tag] = record[tag] = act
        table = self.table

        def masked(rule: Rule | None) -> Act:
            if rule is None:
                return _KEEP
            return self._act(rule, None, top=False)

        overlay_data = masked(table.overlay_data)
        private = masked(table.private)
        return Plan(sop_class, top, nested, dummy, record, masked(table.curve), overlay_data,
                    masked(table.overlay_comments), private, overlay_data.code == "X",
                    iod_known, Act("X", "private:" + private.source))


def _rebuild(key: bytes, options: frozenset[str], recipe: Recipe, table: ProfileTable,
             safe_private: SafePrivateList, pseudonyms: bool, burned_in: str,
             audit: AuditSink | None, age: str) -> DeidConfig:
    return DeidConfig(key=key, options=options, recipe=recipe, table=table,
                      safe_private=safe_private, pseudonyms=pseudonyms, burned_in=burned_in,
                      audit=audit, age=age)
