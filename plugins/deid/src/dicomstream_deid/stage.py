"""The ``deid`` stage: PS3.15 de-identification of one object, as its events stream past.

**Look-ahead.** Pseudonyms and date offsets depend on the patient (Patient ID, group
0010), and cleaning free text needs the identifying values of the header — but group
0008's dates and descriptions come first. So the stage holds events back until the top
level reaches the end of group 0010 (in practice a few hundred events), at most
:attr:`DeidStage.max_lookahead` events or :data:`MAX_LOOKAHEAD_BYTES` of values; then it
decides and lets everything through. Pixel data is never held: it comes long after.

**Per element** the work is one dict lookup in the :class:`~dicomstream_deid._profile.Plan`
of the object's SOP Class; values are decoded only for elements whose action needs them.

**Sequences.** X drops a sequence whole, Z keeps it without items. D keeps the items and
turns their content into dummies (removals become dummy values, free text becomes
``ANONYMIZED``; codes of concept sequences, numbers and structure stay), so SR content
trees and graphic annotations stay valid. C (Clean Structured Content, Clean Graphics,
…) keeps the items and cleans their free text. Every other sequence keeps its items and
its content follows the table, at every depth.
"""

from __future__ import annotations

__all__ = ("MAX_LOOKAHEAD_BYTES", "DeidStage")

from typing import TYPE_CHECKING, Any, ClassVar

from dicomstream.context import StreamContext
from dicomstream.dictionary import keyword_for_tag, vr_for_tag
from dicomstream.errors import StageError
from dicomstream.events import (
    DatasetEnd,
    DatasetStart,
    Element,
    FragmentsEnd,
    FragmentsStart,
    Preamble,
    SequenceEnd,
    SequenceStart,
    ValueChunk,
    ValueEnd,
    ValueStart,
)
from dicomstream.stages import SyncStage
from dicomstream.tags import format_path, format_tag
from dicomstream.values import CUSTOMIZABLE_VRS, CharacterSet
from dicomstream_deid._actions import FREE_TEXT_VRS, Cleaner
from dicomstream_deid._inserts import profile_elements
from dicomstream_deid._keys import key_from_environment
from dicomstream_deid._profile import CODE_TAGS, CONCEPT_SEQUENCES, Act, DeidConfig, Plan
from dicomstream_deid._transform import ZERO_PREAMBLE, ValueOps, preamble_kind

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dicomstream.events import Event
    from dicomstream.tags import TagPath

MAX_LOOKAHEAD_BYTES = 8 * 1024 * 1024
"""Value bytes held back at most while looking ahead (a header is kilobytes)."""

_SOP_CLASS, _SOP_INSTANCE = 0x00080016, 0x00080018
_CHARSET = 0x00080005
_PATIENT_NAME, _PATIENT_ID = 0x00100010, 0x00100020
_BURNED_IN = 0x00280301
_LAST_HELD = 0x0010FFFF

_BURNED_IN_CLASSES = frozenset({
    "1.2.840.10008.5.1.4.1.1.7", "1.2.840.10008.5.1.4.1.1.7.1",
    "1.2.840.10008.5.1.4.1.1.7.2", "1.2.840.10008.5.1.4.1.1.7.3",
    "1.2.840.10008.5.1.4.1.1.7.4",  # secondary capture
    "1.2.840.10008.5.1.4.1.1.6", "1.2.840.10008.5.1.4.1.1.6.1",
    "1.2.840.10008.5.1.4.1.1.6.2", "1.2.840.10008.5.1.4.1.1.6.3",
    "1.2.840.10008.5.1.4.1.1.3", "1.2.840.10008.5.1.4.1.1.3.1",  # ultrasound
})
_UTF8 = CharacterSet.from_terms(["ISO_IR 192"])
_DATE_VRS = frozenset({"DA", "DT", "TM"})

# kinds of level
_TOP, _NESTED, _DUMMY, _CLEAN, _RECORD = 0, 1, 2, 3, 4
_DIRECTORY_RECORDS = 0x00041220
_CONTAINER_STARTS = (Element, SequenceStart, ValueStart, FragmentsStart)


class DeidStage(SyncStage):
    """De-identify one object (a fresh instance per stream; share the config).

    Args:
        config: a :class:`~dicomstream_deid.DeidConfig` (shared by all the stages of a
            run; it caches plans and hashes). Or give its arguments as keywords:
            ``DeidStage(key=b"…", options={"retain-uids"})``.
    """

    name: ClassVar[str] = "deid"
    max_lookahead: ClassVar[int] = 4096

    def __init__(self, config: DeidConfig | None = None, **kwargs: Any) -> None:
        if config is None:
            if "key" not in kwargs:
                key = key_from_environment()
                if key is None:
                    raise StageError("deid needs a key: pass key=…, or set "
                                     "DICOMSTREAM_DEID_KEY or DICOMSTREAM_DEID_KEY_FILE")
                kwargs["key"] = key
            config = DeidConfig.create(**kwargs)
        elif kwargs:
            raise TypeError("give a config or its arguments, not both")
        self.config = config
        self._ctx = StreamContext()
        self._held: list[Event] | None = []
        self._held_bytes = 0
        self._in_dataset = False
        self._scan_in_dataset = False
        self._head: dict[int, bytes] = {}
        self._plan: Plan | None = None
        self._ops: ValueOps | None = None
        self._patient_key = ""
        self._write_charset: CharacterSet | None = None
        self._levels: list[tuple[Mapping[int, Act], int]] = []
        self._skip = 0
        self._skip_keep_end = False
        self._skip_value = False
        self._pending: list[tuple[int, list[Event]]] = []
        self._counts: dict[str, int] = {}
        self._records: list[dict[str, Any]] = []
        self._audit = config.audit is not None
        self._learn = bool(config.options & {"clean-descriptors", "clean-structured-content",
                                             "clean-graphics",
                                             "retain-patient-characteristics"})
        self._cleaner = Cleaner()
        self._burned_in_value: str | None = None
        self._burned_in: str | None = None
        self._new_sop_instance = ""
        self._warnings: list[str] = []
        self._lookahead_used = 0
        self._preamble: str | None = None

    @classmethod
    def from_cli(cls, options: Mapping[str, str]) -> DeidStage:
        """``--stage deid:option=retain-uids;clean-descriptors,recipe=r.toml,
        key_file=k.bin,burned_in=fail`` (key from the environment when not given).

        The configuration is built once per distinct set of options and shared by the
        stages of every input (a bulk run calls this once per input)."""
        from dicomstream_deid._keys import config_from_cli

        return cls(config_from_cli(options))

    # -- look-ahead --------------------------------------------------------------------

    def transform(self, batch: list[Event]) -> list[Event]:
        out: list[Event] = []
        held = self._held
        if held is None:
            self._run(batch, out)
            return out
        for i, ev in enumerate(batch):
            cls = type(ev)
            if cls is DatasetStart:
                self._scan_in_dataset = True
            elif self._scan_in_dataset and cls in _CONTAINER_STARTS and \
                    not ev.path:  # type: ignore[attr-defined]
                tag = ev.tag  # type: ignore[attr-defined]
                if tag > _LAST_HELD:
                    held.extend(batch[:i])
                    self._release(out)
                    self._run(batch[i:], out)
                    return out
                if cls is Element and tag in (_SOP_CLASS, _PATIENT_ID, _PATIENT_NAME,
                                              _CHARSET):
                    self._head[tag] = bytes(ev.value)  # type: ignore[attr-defined]
            if cls is ValueChunk:
                self._held_bytes += len(ev.data)  # type: ignore[attr-defined]
            if cls is DatasetEnd or len(held) + i + 1 >= self.max_lookahead or \
                    self._held_bytes >= MAX_LOOKAHEAD_BYTES:
                held.extend(batch[:i + 1])
                if cls is not DatasetEnd:
                    self._warnings.append("look-ahead bound reached before the end of "
                                          "group 0010")
                self._release(out)
                self._run(batch[i + 1:], out)
                return out
        held.extend(batch)
        return out

    def finish(self) -> list[Event]:
        out: list[Event] = []
        if self._held is not None:
            self._release(out)
        return out

    def _head_text(self, tag: int, charset: CharacterSet) -> str:
        raw = self._head.get(tag)
        if not raw:
            return ""
        vr = "PN" if tag == _PATIENT_NAME else "LO"
        return charset.decode(raw, vr).strip(" \0")

    def _release(self, out: list[Event]) -> None:
        held = self._held or []
        self._held = None
        self._lookahead_used = len(held)
        config = self.config
        charset = CharacterSet.from_raw(self._head.get(_CHARSET))
        sop_class = (self._head.get(_SOP_CLASS) or b"").decode("latin-1").strip(" \0")
        plan = config.plan(sop_class)
        self._plan = plan
        self._levels = [(plan.top, _TOP)]
        pid = self._head_text(_PATIENT_ID, charset)
        self._patient_key = pid or self._head_text(_PATIENT_NAME, charset)
        if not pid:
            self._warnings.append("no Patient ID: pseudonyms and date offset keyed on "
                                  "the patient's name" if self._patient_key else
                                  "no Patient ID or name: shared pseudonym and offset")
        self._ops = ValueOps(config.keyring, date_offset=config.keyring.date_offset(
            self._patient_key), cleaner=self._cleaner, age=config.age)
        if self._learn:
            self._learn_head(held, plan)
        self._write_charset = self._choose_charset(charset)
        utf8 = self._write_charset is not None
        self._pending = list(config.cached(("inserts", utf8),
                                           lambda: profile_elements(config, utf8=utf8)))
        self._run(held, out)

    def _learn_head(self, held: list[Event], plan: Plan) -> None:
        """Teach the cleaner every identifying text value of the held header."""
        ctx = StreamContext()
        top = plan.top
        for ev in held:
            ctx.feed(ev)
            if isinstance(ev, Element) and ev.vr in FREE_TEXT_VRS:
                act = top.get(ev.tag)
                if act is not None and act.code not in ("K", "C"):
                    self._cleaner.add(ctx.charset.decode(bytes(ev.value), ev.vr),
                                      person_name=ev.vr == "PN")

    def _choose_charset(self, charset: CharacterSet) -> CharacterSet | None:
        """UTF-8 when a recipe value cannot be written in the dataset's character set."""
        texts: list[str] = []
        for rule in (*self.config.recipe.tag_rules.values(), *self.config.recipe.path_rules):
            if rule.action == "replace":
                values = rule.value if isinstance(rule.value, list) else [rule.value]
                texts.extend(v for v in values if isinstance(v, str) and not v.isascii())
        if all(charset.can_encode(t, "PN") for t in texts):
            return None
        self._warnings.append("Specific Character Set changed to ISO_IR 192 for recipe "
                              "values")
        return _UTF8

    # -- the engine --------------------------------------------------------------------

    def _run(self, events: list[Event], out: list[Event]) -> None:  # noqa: C901
        ctx = self._ctx
        feed = ctx.feed
        plan = self._plan
        assert plan is not None
        levels = self._levels
        recipe = self.config.recipe
        path_tags = recipe.path_tags if recipe.path_rules else None
        transcode = self._write_charset is not None
        audit = self._audit
        learn = self._learn
        counts = self._counts
        for ev in events:
            cls = type(ev)
            if self._skip:
                if cls is SequenceStart or cls is FragmentsStart:
                    self._skip += 1
                elif cls is SequenceEnd or cls is FragmentsEnd:
                    self._skip -= 1
                    if not self._skip and self._skip_keep_end:
                        feed(ev)
                        out.append(ev)
                continue
            if self._skip_value:
                if cls is ValueEnd:
                    self._skip_value = False
                continue
            if cls is Element or cls is SequenceStart or cls is ValueStart or \
                    cls is FragmentsStart:
                tag: int = ev.tag  # type: ignore[attr-defined]
                path: TagPath = ev.path  # type: ignore[attr-defined]
                if not path and self._in_dataset:
                    if self._pending and self._pending[0][0] <= tag:
                        if self._flush_pending(out, tag):
                            if cls is Element:
                                feed(ev)  # the input's charset still reads the input
                            self._drop(ev, cls)
                            continue
                    if tag >= _BURNED_IN and self._burned_in is None:
                        if tag == _BURNED_IN and cls is Element:
                            self._burned_in_value = bytes(
                                ev.value).decode("latin-1").strip(" \0")  # type: ignore[attr-defined]
                        else:
                            self._check_burned_in()
                table, kind = levels[-1]
                act = table.get(tag)
                if path_tags is not None and tag in path_tags:
                    for rule in recipe.path_rules:
                        if rule.pattern is not None and rule.pattern.matches(tag, path):
                            act = Act(rule.code, recipe.source, rule.value)
                            break
                if act is None:
                    group = tag >> 16
                    # The common case: an even group, no group length, no curve or
                    # overlay, at a level where unlisted elements are simply kept.
                    if not (group & 1 or not tag & 0xFFFF or 0x5000 <= group <= 0x601E or
                            kind == _DUMMY or kind == _CLEAN):
                        act = None
                    else:
                        act = self._unlisted(ev, tag, kind, plan)
                    if act is None:  # kept as it is
                        if cls is not Element or tag == _CHARSET or group & 1:
                            feed(ev)  # elements matter to the context as charsets/creators
                        if cls is SequenceStart:
                            levels.append(self._child_level(kind, tag, "K"))
                        elif transcode and cls is Element and (
                                ev.vr in CUSTOMIZABLE_VRS  # type: ignore[attr-defined]
                                or tag == _CHARSET):
                            ev = self._transcode(ev)  # type: ignore[arg-type]
                        out.append(ev)
                        continue
                if cls is Element:
                    if tag >> 16 & 1 or tag == _CHARSET:
                        feed(ev)  # private creators and charsets matter even if dropped
                    if act.code == "X" and not audit and not (
                            learn and ev.vr in FREE_TEXT_VRS):  # type: ignore[attr-defined]
                        counts["X"] = counts.get("X", 0) + 1  # the common removal
                        continue
                elif act.code != "X":
                    feed(ev)  # (not a sequence that goes: its end is never fed either)
                self._apply(ev, cls, tag, path, act, kind, out)
            elif cls is SequenceEnd:
                feed(ev)
                levels.pop()
                out.append(ev)
            elif cls is DatasetStart:
                self._in_dataset = True
                feed(ev)
                out.append(ev)
            elif cls is DatasetEnd:
                if self._burned_in is None:
                    self._check_burned_in()
                self._flush_pending(out, None)
                out.append(ev)
                self._finish()
            elif cls is Preamble:
                out.append(self._clear_preamble(ev))  # type: ignore[arg-type]
            else:
                feed(ev)
                out.append(ev)

    def _clear_preamble(self, ev: Preamble) -> Preamble:
        """A non-zero preamble (an executable header, TIFF, anything) becomes zeros, and
        the audit says so (see :func:`~dicomstream_deid._transform.preamble_kind`)."""
        kind = preamble_kind(ev.preamble)
        if kind is None:
            return ev
        self._preamble = kind
        if self._audit:
            record: dict[str, Any] = {
                "path": "(preamble)", "tag": "(preamble)", "keyword": "Preamble",
                "vr": "OB", "action": "Z", "rule": f"preamble:{kind}",
                "edition": self.config.edition}
            audit = self.config.audit
            if audit is not None and audit.values:
                record["original"] = bytes(ev.preamble).hex()
                record["new"] = ZERO_PREAMBLE.hex()
            self._records.append(record)
        return Preamble(ZERO_PREAMBLE, ev.offset)

    def _child_level(self, kind: int, tag: int, code: str) -> tuple[Mapping[int, Act], int]:
        """The level the items of a kept sequence open: D and C sequences start dummy and
        clean levels, which their sub-sequences inherit (concept code sequences inside a
        dummy level are kept as they are); anything else nests normally."""
        plan = self._plan
        assert plan is not None
        if code == "D" or (kind == _DUMMY and tag not in CONCEPT_SEQUENCES):
            return plan.dummy, _DUMMY
        if code == "C" or kind == _CLEAN:
            return plan.nested, _CLEAN
        if tag == _DIRECTORY_RECORDS:
            return plan.record, _RECORD
        return plan.nested, _NESTED

    def _drop(self, ev: Event, cls: type) -> None:
        """Drop an event (and what it opens) without acting on it."""
        if cls is SequenceStart or cls is FragmentsStart:
            self._skip = 1
            self._skip_keep_end = False
        elif cls is ValueStart:
            self._skip_value = True

    def _flush_pending(self, out: list[Event], tag: int | None) -> bool:
        """Write the inserts due before ``tag``; True if one replaces ``tag`` itself."""
        pending = self._pending
        replaced = False
        while pending and (tag is None or pending[0][0] <= tag):
            ptag, events = pending.pop(0)
            out.extend(events)
            self._count("I")
            replaced = replaced or ptag == tag
        return replaced

    def _unlisted(self, ev: Event, tag: int, kind: int, plan: Plan) -> Act | None:
        """The action for an element the table does not list (None: keep)."""
        group = tag >> 16
        if group & 1:
            if group > 7 and group != 0xFFFF:
                return self._private(ev, tag, plan)
            # groups 0001, 0003, 0005, 0007 are not valid DICOM: whatever is in them
            # goes, as private data does
            return Act("X", "invalid-group") if group < 8 else None
        if not tag & 0xFFFF and group != 0x0002:
            return Act("X", "group-length")
        if 0x5000 <= group <= 0x601E:
            if group & 0xFF01 == 0x5000:
                return plan.curve
            if group & 0xFF01 == 0x6000:
                element = tag & 0xFFFF
                if element == 0x4000:
                    return plan.overlay_comments
                if plan.drop_overlays:
                    return Act("X", "overlay")
                if element == 0x3000:
                    return plan.overlay_data
        if kind == _DUMMY:
            if getattr(ev, "vr", "") in FREE_TEXT_VRS:
                return Act("D", "dummy-sequence")
        elif kind == _CLEAN:
            if getattr(ev, "vr", "") in FREE_TEXT_VRS and tag not in CODE_TAGS:
                return Act("C", "clean-sequence")
        return None

    def _private(self, ev: Event, tag: int, plan: Plan) -> Act | None:
        config = self.config
        recipe = config.recipe
        if plan.private.code == "X" and not recipe.private_rules:
            return plan.private_removal
        element = tag & 0xFFFF
        group = tag >> 16
        if 0x10 <= element <= 0xFF:  # a private creator
            if type(ev) is not Element:  # a sequence, fragments, a huge value: no creator
                return Act("X", "private:" + plan.private.source)
            creator = bytes(ev.value).decode("latin-1").strip(" \0")
            if recipe.keeps_creator(creator, group):
                return None
            if plan.private.code == "C" and (creator, group) in config.safe_private.creators:
                return None
            return Act("X", "private:" + plan.private.source)
        found = self._ctx.private_creator(tag)
        if found is None or element < 0x1000:
            return Act("X", "private:" + plan.private.source)
        creator = found
        rule = recipe.private_rule(creator, tag) if recipe.private_rules else None
        if rule is not None:
            return Act(rule.code, recipe.source, rule.value)
        if plan.private.code == "C" and config.safe_private.is_safe(creator, tag):
            if getattr(ev, "vr", "") == "UI" and "retain-uids" not in config.options:
                return Act("U", "safe-private")
            return Act("K", "safe-private")
        if plan.private.code == "K":
            return None
        return Act("X", "private:" + plan.private.source)

    def _apply(self, ev: Event, cls: type, tag: int, path: TagPath, act: Act, kind: int,
               out: list[Event]) -> None:
        code = act.code
        if cls is SequenceStart:
            if code == "X":
                self._skip, self._skip_keep_end = 1, False
            elif code == "Z":
                out.append(ev)
                self._skip, self._skip_keep_end = 1, True
            else:
                self._levels.append(self._child_level(kind, tag, code))
                out.append(ev)
                if code == "K":
                    if act.source.startswith(("safe-private", "recipe")):
                        self._record(tag, path, "SQ", act)
                    return
            self._record(tag, path, "SQ", act)
            return
        if cls is FragmentsStart:
            if code == "X":
                self._skip, self._skip_keep_end = 1, False
                self._record(tag, path, ev.vr, act)  # type: ignore[attr-defined]
            else:
                out.append(ev)
            return
        if cls is ValueStart:
            vr: str = ev.vr  # type: ignore[attr-defined]
            if code == "K":
                out.append(ev)
                return
            self._skip_value = True
            self._record(tag, path, vr, act)
            if code == "X":
                return
            raw = b"" if code == "Z" else self._ops.dummy(tag, vr,  # type: ignore[union-attr]
                                                          self._ctx.little_endian)
            out.append(Element(tag, vr, len(raw), raw, -1, path))
            return
        # a whole element
        assert isinstance(ev, Element)
        if ev.vr == "UN" and code != "K" and code != "X":
            real = vr_for_tag(tag).split(" or ")[0]
            if real not in ("UN", "SQ", "NONE"):  # act on (and write) the real VR
                ev = ev._replace(vr=real)
        if code == "K":
            if act.source != "table:K" and not act.source.startswith("option"):
                self._record(tag, path, ev.vr, act)
            if self._write_charset is not None and (ev.vr in CUSTOMIZABLE_VRS or
                                                    tag == _CHARSET):
                ev = self._transcode(ev)
            out.append(ev)
            if tag == _SOP_INSTANCE and not path:
                self._new_sop_instance = bytes(ev.value).decode("latin-1").strip(" \0")
            return
        if self._learn and ev.vr in FREE_TEXT_VRS and code != "C":
            self._cleaner.add(self._ctx.charset.decode(bytes(ev.value), ev.vr),
                              person_name=ev.vr == "PN")
        if code == "X":
            self._record(tag, path, ev.vr, act, ev)
            return
        raw = self._new_value(ev, tag, code, act)
        if raw is None:
            self._record(tag, path, ev.vr, act, ev)
            return
        new = ev._replace(value=raw, length=len(raw))
        out.append(new)
        if tag == _SOP_INSTANCE and not path:
            self._new_sop_instance = raw.decode("latin-1").strip(" \0")
        elif tag == _BURNED_IN and not path:
            self._burned_in_value = raw.decode("latin-1").strip(" \0")
        self._record(tag, path, ev.vr, act, ev, new)

    def _new_value(self, ev: Element, tag: int, code: str, act: Act) -> bytes | None:
        """The new raw value for ``code`` (None: remove the element)."""
        ops = self._ops
        assert ops is not None
        vr = ev.vr
        ctx = self._ctx
        read = ctx.charset
        write = self._write_charset or read
        if code == "Z":
            return b""
        if code == "U" or (code == "D" and vr == "UI"):
            return ops.remap_uids(ev.value) if vr == "UI" else ev.value
        if code == "D":
            return ops.dummy(tag, vr, ctx.little_endian)
        if code == "S" or (code == "C" and vr in _DATE_VRS):
            shifted = ops.shift(vr, ev.value)
            if shifted is None:  # never kept: it may be anything (a name, a UID…)
                self._warnings.append(f"{format_tag(tag)}: not a date, emptied")
                return b""
            return shifted
        if code == "C":
            if vr in FREE_TEXT_VRS:
                return ops.clean(vr, ev.value, read, write)
            if tag >> 16 & 0xFF01 in (0x5000, 0x6000) and "graphics kept" not in \
                    "".join(self._warnings):
                self._warnings.append("overlay/curve graphics kept as they are (Clean "
                                      "Graphics cannot clean bitmaps): review them")
            return ev.value
        if code == "P":
            key = self._patient_key if not ev.path else \
                ops.decode_text(vr, ev.value, read)
            return ops.encode_text(vr, self.config.keyring.patient_id(key), write)
        if code == "N":
            return ops.encode_text(vr, self.config.keyring.patient_name(self._patient_key),
                                   write)
        if code == "H":
            return ops.hashed(tag, vr, ev.value, read, write, ctx.little_endian)
        if code == "R":
            try:
                return ops.replace(vr, act.value, ctx.little_endian, write)
            except ValueError as exc:
                raise StageError(f"{format_tag(tag)}: {exc}") from None
        if code == "A":
            return ops.round_age(ev.value)
        raise StageError(f"{format_tag(tag)}: unknown action {code!r}")

    def _transcode(self, ev: Element) -> Element:
        if ev.tag == _CHARSET:
            raw = b"ISO_IR 192"
            return ev._replace(value=raw, length=len(raw))
        ops = self._ops
        assert ops is not None and self._write_charset is not None
        raw = ops.transcode(ev.vr, ev.value, self._ctx.charset, self._write_charset)
        return ev._replace(value=raw, length=len(raw))

    # -- bookkeeping -------------------------------------------------------------------

    def _count(self, code: str) -> None:
        self._counts[code] = self._counts.get(code, 0) + 1

    def _record(self, tag: int, path: TagPath, vr: str, act: Act,
                old: Element | None = None, new: Element | None = None) -> None:
        self._counts[act.code] = self._counts.get(act.code, 0) + 1
        if not self._audit:
            return
        record: dict[str, Any] = {
            "path": format_path(path, tag), "tag": format_tag(tag),
            "keyword": keyword_for_tag(tag), "vr": vr, "action": act.code,
            "rule": act.source, "edition": self.config.edition,
        }
        audit = self.config.audit
        if audit is not None and audit.values:
            charset = self._ctx.charset
            if old is not None and vr != "SQ":
                record["original"] = ValueOps.decode_text(vr, old.value, charset) \
                    if vr not in ("OB", "OW", "UN") else bytes(old.value).hex()
            if new is not None:
                record["new"] = ValueOps.decode_text(vr, new.value,
                                                     self._write_charset or charset)
        self._records.append(record)

    def _check_burned_in(self) -> None:
        plan = self._plan
        sop_class = plan.sop_class if plan is not None else ""
        value = (self._burned_in_value or "").upper()
        if value == "YES":
            self._burned_in = "yes"
        elif sop_class in _BURNED_IN_CLASSES and value != "NO":
            self._burned_in = "suspect"
        else:
            self._burned_in = "no"
            return
        if self.config.burned_in == "fail":
            why = "BurnedInAnnotation is YES" if self._burned_in == "yes" else \
                f"SOP Class {sop_class} often carries burned-in text"
            raise StageError(f"burned-in annotation: {why} (policy: fail)")

    def _finish(self) -> None:
        audit = self.config.audit
        if audit is not None and self._records:
            for record in self._records:
                record["sop_instance_uid"] = self._new_sop_instance
            audit.write(self._records)
            self._records = []

    def report(self) -> dict[str, Any]:
        """The per-file summary merged into the bulk report line (``"deid"``)."""
        plan = self._plan
        summary: dict[str, Any] = {
            "edition": self.config.edition,
            "options": self.config.ordered_options(),
            "sop_class": plan.sop_class if plan is not None else None,
            "iod_known": plan.iod_known if plan is not None else None,
            "sop_instance_uid": self._new_sop_instance,
            "actions": dict(sorted(self._counts.items())),
            "burned_in": self._burned_in,
            "burned_in_policy": self.config.burned_in,
            "lookahead_events": self._lookahead_used,
            "key": self.config.keyring.fingerprint(),
        }
        if self._preamble is not None:
            summary["preamble"] = f"zeroed ({self._preamble})"
        if self._warnings:
            summary["warnings"] = self._warnings
        return {"deid": summary}
