"""The app's on-disk stores (jobs, scores): diskcache folders that never take the app down and
never run code from disk.

Values are JSON (numbers stay native SQLite numbers), never pickle: a pickled key or value in a
store is refused when read, so a planted pickle cannot run. Opening a store checks its file: an
empty ``cache.db`` that was once initialised, a file that is not SQLite, a failed
``PRAGMA quick_check``, or entries pickled by an older version. Such a file is moved aside (renamed
``cache.db.damaged-<time>`` or ``cache.db.pickled-<time>``, never deleted), a fresh store takes its
place, and ``notices()`` tells every page about it until the user removes the moved file. While a
store is in use, SQLite and disk errors become ``StoreError``s that name the file and what to do
(``StoreFull`` for a full disk). Torch-free.
"""
from __future__ import annotations

import contextlib
import errno
import json
import logging
import math
import os
import shutil
import sqlite3
import time
from pathlib import Path

import diskcache

from knas import paths
from knas.errors import KnasError

log = logging.getLogger(__name__)

DB_NAME = "cache.db"
MARKER = "knas-store.json"  # written once the folder holds an initialised JSON store
FORMAT = 1
MOVED = {"damaged": "damaged", "pickled": "holding pickled entries (an older version's format, or planted)"}
_FULL_ERRNOS = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class StoreError(KnasError):
    """A store that cannot be read or written; the message names its file and what to do."""


class StoreDamaged(StoreError):
    pass


class StoreFull(StoreError):
    pass


# --- values as JSON ------------------------------------------------------------------------------


class JSONValues(diskcache.Disk):
    """diskcache's serialisation without pickle: ints and finite floats as SQLite numbers (scores
    stay readable and fast), everything else as JSON, NaN and ±inf included. Reading a pickled
    value raises ``StoreError``; a pickled key reads back as ``REFUSED_KEY``."""

    def put(self, key):
        if type(key) not in (str, int, float, bytes):
            raise TypeError(f"store keys are text or numbers, got {type(key).__name__}")
        return super().put(key)

    def get(self, key, raw):
        return super().get(key, raw) if raw else REFUSED_KEY

    def store(self, value, read, key=diskcache.core.UNKNOWN):
        if read:
            raise TypeError("the stores keep JSON values, not files")
        if type(value) is int or (type(value) is float and math.isfinite(value)):
            return super().store(value, read, key)
        data = json.dumps(value, default=_plain, separators=(",", ":")).encode()
        return super().store(data, read, key)

    def fetch(self, mode, filename, value, read):
        if mode == diskcache.core.MODE_PICKLE:
            raise StoreError(f"{Path(self._directory) / DB_NAME} holds a pickled value, which this "
                             "version never writes (reading it could run code): it was tampered "
                             "with or written by an older version; move the file away")
        data = super().fetch(mode, filename, value, read)
        return json.loads(data) if isinstance(data, bytes) else data


class _Refused:
    def __repr__(self) -> str:
        return "<pickled key, not read>"


REFUSED_KEY = _Refused()


def _plain(value):
    """JSON for the numpy scalars and arrays that results carry."""
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"cannot store a {type(value).__name__} as JSON")


# --- a store in use ------------------------------------------------------------------------------


class Store:
    """A ``diskcache.Cache`` whose failures say which file failed and what to do."""

    def __init__(self, cache: diskcache.Cache, what: str):
        self.cache, self.what = cache, what
        self.directory = Path(cache.directory)
        self.path = self.directory / DB_NAME

    @contextlib.contextmanager
    def guard(self):
        """Turn SQLite and disk errors inside the block into ``StoreError``s."""
        try:
            yield
        except StoreError:
            raise
        except diskcache.Timeout as err:
            raise StoreError(f"the {self.what} {self.path} stayed locked by another process; "
                             "try again in a moment") from err
        except (sqlite3.DatabaseError, OSError) as err:
            raise problem(err, self.path, self.what) from err

    def get(self, key, default=None):
        with self.guard():
            return self.cache.get(key, default)

    def set(self, key, value) -> None:
        with self.guard():
            self.cache.set(key, value)

    def delete(self, key) -> None:
        with self.guard():
            self.cache.delete(key)

    @contextlib.contextmanager
    def transact(self):
        with self.guard(), self.cache.transact():
            yield

    def __contains__(self, key) -> bool:
        with self.guard():
            return key in self.cache

    def __len__(self) -> int:
        with self.guard():
            return len(self.cache)

    def iterkeys(self):
        with self.guard():
            yield from self.cache.iterkeys()

    def volume(self) -> int:
        with self.guard():
            return self.cache.volume()

    def clear(self) -> int:
        with self.guard():
            return self.cache.clear()

    def close(self) -> None:
        self.cache.close()


DAMAGE_SIGNS = ("file is not a database", "malformed", "no such table", "corrupt")


def problem(err: Exception, path: Path, what: str) -> StoreError:
    """The ``StoreError`` for an SQLite or disk error on a store's file: ``StoreDamaged`` only
    for what SQLite reports as a broken file, never for a full disk or a failing device."""
    text = str(err)
    if getattr(err, "errno", None) in _FULL_ERRNOS or "database or disk is full" in text \
            or ("disk I/O error" in text and _free_bytes(path) < 1 << 20):
        return StoreFull(f"no space left for the {what} {path}: free some disk space or move the "
                         "runtime folder elsewhere (KNAS_CACHE_DIR); what was saved before is kept")
    if "locked" in text or "busy" in text:
        return StoreError(f"the {what} {path} is locked by another process; try again in a moment")
    if isinstance(err, sqlite3.DatabaseError) and any(sign in text for sign in DAMAGE_SIGNS):
        _CHECKED.discard(_identity(path))  # the next open checks it again and moves it aside
        return StoreDamaged(f"the {what} {path} is damaged ({text}); it is moved aside and "
                            "replaced by a fresh one the next time it is opened, so run the "
                            "command or reload the page again")
    reason = getattr(err, "strerror", None) or text
    return StoreError(f"the {what} {path} cannot be used ({reason}): check that its folder exists, "
                      "is writable and its disk works, or move the runtime folder (KNAS_CACHE_DIR)")


def _free_bytes(path: Path) -> int:
    for folder in (path.parent, *path.parents):
        try:
            return shutil.disk_usage(folder).free
        except OSError:
            continue
    return 1 << 30


# --- opening -------------------------------------------------------------------------------------

_CHECKED: set = set()  # (path, inode) of store files that passed the checks in this process


def open_store(directory, what: str) -> Store:
    """Open (or create) the store in ``directory``; a damaged or pickled file is moved aside
    and replaced by a fresh store, with a warning in the log and a notice for the pages."""
    directory = Path(directory)
    db = directory / DB_NAME
    for _ in range(3):
        identity = _identity(db)
        reason = _empty_reason(directory, db)
        cache = None
        if reason is None:
            try:
                cache = diskcache.Cache(str(directory), eviction_policy="none", disk=JSONValues)
                reason = _check(db)
            except sqlite3.DatabaseError as err:
                error = problem(err, db, what)
                if not isinstance(error, StoreDamaged):
                    raise error from err
                reason = ("damaged", str(err))
            except OSError as err:
                raise problem(err, db, what) from err
        if reason is None:
            _mark(directory)
            return Store(cache, what)
        if cache is not None:
            cache.close()
        _move_aside(db, identity, what, *reason)
    raise StoreDamaged(f"the {what} in {directory} could not be opened even after moving its "
                       "damaged file aside; check that the folder is writable")


def _identity(db: Path):
    try:
        return str(db.resolve()), db.stat().st_ino
    except OSError:
        return None


def _empty_reason(directory: Path, db: Path):
    """A zero-byte database without a write-ahead log, in a folder that held an initialised store,
    was truncated (SQLite would silently open it as a new, empty store)."""
    try:
        empty = db.stat().st_size == 0
        wal = Path(f"{db}-wal")
        empty = empty and (not wal.exists() or wal.stat().st_size == 0)
    except OSError:
        return None
    if empty and (directory / MARKER).is_file():
        return ("damaged", "the file is empty (truncated)")
    return None


def _check(db: Path):
    """(kind, reason) when the file fails SQLite's quick check or holds pickled entries; once
    per file and process, since the check reads the whole file."""
    identity = _identity(db)
    if identity in _CHECKED:
        return None
    with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=60)) as con:
        rows = [row[0] for row in con.execute("PRAGMA quick_check").fetchall()]
        if rows != ["ok"]:
            return ("damaged", f"SQLite's integrity check failed: {'; '.join(map(str, rows[:3]))}")
        pickled = con.execute("SELECT COUNT(*) FROM Cache WHERE mode = ? OR raw = 0",
                              (diskcache.core.MODE_PICKLE,)).fetchone()[0]
    if pickled:
        entries = "1 pickled entry" if pickled == 1 else f"{pickled} pickled entries"
        why = f"{entries}, which this version never reads since reading them could run code"
        return ("pickled", why)
    _CHECKED.add(identity)
    return None


def _mark(directory: Path) -> None:
    marker = directory / MARKER
    if not marker.is_file():
        with contextlib.suppress(OSError):
            marker.write_text(json.dumps({"format": FORMAT}))


def _move_aside(db: Path, identity, what: str, kind: str, reason: str) -> None:
    """Rename the store's file (and its WAL files) with a timestamp; never delete it. Only the
    file that was checked: another process may have replaced it with a fresh store already."""
    stamp = time.strftime("%Y%m%d-%H%M%S")
    target = db.with_name(f"{DB_NAME}.{kind}-{stamp}")
    for n in range(1, 100):
        if not target.exists():
            break
        target = db.with_name(f"{DB_NAME}.{kind}-{stamp}-{n}")
    if identity is None or _identity(db) != identity:
        return  # another process moved it already
    try:
        os.replace(db, target)
    except FileNotFoundError:
        return
    except OSError as err:
        raise StoreError(f"the {what} {db} is {MOVED[kind]} ({reason}), and it could not be "
                         f"moved aside ({err.strerror}); move or delete it by hand") from err
    for suffix in ("-wal", "-shm"):  # a stale write-ahead log must never meet a fresh store
        with contextlib.suppress(OSError):
            os.replace(f"{db}{suffix}", f"{target}{suffix}")
    with contextlib.suppress(OSError):
        target.with_name(target.name + ".txt").write_text(reason + "\n")
    log.warning("The %s %s was %s (%s); it was moved to %s and a fresh store took its place.",
                what, db, MOVED[kind], reason, target)


# --- what the pages say --------------------------------------------------------------------------

STORES = {"job store": paths.jobs_dir, "score cache": paths.scores_dir}


def notices() -> list[str]:
    """One sentence per store file that was moved aside and is still there, for every page."""
    out = []
    for what, folder in STORES.items():
        directory = folder()
        moved_files = [p for kind in MOVED for p in directory.glob(f"{DB_NAME}.{kind}-*")
                       if not p.name.endswith(("-wal", "-shm", ".txt"))]
        for moved in sorted(moved_files):
            kind = moved.name[len(DB_NAME) + 1:].split("-", 1)[0]
            why = moved.with_name(moved.name + ".txt")
            reason = why.read_text(errors="replace").strip() if why.is_file() else ""
            out.append(f"The {what} was {MOVED[kind]}" + (f" ({reason})" if reason else "")
                       + f", so it was moved aside to {moved} and a fresh one took its place. "
                       "What it held is still in that file. Delete the file (or move it out of "
                       f"{directory}) once you no longer need it, and this notice goes away.")
    return out
