"""The sans-IO streaming encoder: events in, bytes out. No I/O and no async library here."""

from __future__ import annotations

__all__ = ("DEFAULT_MAX_BUFFER", "Encoder", "encode_events")

from dicomstream.encoder._encoder import DEFAULT_MAX_BUFFER, Encoder, encode_events
