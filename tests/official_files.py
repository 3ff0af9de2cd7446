"""Official-format data files (CIFAR-10/100 pickled batches, ImageNet16-120 batches) written
from the real shared CIFAR-10 subset, for the reader and download tests."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from knas.data import readers


def dump(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(pickle.dumps(obj, protocol=2))  # the official files are protocol-2 pickles


def _rows(images: np.ndarray) -> np.ndarray:
    """NHWC -> the official (N, 3*H*W) rows, channel-major."""
    return images.transpose(0, 3, 1, 2).reshape(len(images), -1)


def write_cifar10(folder: Path, x_train, y_train, x_test, y_test) -> Path:
    batches = zip(np.array_split(x_train, 5), np.array_split(y_train, 5))
    for i, (x, y) in enumerate(batches, start=1):
        dump(folder / f"data_batch_{i}", {b"batch_label": b"training batch", b"data": _rows(x),
                                           b"labels": [int(v) for v in y]})
    dump(folder / "test_batch", {b"data": _rows(x_test), b"labels": [int(v) for v in y_test]})
    dump(folder / "batches.meta", {b"label_names": [n.encode() for n in readers.CIFAR10_CLASSES],
                                    b"num_cases_per_batch": 1000, b"num_vis": 3072})
    return folder


def fine_labels(y: np.ndarray) -> np.ndarray:
    return y.astype(np.int64) * 10 + np.arange(len(y)) % 10


def write_cifar100(folder: Path, cifar10_arrays) -> Path:
    for split in ("train", "test"):
        x, y = cifar10_arrays[f"x_{split}"], cifar10_arrays[f"y_{split}"]
        dump(folder / split, {b"data": _rows(x), b"fine_labels": fine_labels(y).tolist(),
                               b"coarse_labels": (y // 2).tolist()})
    dump(folder / "meta", {b"fine_label_names": [f"c{i}".encode() for i in range(100)]})
    return folder


def downsample16(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), 16, 2, 16, 2, 3).mean(axis=(2, 4)).round().astype(np.uint8)


def imagenet_labels(n: int) -> np.ndarray:
    """1-based ImageNet labels: a third of them above 120, plus the edges 1, 120 and 121."""
    rng = np.random.default_rng(0)
    labels = np.where(np.arange(n) % 3 == 0, rng.integers(121, 1001, n), rng.integers(1, 121, n))
    labels[:3] = (1, 120, 121)
    return labels


def write_imagenet16(folder: Path, cifar10_arrays) -> Path:
    x = downsample16(cifar10_arrays["x_train"][:1200])
    y = imagenet_labels(len(x))
    for i, (xb, yb) in enumerate(zip(np.array_split(x, 10), np.array_split(y, 10)), start=1):
        dump(folder / f"train_data_batch_{i}", {"data": _rows(xb), "labels": yb.tolist()})
    xv = downsample16(cifar10_arrays["x_test"][:300])
    dump(folder / "val_data", {"data": _rows(xv), "labels": imagenet_labels(len(xv)).tolist()})
    return folder
