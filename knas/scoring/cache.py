"""The on-disk score store and the format of its keys.

One diskcache entry per (code version, proxy, settings, data batch, cell). diskcache keeps
entries in SQLite, so several worker processes can write at once, and with eviction disabled
nothing is ever dropped silently. Keys are plain strings (readable, stable across Python
versions), written and parsed only by ``ScoreKey``; values are floats, never pickles
(``knas.stores`` opens the store, checks it and refuses pickled entries). Torch-free.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from knas import paths, proxies, stores

# Bump when a proxy's computation changes, so old cached scores are not reused.
CODE_VERSION = 1


@dataclass(frozen=True)
class ScoreKey:
    """``v<code>|<proxy>|<settings digest>|<dataset:batch digest>|<cell>``. The cell is
    ``SearchSpace.cell_key``: the space's cache id and the canonical form for proxies that share
    scores between cells of the same function, the exact arch string for the others
    (NAS-Bench-201's cells carry no space prefix, as before spaces were a setting)."""
    proxy: str
    settings: str
    batch: str
    cell: str
    version: int = CODE_VERSION

    @classmethod
    def of(cls, space, proxy: str, arch, batch_digest: str, settings_digest: str) -> "ScoreKey":
        return cls(proxy, settings_digest, batch_digest,
                   space.cell_key(arch, shared=proxies.info(proxy).dedup))

    @classmethod
    def parse(cls, text: str) -> "ScoreKey | None":
        """The key's parts, or None for a string that is not a score key."""
        parts = text.split("|", 4) if isinstance(text, str) else []
        if len(parts) != 5 or not parts[0].startswith("v") or not parts[0][1:].isdigit():
            return None
        version, proxy, settings, batch, cell = parts
        return cls(proxy, settings, batch, cell, int(version[1:]))

    @property
    def text(self) -> str:
        return f"v{self.version}|{self.proxy}|{self.settings}|{self.batch}|{self.cell}"

    @property
    def dataset(self) -> str:
        return self.batch.split(":", 1)[0]


class ScoreCache:
    def __init__(self, directory=None):
        self.directory = Path(directory) if directory else paths.scores_dir()
        self._store = stores.open_store(self.directory, "score cache")

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


def cached_scores(space, arch, directory=None, limit: int = 50, scan: int = 500_000) -> list[dict]:
    """Scores the store holds for this cell of a space (any proxy, settings or data), read
    without torch: entries whose key names the cell's canonical form or its arch string. At most
    ``limit`` entries, looking at no more than ``scan`` keys."""
    ops = space.validate(arch)
    directory = Path(directory) if directory else paths.scores_dir()
    if not (directory / stores.DB_NAME).is_file():
        return []
    cells = {space.cell_key(ops, shared=True), space.cell_key(ops, shared=False)}
    ends = tuple("|" + cell for cell in cells)
    rows = []
    store = stores.open_store(directory, "score cache")
    try:
        for seen, text in enumerate(store.iterkeys()):
            if seen >= scan or len(rows) >= limit:
                break
            if not isinstance(text, str) or not text.endswith(ends):
                continue
            key = ScoreKey.parse(text)
            if key is None or key.cell not in cells:
                continue  # a longer canonical form that merely ends like ours
            rows.append({"proxy": key.proxy, "dataset": key.dataset, "value": store.get(text),
                         "settings": key.settings, "batch": key.batch, "code": f"v{key.version}"})
    finally:
        store.close()
    return rows
