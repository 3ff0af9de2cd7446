"""Dataset readers for the official on-disk formats, so proxies score networks on real images.

CIFAR-10/100 (the python batches), ImageNet16-120 (NAS-Bench-201's pickles), an image folder and
an ``.npz`` all come back as one :class:`Dataset`: uint8 NHWC images, int64 labels and the
per-channel statistics to normalise them with. Reading needs only numpy, so the UI process can
list and preview data without loading torch (``knas.data.samples`` makes the tensors).

Security: the CIFAR and ImageNet16 files are pickles, and unpickling runs code from the file.
Use these readers only on paths the user chose and trusts; ``.npz`` files are read without pickle.

Normalisation: CIFAR-10, CIFAR-100 and ImageNet16-120 use NAS-Bench-201's constants. An image
folder or ``.npz`` gets CIFAR-10's constants when it is clearly CIFAR-10 (10 classes of 32x32 RGB,
named like CIFAR-10's if it names them), else the per-channel statistics of the split being loaded.
"""
from __future__ import annotations

import hashlib
import pickle
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path
from typing import NamedTuple

import numpy as np

from knas.data import datasets
from knas.errors import KnasError

KINDS = ("cifar10", "cifar100", "imagenet16-120", "folder", "npz")
SPLITS = ("train", "test")

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)

IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png", ".ppm", ".tif", ".tiff", ".webp")
NPZ_LAYOUT = (
    "an .npz with 'x' (uint8, N x H x W x 3) and 'y' (N integer labels), "
    "or 'x_train'/'y_train' and 'x_test'/'y_test'; optional 'classes' (names)"
)


class DataError(KnasError):
    """A dataset path that is missing, incomplete or corrupt; the message names path and layout."""


@dataclass(frozen=True, eq=False)
class Dataset:
    """One split of a dataset in memory: what every reader returns and every consumer takes."""

    name: str
    images: np.ndarray  # uint8 (N, H, W, 3)
    labels: np.ndarray  # int64 (N,), in 0 .. num_classes - 1
    num_classes: int
    mean: tuple[float, float, float]  # per RGB channel, 0..1 scale
    std: tuple[float, float, float]
    classes: tuple[str, ...] = ()  # class names, when the files name them

    def __post_init__(self):
        # A loaded dataset is cached and shared (e.g. across UI sessions): keep it intact.
        self.images.setflags(write=False)
        self.labels.setflags(write=False)

    def __len__(self) -> int:
        return len(self.labels)

    def tensors(self, indices=None, device="cpu"):
        """``(x, y)`` for a network (``knas.data.samples.to_tensors``)."""
        from knas.data import samples

        return samples.image_tensors(self, indices, device)

    def digest(self, indices) -> str:
        """A hash of the samples at ``indices`` and how they are normalised."""
        h = hashlib.sha256(self.images[indices].tobytes())
        h.update(self.labels[indices].tobytes())
        h.update(repr((self.mean, self.std, self.num_classes)).encode())
        return h.hexdigest()[:16]


class _PickleLayout(NamedTuple):
    """Where a pickled dataset keeps its files and how its labels are numbered."""

    folder: str
    files: dict  # split -> file names
    meta: str | None  # file with the class names
    names_key: str | None
    label_key: str
    side: int  # images are side x side
    first_label: int  # ImageNet16's labels are 1-based
    label_count: int  # labels in the files run first_label .. first_label + label_count - 1
    num_classes: int  # the classes kept: NAS-Bench-201 uses ImageNet's first 120 only


_LAYOUTS = {
    "cifar10": _PickleLayout(
        datasets.CATALOG["cifar10"].folder,
        {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]},
        "batches.meta", "label_names", "labels", 32, 0, 10, 10,
    ),
    "cifar100": _PickleLayout(
        datasets.CATALOG["cifar100"].folder, {"train": ["train"], "test": ["test"]},
        "meta", "fine_label_names", "fine_labels", 32, 0, 100, 100,
    ),
    "imagenet16-120": _PickleLayout(
        datasets.CATALOG["imagenet16-120"].folder,
        {"train": [f"train_data_batch_{i}" for i in range(1, 11)], "test": ["val_data"]},
        None, None, "labels", 16, 1, 1000, 120,
    ),
}


def load(kind: str, path, split: str = "train") -> Dataset:
    """Read one split of a dataset; ``kind`` is one of KINDS (see :func:`detect`)."""
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {SPLITS}")
    path = Path(path)
    if kind in _LAYOUTS:
        return _read_pickled(kind, path, split)
    if kind == "folder":
        from knas.data import imagefolder

        return imagefolder.read(path, split)
    if kind == "npz":
        return _read_npz(path, split)
    raise ValueError(f"unknown dataset kind {kind!r}; expected one of {KINDS}")


BENCHMARK_DATASETS = datasets.NAMES


def load_named(name: str, path, split: str = "train") -> Dataset:
    """The benchmark dataset ``name`` from ``path``: its official layout, or an ``.npz`` or image
    folder holding it. Says what was found instead when the path holds something else. (A text
    data set is read by its space: ``SearchSpace.load_data``.)"""
    if name not in BENCHMARK_DATASETS:
        raise DataError(f"unknown dataset {name!r}; expected one of {', '.join(BENCHMARK_DATASETS)}")
    path = Path(path)
    if not path.exists():
        raise DataError(
            f"{path}: not found; put {name} there in its official layout "
            f"({_describe(_LAYOUTS[name])}), or give an .npz or image folder")
    root = _pickle_root(path, _LAYOUTS[name])
    if path.is_dir() and (root / _LAYOUTS[name].files[split][0]).is_file():
        kind = name
    else:
        kind = detect(path) or ("npz" if path.is_file() else None)
        if kind in BENCHMARK_DATASETS:
            raise DataError(f"{path}: holds {kind}, not {name}")
        if kind is None:
            raise DataError(
                f"{path}: no dataset found; expected {name} in its official layout "
                f"({_describe(_LAYOUTS[name])}), an .npz ({NPZ_LAYOUT}) or one sub-folder per class")
    return _as_named(load(kind, path, split), name, path)


def _as_named(dataset: Dataset, name: str, path: Path) -> Dataset:
    """An .npz or image folder read as benchmark ``name``: its labels must be ``name``'s (a
    label 15 for CIFAR-10 would otherwise get a 16-class head, a 2-class file run as CIFAR-10),
    and its networks get ``name``'s head."""
    expected = datasets.info(name).num_classes
    if dataset.num_classes > expected or (dataset.classes and len(dataset.classes) != expected):
        found = (f"{len(dataset.classes)} classes" if dataset.classes
                 else f"labels up to {dataset.num_classes - 1}")
        raise DataError(f"{path}: holds {found}; {name} has {expected} classes "
                        f"(labels 0..{expected - 1})")
    return replace(dataset, name=name, num_classes=expected)


def detect(path) -> str | None:
    """The kind :func:`load` should use for ``path``, or None; looks at names, unpickles nothing.

    A folder holding several datasets gives the first in KINDS order."""
    path = Path(path)
    if path.is_file():
        return "npz" if path.suffix.lower() == ".npz" else None
    if not path.is_dir():
        return None
    for kind, layout in _LAYOUTS.items():
        root = _pickle_root(path, layout)
        if all((root / layout.files[split][0]).is_file() for split in SPLITS):
            return kind
    from knas.data import imagefolder

    if any(imagefolder.has_class_dirs(root) for root in (path, *(path / s for s in SPLITS))):
        return "folder"
    return None


# --- pickled datasets (CIFAR, ImageNet16) -------------------------------------------------------


def describe_layout(name: str) -> str:
    """Where a benchmark dataset's files go, for messages: folder and file names."""
    return _describe(_LAYOUTS[name])


def _describe(layout: _PickleLayout) -> str:
    files = [f for split in SPLITS for f in layout.files[split]]
    files += [layout.meta] if layout.meta else []
    return f"a folder {layout.folder}/ holding {', '.join(files)}"


def _pickle_root(path: Path, layout: _PickleLayout) -> Path:
    """Users point at the dataset folder or at its parent; accept both."""
    inner = path / layout.folder
    return inner if inner.is_dir() else path


def _read_pickled(kind: str, path: Path, split: str) -> Dataset:
    layout = _LAYOUTS[kind]
    if not path.is_dir():
        raise DataError(f"missing folder {path}; expected {_describe(layout)}")
    root = _pickle_root(path, layout)
    parts = [_read_batch(root / name, layout) for name in layout.files[split]]
    images = np.concatenate([p[0] for p in parts])
    labels = np.concatenate([p[1] for p in parts])
    meta = root / layout.meta if layout.meta else None
    classes = _class_names(meta, layout) if meta and meta.is_file() else ()
    mean, std = datasets.info(kind).mean, datasets.info(kind).std
    return Dataset(kind, images, labels, layout.num_classes, mean, std, classes)


def _read_batch(file: Path, layout: _PickleLayout) -> tuple[np.ndarray, np.ndarray]:
    """One batch file as NHWC images and 0-based labels, keeping only the layout's classes."""
    pixels = 3 * layout.side * layout.side
    expected = f"a pickled dict with 'data' (uint8, N x {pixels}) and '{layout.label_key}'"
    entry = _unpickle(file, f"{expected}, in {_describe(layout)}")
    missing = sorted({"data", layout.label_key} - entry.keys())
    if missing:
        raise DataError(f"{file} lacks key(s) {missing}; expected {expected}")
    data, labels = np.asarray(entry["data"]), np.asarray(entry[layout.label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != pixels:
        raise DataError(f"{file}: 'data' is {data.dtype} {data.shape}; expected {expected}")
    _check_labels(labels, len(data), layout.first_label, layout.label_count, file)
    keep = labels < layout.first_label + layout.num_classes
    images = data[keep].reshape(-1, 3, layout.side, layout.side).transpose(0, 2, 3, 1)
    return images, labels[keep].astype(np.int64) - layout.first_label


def _unpickle(file: Path, expected: str) -> dict:
    """A pickled dict with str keys. latin1 reads the official Python 2 pickles and their arrays."""
    if not file.is_file():
        raise DataError(f"missing file {file}; expected {expected}")
    try:
        with open(file, "rb") as f:
            entry = pickle.load(f, encoding="latin1")
    except Exception as exc:  # a corrupt pickle can fail in almost any way
        raise DataError(
            f"cannot unpickle {file} ({type(exc).__name__}: {exc}); expected {expected}"
        ) from exc
    if not isinstance(entry, dict):
        raise DataError(f"{file} holds a {type(entry).__name__}; expected {expected}")
    return {k.decode("latin1") if isinstance(k, bytes) else k: v for k, v in entry.items()}


def _class_names(meta: Path, layout: _PickleLayout) -> tuple[str, ...]:
    names = _unpickle(meta, f"a pickled dict with '{layout.names_key}'").get(layout.names_key, ())
    return tuple(n.decode("latin1") if isinstance(n, bytes) else str(n) for n in names)


def _check_labels(labels: np.ndarray, n: int, first: int, count: int | None, where: Path) -> None:
    """One integer label per image, in first .. first + count - 1 (unbounded when count is None)."""
    if labels.ndim != 1 or len(labels) != n:
        raise DataError(
            f"{where}: labels of shape {labels.shape} for {n} images; expected one label per image"
        )
    if n and labels.dtype.kind not in "iu":
        raise DataError(f"{where}: labels are {labels.dtype}; expected integers")
    if n and (labels.min() < first or (count and labels.max() >= first + count)):
        expected = f"{first}..{first + count - 1}" if count else f"at least {first}"
        raise DataError(f"{where}: labels span {labels.min()}..{labels.max()}; expected {expected}")


# --- image folder and .npz ----------------------------------------------------------------------


def own_stats(images: np.ndarray, num_classes: int, classes: tuple[str, ...]):
    """CIFAR-10's constants for what is clearly CIFAR-10, else the images' own statistics."""
    if num_classes == 10 and images.shape[1:] == (32, 32, 3) and classes in ((), CIFAR10_CLASSES):
        return datasets.info("cifar10").mean, datasets.info("cifar10").std
    return _channel_stats(images)


def _channel_stats(images: np.ndarray):
    """Per-channel mean and std on the 0..1 scale, via 256-bin histograms (no float copy)."""
    levels = np.arange(256) / 255.0
    mean, std = [], []
    for c in range(3):
        hist = np.bincount(images[..., c].ravel(), minlength=256)
        m = hist @ levels / hist.sum()
        var = hist @ (levels - m) ** 2 / hist.sum()
        mean.append(float(m))
        std.append(max(float(var) ** 0.5, 1 / 255))  # a constant channel must not divide by zero
    return tuple(mean), tuple(std)


def _read_npz(path: Path, split: str) -> Dataset:
    """``x``/``y`` serve both splits; ``x_<split>``/``y_<split>`` serve one. Read without pickle."""
    if not path.is_file():
        raise DataError(f"missing file {path}; expected {NPZ_LAYOUT}")
    if not zipfile.is_zipfile(path):
        raise DataError(f"{path} is not a complete .npz (zip) archive: truncated or another "
                        f"format; expected {NPZ_LAYOUT}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            keys = (f"x_{split}", f"y_{split}") if f"x_{split}" in npz.files else ("x", "y")
            if not set(keys) <= set(npz.files):
                raise DataError(f"{path} holds {sorted(npz.files)}; expected {NPZ_LAYOUT}")
            images, labels = npz[keys[0]], npz[keys[1]]
            classes = tuple(str(c) for c in npz["classes"]) if "classes" in npz.files else ()
    except DataError:
        raise
    except Exception as exc:  # a member that fails its CRC or to decompress, or is not an array
        raise DataError(
            f"cannot read {path} ({type(exc).__name__}: {exc}); expected {NPZ_LAYOUT}"
        ) from exc
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3 or not len(images):
        raise DataError(
            f"{path}: '{keys[0]}' is {images.dtype} {images.shape}; expected {NPZ_LAYOUT}"
        )
    _check_labels(labels, len(images), 0, len(classes) or None, path)
    num_classes = len(classes) or int(labels.max()) + 1
    mean, std = own_stats(images, num_classes, classes)
    return Dataset(path.stem, images, labels.astype(np.int64), num_classes, mean, std, classes)
