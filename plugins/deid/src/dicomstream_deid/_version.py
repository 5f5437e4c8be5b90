"""The distribution's version (one place, read by the package and the stage)."""

from __future__ import annotations

__version__ = "0.1.0"
