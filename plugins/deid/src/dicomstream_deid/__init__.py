"""dicomstream-deid: DICOM PS3.15 de-identification as a dicomstream stage.

The Basic Application Level Confidentiality Profile of PS3.15 Annex E (Table E.1-1,
edition 2026d, shipped as data) and every one of its options, applied while events stream
past — at every depth of nested sequences, with consistent keyed UIDs, pseudonyms and date
offsets across files, batches and machines.

>>> from dicomstream_deid import DeidConfig, DeidStage
>>> config = DeidConfig.create(b"a project secret of 16+ bytes", ["retain-uids"])
>>> stage = DeidStage(config)                   # one per file; share the config

``dicomstream anonymize SRC DST`` is the command line; ``--stage deid`` works in
``dicomstream rewrite``.
"""

from __future__ import annotations

__all__ = (
    "OPTIONS",
    "AuditSink",
    "DeidConfig",
    "DeidStage",
    "JsonLinesAudit",
    "Keyring",
    "ListAudit",
    "ProfileTable",
    "Recipe",
    "__version__",
    "anonymize_file",
    "load_recipe",
    "load_safe_private",
    "load_table",
)

from typing import TYPE_CHECKING, Any

from dicomstream_deid._audit import AuditSink as AuditSink
from dicomstream_deid._audit import JsonLinesAudit as JsonLinesAudit
from dicomstream_deid._audit import ListAudit as ListAudit
from dicomstream_deid._hashing import Keyring as Keyring
from dicomstream_deid._profile import DeidConfig as DeidConfig
from dicomstream_deid._recipe import Recipe as Recipe
from dicomstream_deid._recipe import load_recipe as load_recipe
from dicomstream_deid._table import OPTIONS as OPTIONS
from dicomstream_deid._table import ProfileTable as ProfileTable
from dicomstream_deid._table import load_safe_private as load_safe_private
from dicomstream_deid._table import load_table as load_table
from dicomstream_deid._version import __version__ as __version__
from dicomstream_deid.stage import DeidStage as DeidStage

if TYPE_CHECKING:
    import os

    from dicomstream.pipeline import RewriteResult


async def anonymize_file(src: str | os.PathLike[str], dst: str | os.PathLike[str],
                         config: DeidConfig, **options: Any) -> RewriteResult:
    """De-identify the file ``src`` into ``dst`` (atomically); the result's ``details``
    hold the stage's report."""
    from dicomstream.pipeline import rewrite_file
    from dicomstream.stages import MetaStage

    return await rewrite_file(src, dst, stages=[DeidStage(config), MetaStage()], **options)
