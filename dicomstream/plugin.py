"""The public plugin API: entry-point groups, discovery and URL dispatch.

A plugin is a distribution that publishes objects under these entry-point groups:

* ``dicomstream.stages`` — a :class:`~dicomstream.stages.Stage` subclass, by stage name;
* ``dicomstream.sources`` — by URL scheme: a callable ``(url, **options) -> Source``;
* ``dicomstream.sinks`` — by URL scheme: a callable ``(url, **options) -> Sink``;
* ``dicomstream.commands`` — a :class:`~dicomstream.cli.Command`.

Built-in stages and commands are published the same way by dicomstream itself.
Loading is lazy and failures are contained: :func:`discover` reports a plugin that does
not import as a :class:`PluginInfo` with ``error`` set, and the others still load.
"""

from __future__ import annotations

__all__ = (
    "COMMANDS",
    "GROUPS",
    "SINKS",
    "SOURCES",
    "STAGES",
    "PluginInfo",
    "discover",
    "list_source_urls",
    "load",
    "open_sink_url",
    "open_source_url",
    "url_scheme",
)

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from importlib.metadata import EntryPoint

from dicomstream.errors import PluginError

STAGES = "dicomstream.stages"
SOURCES = "dicomstream.sources"
SINKS = "dicomstream.sinks"
COMMANDS = "dicomstream.commands"
GROUPS = (STAGES, SOURCES, SINKS, COMMANDS)

@dataclass(frozen=True)
class PluginInfo:
    """One entry point, and whether it loads.

    Attributes:
        group: the entry-point group.
        name: the stage name, URL scheme or command name.
        value: ``module:attribute``.
        distribution: the distribution that publishes it.
        version: that distribution's version.
        error: why it failed to load, or ``None``.
    """

    group: str
    name: str
    value: str
    distribution: str
    version: str
    error: str | None = None


@functools.cache
def _entry_points(group: str) -> tuple[EntryPoint, ...]:
    """Installed entry points of ``group``, scanned once per process (a scan reads every
    installed distribution's metadata: ~15 ms; importing importlib.metadata another ~15 ms,
    so it happens here, only when a plugin is looked for)."""
    from importlib.metadata import entry_points

    return tuple(sorted(entry_points(group=group), key=lambda ep: ep.name))


def discover(groups: tuple[str, ...] = GROUPS, *, try_load: bool = True) -> list[PluginInfo]:
    """Every installed entry point of ``groups``, loaded to check it works."""
    found: list[PluginInfo] = []
    for group in groups:
        for ep in _entry_points(group):
            dist = ep.dist
            error = None
            if try_load:
                try:
                    ep.load()
                except Exception as exc:  # report, never fail the others
                    error = f"{type(exc).__name__}: {exc}"
            found.append(PluginInfo(
                group=group, name=ep.name, value=ep.value,
                distribution=dist.name if dist is not None else "?",
                version=dist.version if dist is not None else "?", error=error))
    return found


def load(group: str, name: str) -> Any:
    """The object published as ``name`` in ``group``."""
    matches = [ep for ep in _entry_points(group) if ep.name == name]
    if not matches:
        known = ", ".join(sorted({ep.name for ep in _entry_points(group)})) or "none"
        raise PluginError(f"no {group} plugin named {name!r} (installed: {known})")
    try:
        return matches[0].load()
    except Exception as exc:
        raise PluginError(f"plugin {name!r} ({matches[0].value}) failed to load: "
                          f"{type(exc).__name__}: {exc}") from exc


def url_scheme(text: str) -> str | None:
    """The scheme of a URL such as ``s3://bucket/key``; ``None`` for plain paths."""
    scheme, sep, _ = text.partition("://")
    # RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) — checked without ``re``,
    # which this module would otherwise compile at import, on every CLI start.
    if not sep or not scheme.isascii() or not scheme[:1].isalpha() \
            or not scheme.replace("+", "").replace("-", "").replace(".", "").isalnum():
        return None
    return scheme.lower()


def open_source_url(url: str, **options: Any) -> Any | None:
    """A source for ``url`` from the plugin registered for its scheme; ``None`` for
    plain paths (``file://`` URLs are plain paths)."""
    scheme = url_scheme(url)
    if scheme is None:
        return None
    if scheme == "file":
        from dicomstream.io import FileSource

        return FileSource(url[len("file://"):])
    return load(SOURCES, scheme)(url, **options)


async def list_source_urls(prefix: str, **options: Any) -> AsyncIterator[str]:
    """Every object URL under ``prefix``, from the source plugin of its scheme.

    A source plugin that can list exposes ``list_urls(prefix, **options)`` — an async
    iterator of URLs — as an attribute of its entry-point object.
    """
    scheme = url_scheme(prefix)
    if scheme is None:
        raise PluginError(f"not a URL: {prefix!r}")
    factory = load(SOURCES, scheme)
    lister = getattr(factory, "list_urls", None)
    if lister is None:
        raise PluginError(f"the {scheme}:// source plugin cannot list {prefix!r}")
    async for url in lister(prefix, **options):
        yield url


def open_sink_url(url: str, **options: Any) -> Any | None:
    """A sink for ``url`` from the plugin registered for its scheme; ``None`` for plain
    paths."""
    scheme = url_scheme(url)
    if scheme is None:
        return None
    if scheme == "file":
        from dicomstream.io import FileSink

        return FileSink(url[len("file://"):], make_parents=True)
    return load(SINKS, scheme)(url, **options)
