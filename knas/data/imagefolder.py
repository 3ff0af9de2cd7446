"""Image folders: one sub-folder of images per class (sorted names give the labels), optionally
split into train/ and test/; how ``knas.data.readers`` reads the ``folder`` kind."""
from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

from knas import fmt
from knas.data.readers import IMAGE_SUFFIXES, SPLITS, DataError, Dataset, own_stats

DETECT_ENTRIES = 4096  # folder entries ``detect`` looks at before it says "no image folder"


def has_class_dirs(root: Path) -> bool:
    """Some class folder holds an image; bounded, so a folder of a million files (or one
    holding a million empty folders) is judged in a moment."""
    if not root.is_dir():
        return False
    folders = (d for d in itertools.islice(root.iterdir(), DETECT_ENTRIES)
               if d.is_dir() and not d.name.startswith("."))
    entries = itertools.islice((f for d in folders for f in d.iterdir()), DETECT_ENTRIES)
    return any(_is_image(f) for f in entries)


def _is_image(file: Path) -> bool:
    """An image file by its name, and a regular file (a FIFO named x.png would block a read
    forever)."""
    return file.suffix.lower() in IMAGE_SUFFIXES and file.is_file()


def _class_dirs(root: Path) -> list[Path]:
    return sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))


def _folder_root(path: Path, split: str) -> Path:
    """A folder split into train/ and test/ serves each split from its sub-folder; a flat one
    serves both. (So a flat folder cannot have a class named "train" or "test".)"""
    root = path / split if any((path / s).is_dir() for s in SPLITS) else path
    if not root.is_dir():
        raise DataError(f"missing folder {root}; expected one sub-folder of images per class")
    return root


def folder_images(path: Path, split: str) -> list[tuple[Path, int]]:
    """An image folder's files of one split and their labels (sorted class folders)."""
    return [(f, label) for label, d in enumerate(_class_dirs(_folder_root(path, split)))
            for f in sorted(d.iterdir()) if _is_image(f)]


def read(path: Path, split: str) -> Dataset:
    """Images one sub-folder per class (sorted names give the labels), as square RGB.

    Each image is centre-cropped to a square and resized to the (upper) median side of the
    folder's images, so a folder of same-sized square images keeps its pixels exactly and one odd image
    does not resize the others.
    """
    try:
        from PIL import Image, ImageOps
    except ImportError as exc:
        raise DataError("reading an image folder needs Pillow (pip install pillow)") from exc
    root = _folder_root(path, split)
    class_dirs = _class_dirs(root)
    files = folder_images(path, split)
    if not files:
        raise DataError(f"no images in {root}; expected one sub-folder per class holding "
                        f"{', '.join(IMAGE_SUFFIXES)} files")
    def opened(file):
        try:
            return Image.open(file)  # reads the header only; pixels are decoded by convert
        except Exception as exc:  # Pillow raises many types for unreadable files
            raise DataError(f"cannot read image {file} ({type(exc).__name__}: "
                            f"{fmt.clip(exc, 200)})") from exc

    sides = []
    for file, _ in files:
        with opened(file) as im:
            sides.append(min(im.size))
    side = sorted(sides)[len(sides) // 2]  # the usual size, one the images have: one odd image
    # does not shrink them all
    images = []
    for file, _ in files:
        try:
            with opened(file) as im:
                rgb = im.convert("RGB")
        except DataError:
            raise
        except Exception as exc:  # pixels that fail to decode
            raise DataError(f"cannot read image {file} ({type(exc).__name__}: "
                            f"{fmt.clip(exc, 200)})") from exc
        images.append(np.asarray(ImageOps.fit(rgb, (side, side), Image.Resampling.BICUBIC)))
    images = np.stack(images)
    classes = tuple(d.name for d in class_dirs)
    mean, std = own_stats(images, len(classes), classes)
    labels = np.array([label for _, label in files], dtype=np.int64)
    return Dataset(path.name, images, labels, len(classes), mean, std, classes)
