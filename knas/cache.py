"""The on-disk score store: one diskcache entry per (proxy, settings, data, cell, code version).

diskcache keeps entries in SQLite, so several worker processes can write at once, and with
eviction disabled nothing is ever dropped silently. Keys are plain strings (readable, stable
across Python versions); values are floats.
"""
from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def default_root() -> Path:
    """Where runtime data lives: ``$KNAS_CACHE_DIR`` if set, else ``<repo>/cache``."""
    return Path(os.environ.get("KNAS_CACHE_DIR") or REPO / "cache")


def default_dir() -> Path:
    """The score store: ``<root>/scores``."""
    return default_root() / "scores"


class ScoreCache:
    def __init__(self, directory=None):
        import diskcache

        self.directory = Path(directory) if directory else default_dir()
        self._store = diskcache.Cache(str(self.directory), eviction_policy="none")

    def get(self, key: str):
        return self._store.get(key)

    def set(self, key: str, value: float) -> None:
        self._store.set(key, float(value))

    def __contains__(self, key: str) -> bool:
        return key in self._store

    def __len__(self) -> int:
        return len(self._store)

    def size_bytes(self) -> int:
        return self._store.volume()

    def clear(self) -> int:
        return self._store.clear()

    def close(self) -> None:
        self._store.close()
