"""Official dataset downloads: CIFAR-10/100 fetched with a progress bar, MD5-checked and
extracted safely; nothing half-done is left behind, and offline the error says where to put the
files by hand. ImageNet16-120 has no public download."""
from __future__ import annotations

import hashlib
import http.client
import tarfile
import tempfile
import urllib.request
from pathlib import Path
from typing import Callable, NamedTuple

from tqdm import tqdm

from knas.data import readers, datasets
from knas.data.readers import DataError


class Source(NamedTuple):
    """An official download: the archive, its md5 and the folder it extracts to."""

    url: str
    md5: str
    folder: str


SOURCES = {
    "cifar10": Source(
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "c58f30108f718f92721af3b95e74349a", datasets.CATALOG["cifar10"].folder,
    ),
    "cifar100": Source(
        "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
        "eb9058c3a382ffc7106e4002c42a8d85", datasets.CATALOG["cifar100"].folder,
    ),
}


def download(
    name: str,
    root,
    url: str | None = None,
    progress: Callable[[int, int | None], None] | None = None,
    timeout: float = 60.0,
) -> Path:
    """Fetch, md5-check and extract the official CIFAR archive into ``root``; returns its folder.

    Runs only when called (``load`` never downloads). A complete folder already there is kept.
    ``url`` may point at a mirror of the same archive; ``progress(done_bytes, total_bytes)`` lets a
    UI draw a bar (total is None when the server does not say). Nothing is left behind on failure.
    """
    if name not in SOURCES:
        raise ValueError(f"no official download for {name!r}; choose one of {tuple(SOURCES)}")
    source, root = SOURCES[name], Path(root)
    target = root / source.folder
    if readers.detect(target) == name:
        return target
    if target.exists():
        raise DataError(f"{target} exists but is incomplete; remove it and download again")
    url = url or source.url
    root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=root, prefix=".knas-download-") as tmp:
        archive = Path(tmp) / "archive.tar.gz"
        try:
            digest = _fetch(url, archive, progress, timeout)
        except (OSError, http.client.HTTPException) as exc:
            raise DataError(
                f"could not download {url} ({exc}). To install it by hand, download {source.url}"
                f" and extract it into {root}, so that there is {readers.describe_layout(name)}"
            ) from exc
        if digest != source.md5:
            raise DataError(
                f"{url} has md5 {digest}, expected {source.md5}: corrupt or not the official file"
            )
        _extract(archive, Path(tmp) / "extracted", source.folder).rename(target)
    return target


def _fetch(url: str, dest: Path, progress, timeout: float) -> str:
    """Stream ``url`` into ``dest`` with a progress bar; returns the md5 of what arrived."""
    md5 = hashlib.md5()
    with urllib.request.urlopen(url, timeout=timeout) as response, open(dest, "wb") as out:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=url.rsplit("/", 1)[-1]) as bar:
            done = 0
            while chunk := response.read(1 << 20):
                out.write(chunk)
                md5.update(chunk)
                done += len(chunk)
                bar.update(len(chunk))
                if progress:
                    progress(done, total)
    return md5.hexdigest()


def _extract(archive: Path, into: Path, folder: str) -> Path:
    """Unpack with tarfile's safe 'data' filter and return the dataset folder inside."""
    try:
        with tarfile.open(archive, "r:gz") as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"cannot extract {archive.name} ({exc})") from exc
    if not (into / folder).is_dir():
        raise DataError(f"the archive holds no {folder}/ folder")
    return into / folder
