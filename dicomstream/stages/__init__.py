"""Transform stages: the :class:`Stage` base class and the built-in stages.

Built-ins are registered under the ``dicomstream.stages`` entry-point group like any
plugin's: ``edit``, ``filter``, ``transcode``, ``meta``, ``tap``.
"""

from __future__ import annotations

__all__ = (
    "Edit",
    "EditStage",
    "FilterStage",
    "MetaStage",
    "Stage",
    "SyncStage",
    "TagPattern",
    "TapStage",
    "TranscodeStage",
    "build_cli_stages",
    "is_sync_stage",
    "parse_tag_path",
)

from dicomstream.stages._base import Stage, SyncStage, is_sync_stage
from dicomstream.stages._cli import build_cli_stages
from dicomstream.stages._paths import TagPattern, parse_tag_path
from dicomstream.stages.edit import Edit, EditStage
from dicomstream.stages.filter import FilterStage
from dicomstream.stages.meta import MetaStage
from dicomstream.stages.tap import TapStage
from dicomstream.stages.transcode import TranscodeStage
