"""Downloads of the public text data sets (SST-2, TREC, MRPC, RTE) into ``root/<name>/`` under
their official file names. Each file is pinned by size and sha256, fetched into a temporary
folder and renamed into place only when all have arrived, so nothing half-written is left; offline,
the one-line error says which files to put where by hand."""
from __future__ import annotations

import hashlib
import http.client
import os
import shutil
import tempfile
import urllib.error
import urllib.parse
import urllib.request
import zipfile
from pathlib import Path
from typing import Callable

from knas.data.text import MAX_BYTES, Remote, TextDataError, text_info


def saves(remote: Remote) -> tuple[str, ...]:
    """The official file names one download leaves in the data set's folder."""
    return tuple(m.rsplit("/", 1)[-1] for m in remote.members) or (remote.url.rsplit("/", 1)[-1],)


def download_text(
    name: str,
    root,
    progress: Callable[[int, int | None], None] | None = None,
    base_url: str | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch the files of text data set ``name`` that ``root/<name>/`` lacks; returns the folder.

    Files already there are kept. ``base_url`` (``http://host:port``) replaces the scheme and
    host of every official URL, for a mirror of the same paths; the files must still match their
    pinned sha256. ``progress(done_bytes, total_bytes)`` counts over all files.
    """
    info = text_info(name)
    root = Path(root)
    target = root / info.name
    missing = [f for f in info.files.values() if not (target / f).is_file()]
    todo = [r for r in info.sources if set(saves(r)) & set(missing)]
    if not todo:
        return target
    by_hand = (f"put {', '.join(info.files.values())} in {target} (from "
               f"{', '.join(r.url for r in todo)})")
    total, done = sum(r.size for r in todo), 0
    try:
        root.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=root, prefix=".knas-download-") as tmp:
            for remote in todo:
                url = _mirrored(remote.url, base_url)
                dest = Path(tmp) / remote.url.rsplit("/", 1)[-1]
                try:
                    done = _fetch(url, dest, remote, done, total, progress, timeout)
                except (OSError, ValueError, http.client.HTTPException) as exc:
                    hint = "" if isinstance(exc, urllib.error.HTTPError) else "; no internet?"
                    raise TextDataError(f"could not download {url} ({exc}{hint}) — "
                                        f"{by_hand}") from exc
                if remote.members:
                    _unzip(dest, remote, Path(tmp))
            target.mkdir(exist_ok=True)
            for file in missing:
                os.replace(Path(tmp) / file, target / file)
    except OSError as exc:  # the folder cannot be written
        raise TextDataError(f"cannot write {target} ({exc})") from exc
    return target


def _mirrored(url: str, base_url: str | None) -> str:
    if not base_url:
        return url
    parts = urllib.parse.urlsplit(url)
    return base_url.rstrip("/") + parts.path + (f"?{parts.query}" if parts.query else "")


def _fetch(url: str, dest: Path, remote: Remote, done: int, total: int, progress,
           timeout: float) -> int:
    """Stream ``url`` into ``dest``, checking size and sha256; returns the bytes done so far."""
    sha, size = hashlib.sha256(), 0
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        while chunk := response.read(1 << 20):
            size += len(chunk)
            if size > remote.size:  # a wrong or endless file: stop early
                break
            out.write(chunk)
            sha.update(chunk)
            done += len(chunk)
            if progress:
                progress(done, total)
    if size != remote.size or sha.hexdigest() != remote.sha256:
        got = (f"more than {remote.size:,} bytes" if size > remote.size
               else f"{size:,} bytes with sha256 {sha.hexdigest()[:16]}…")
        raise TextDataError(f"{url} is not the official file ({got}; expected {remote.size:,} "
                            f"bytes with sha256 {remote.sha256[:16]}…): corrupt or changed")
    return done


def _unzip(archive: Path, remote: Remote, into: Path) -> None:
    """Keep the archive's named members, each under its base name."""
    try:
        with zipfile.ZipFile(archive) as zf:
            for member, name in zip(remote.members, saves(remote)):
                entry = zf.getinfo(member)
                if entry.file_size > MAX_BYTES:
                    raise TextDataError(f"{remote.url}: {member} is too large")
                with zf.open(entry) as src, open(into / name, "wb") as out:
                    shutil.copyfileobj(src, out)
    except (KeyError, zipfile.BadZipFile) as exc:
        raise TextDataError(f"cannot extract {remote.url} ({exc})") from exc
