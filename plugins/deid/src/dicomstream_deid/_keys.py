"""Where the project key comes from: a key file, or the environment.

A key file holds the key's bytes (a trailing newline is ignored, so ``openssl rand -hex
32 > key`` works; hex text is used as text, which is fine: it is 64 bytes of secret).
``DICOMSTREAM_DEID_KEY`` holds the key itself (UTF-8); ``DICOMSTREAM_DEID_KEY_FILE``
names a key file. Keys shorter than 16 bytes are refused.
"""

from __future__ import annotations

__all__ = ("ENV_KEY", "ENV_KEY_FILE", "config_from_cli", "key_from_environment",
           "read_key_file")

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Mapping

    from dicomstream_deid._profile import DeidConfig

ENV_KEY = "DICOMSTREAM_DEID_KEY"
ENV_KEY_FILE = "DICOMSTREAM_DEID_KEY_FILE"


def read_key_file(path: str | os.PathLike[str]) -> bytes:
    """The key in ``path`` (without a trailing newline)."""
    data = Path(path).read_bytes()
    return data[:-1] if data.endswith(b"\n") else data


def key_from_environment() -> bytes | None:
    """The key from ``DICOMSTREAM_DEID_KEY`` or ``DICOMSTREAM_DEID_KEY_FILE``, if set."""
    value = os.environ.get(ENV_KEY)
    if value:
        return value.encode("utf-8")
    path = os.environ.get(ENV_KEY_FILE)
    if path:
        return read_key_file(path)
    return None


_CLI_OPTIONS = frozenset({"option", "options", "recipe", "key_file", "burned_in",
                          "random_key", "pseudonyms", "age"})
_cli_configs: dict[tuple[tuple[str, str], ...], DeidConfig] = {}
_cli_lock = threading.Lock()
_random_key: bytes | None = None


def _flag(value: str) -> bool:
    return value.strip().lower() in ("1", "true", "yes", "on")


def config_from_cli(options: Mapping[str, str]) -> DeidConfig:
    """The :class:`DeidConfig` for ``--stage deid:K=V,…`` options (one per distinct set
    of options in a process, so that every input of a run shares its caches — and, with
    ``random_key=1``, its key)."""
    global _random_key
    from dicomstream.errors import StageError
    from dicomstream_deid._profile import DeidConfig
    from dicomstream_deid._recipe import load_recipe

    unknown = set(options) - _CLI_OPTIONS
    if unknown:
        raise ValueError(f"deid: unknown option(s) {sorted(unknown)}; "
                         f"known: {sorted(_CLI_OPTIONS)}")
    cache_key = tuple(sorted(options.items()))
    with _cli_lock:
        config = _cli_configs.get(cache_key)
        if config is not None:
            return config
        kwargs: dict[str, Any] = {}
        names = (options.get("option", "") + ";" + options.get("options", "")).split(";")
        kwargs["options"] = frozenset(n.strip() for n in names if n.strip())
        if options.get("recipe"):
            kwargs["recipe"] = load_recipe(options["recipe"])
        if options.get("key_file"):
            kwargs["key"] = read_key_file(options["key_file"])
        elif _flag(options.get("random_key", "0")):
            if _random_key is None:
                _random_key = os.urandom(32)
            kwargs["key"] = _random_key
        else:
            key = key_from_environment()
            if key is None:
                raise StageError("deid needs a key: key_file=FILE, random_key=1, or set "
                                 f"{ENV_KEY} or {ENV_KEY_FILE}")
            kwargs["key"] = key
        for name in ("burned_in", "age"):
            if options.get(name):
                kwargs[name] = options[name]
        if "pseudonyms" in options:
            kwargs["pseudonyms"] = _flag(options["pseudonyms"])
        config = _cli_configs[cache_key] = DeidConfig.create(**kwargs)
        return config
