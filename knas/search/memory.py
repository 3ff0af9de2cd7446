"""Will scoring fit in this machine's memory? Said before a run starts, from a measured model.

Scoring holds a network's activations (for some proxies their gradients or kernels too) for the
whole batch, so its peak grows with samples × pixels: 16 images of 512×512 need tens of GB where
CIFAR's 32×32 need a few hundred MB. ``knas/proxies/memory.json`` holds, per proxy, the line
``base + bytes per sample-pixel × samples × side²`` measured on NAS-Bench-201's busiest cell by
``benchmarks/memory_model.py``; the image side is read from the data's headers without decoding
any pixels. Torch-free.
"""
from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

from knas import fmt
from knas.data import datasets, imagefolder, readers

MODEL = Path(__file__).resolve().parents[1] / "proxies" / "memory.json"
SHARE = 0.8  # warn when one scoring process would need more than this share of the memory
FOLDER_SAMPLE = 64  # image headers read to find a folder's usual side


def machine_bytes() -> int:
    """This machine's physical memory."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def image_side(name: str, path) -> int | None:
    """The side of the images scoring will see, from headers only: the named data set's official
    layout, an .npz's ``x`` array header, or the median side of a folder's first images. None
    when it cannot be told cheaply (the run's own reading will say what is wrong)."""
    path = Path(path)
    try:
        kind = readers.detect(path)
        if kind in datasets.NAMES:
            return datasets.info(kind).image_side
        if kind == "npz":
            return _npz_side(path)
        if kind == "folder":
            return _folder_side(path)
    except (OSError, ValueError, zipfile.BadZipFile, readers.DataError):
        return None
    return None


def _npz_side(path: Path) -> int | None:
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        member = next((m for m in ("x_train.npy", "x.npy") if m in names), None)
        if member is None:
            return None
        with archive.open(member) as f:
            major, _ = np.lib.format.read_magic(f)
            read_header = (np.lib.format.read_array_header_1_0 if major == 1
                           else np.lib.format.read_array_header_2_0)
            shape, _, _ = read_header(f)
    return int(shape[1]) if len(shape) == 4 else None


def _folder_side(path: Path) -> int | None:
    from PIL import Image

    sides = []
    for file, _ in imagefolder.folder_images(path, "train")[:FOLDER_SAMPLE]:
        if file.is_file():  # a FIFO named like an image is never opened
            with Image.open(file) as image:
                sides.append(min(image.size))
    return sorted(sides)[len(sides) // 2] if sides else None


def load_model() -> dict:
    try:
        return json.loads(MODEL.read_text())
    except (OSError, ValueError):
        return {}


def peak_bytes(names, samples: int, side: int, model: dict) -> tuple[int, str] | None:
    """The largest measured peak of one scoring process over ``names``, and the proxy it is
    for; None when no proxy was measured."""
    figures = model.get("proxies", {})
    peaks = [(model.get("process_bytes", 0) + f["base_bytes"]
              + f["bytes_per_sample_pixel"] * samples * side * side, name)
             for name in names if (f := figures.get(name))]
    return (int(max(peaks)[0]), max(peaks)[1]) if peaks else None


def warning(config, total: int | None = None) -> str | None:
    """What to say before scoring that needs more memory than this machine has (see the module
    doc); None when it fits or cannot be told (another space, text, unknown images)."""
    model = load_model()
    if config.search_space.name != model.get("space") or datasets.is_text(config.dataset):
        return None
    side = image_side(config.dataset, config.data)
    found = peak_bytes(config.names, config.n, side, model) if side else None
    total = total or machine_bytes()
    if found is None or found[0] <= SHARE * total:
        return None
    need, proxy = found
    return (f"Scoring {config.n} samples of {side}×{side} with {proxy} needs about "
            f"{fmt.size(need)} per scoring process (measured on NAS-Bench-201's busiest cell); "
            f"this machine has {fmt.size(total)}. Fewer samples (n), smaller images or one "
            "worker keep it in memory.")
