"""Stages from command-line options (``--set``, ``--delete``, ``--stage NAME:K=V,…``)."""

from __future__ import annotations

__all__ = ("build_cli_stages", "parse_stage_spec", "stage_from_spec")

from typing import TYPE_CHECKING, Any

from dicomstream.stages.edit import CliText, Edit, EditStage
from dicomstream.stages.filter import FilterStage
from dicomstream.stages.meta import MetaStage

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    from dicomstream.stages._base import Stage


def parse_stage_spec(spec: str) -> tuple[str, dict[str, str]]:
    """``name:key=value,key=value`` → ``("name", {"key": "value", …})``."""
    name, _, rest = spec.partition(":")
    options: dict[str, str] = {}
    for part in rest.split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep:
            raise ValueError(f"stage option {part!r} in {spec!r} is not KEY=VALUE")
        options[key.strip()] = value
    if not name.strip():
        raise ValueError(f"no stage name in {spec!r}")
    return name.strip(), options


def stage_from_spec(spec: str) -> Callable[[], Stage]:
    """A factory for the registered stage named in ``spec`` (checked now, built later)."""
    from dicomstream.plugin import STAGES, load

    name, options = parse_stage_spec(spec)
    cls: Any = load(STAGES, name)
    make = getattr(cls, "from_cli", None)

    def factory() -> Stage:
        stage: Stage = make(options) if make is not None else cls(**options)
        return stage

    factory()  # fail fast on bad options, before any input is touched
    return factory


def build_cli_stages(*, sets: Sequence[str] = (), deletes: Sequence[str] = (),
                     remove_private: bool = False, stop_before_pixels: bool = False,
                     stages: Sequence[str] = ()) -> Callable[[], list[Stage]] | None:
    """A factory of the stage list the options ask for; ``None`` when they ask for none."""
    edits: list[Edit] = []
    for item in sets:
        target, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"--set {item!r}: expected KEY=VALUE")
        edits.append(Edit.parse("set", target.strip(), CliText(value)))
    edits.extend(Edit.parse("delete", target.strip()) for target in deletes)
    factories = [stage_from_spec(spec) for spec in stages]
    # The file meta must follow an edited SOP Class/Instance UID. Inputs whose meta was
    # already inconsistent are left as they are unless the UIDs are edited.
    touches_sop_uids = any(e.pattern.tag in (0x00080016, 0x00080018) and not e.pattern.steps
                           for e in edits)
    if not edits and not remove_private and not stop_before_pixels and not factories:
        return None

    def build() -> list[Stage]:
        built: list[Stage] = []
        if edits:
            built.append(EditStage(edits))
        if remove_private or stop_before_pixels:
            built.append(FilterStage(remove_private=remove_private,
                                     stop_before_pixels=stop_before_pixels))
        built.extend(f() for f in factories)
        if touches_sop_uids:
            built.append(MetaStage())
        return built

    return build
