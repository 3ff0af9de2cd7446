"""Which images a network sees, and as what: seeded subsets and train/validation splits of a
dataset, and the normalised tensors made from them. Readers live in ``knas.data.readers``."""
from __future__ import annotations

import numpy as np

from knas.data.readers import Dataset


def to_tensors(dataset, indices=None, device="cpu"):
    """``(x, y)`` for a network, made by the data set itself (images or text features)."""
    return dataset.tensors(indices, device)


def image_tensors(dataset: Dataset, indices=None, device="cpu"):
    """``(x, y)`` of images: float32 NCHW normalised by the dataset's mean/std, int64 labels.

    torch is imported here, not at module level, so the UI process never loads it.
    """
    import torch

    idx = np.arange(len(dataset)) if indices is None else np.asarray(indices, dtype=np.int64)
    x = torch.from_numpy(dataset.images[idx]).to(device).permute(0, 3, 1, 2).float().div_(255)
    mean = torch.tensor(dataset.mean, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    std = torch.tensor(dataset.std, dtype=torch.float32, device=device).view(1, 3, 1, 1)
    y = torch.from_numpy(dataset.labels[idx]).to(device)
    return ((x - mean) / std).contiguous(), y


def subset(dataset: Dataset, n: int, seed: int, balanced: bool = False) -> np.ndarray:
    """``n`` distinct indices, the same for the same seed, so runs score the very same images.

    ``balanced=True`` deals the classes round-robin in a seeded order: each class gets ``n // k``
    or one more; a class that runs short gives what it has and the others make up the rest.
    """
    if not 0 <= n <= len(dataset):
        raise ValueError(f"subset size {n} is outside 0..{len(dataset)}")
    rng = np.random.default_rng(seed)
    perm = rng.permutation(len(dataset))
    if not balanced:
        return perm[:n]
    labels = dataset.labels[perm]
    class_order = rng.permutation(dataset.num_classes)[labels]
    return perm[np.lexsort((class_order, _rank_within_class(labels)))[:n]]


def _rank_within_class(labels: np.ndarray) -> np.ndarray:
    """For each position, how many earlier positions hold the same label."""
    order = np.argsort(labels, kind="stable")
    sorted_labels = labels[order]
    rank = np.empty(len(labels), dtype=np.int64)
    rank[order] = np.arange(len(labels)) - np.searchsorted(sorted_labels, sorted_labels)
    return rank


def split_train_val(
    dataset: Dataset, val_fraction: float, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded disjoint ``(train, val)`` indices covering the dataset, for held-out validation."""
    if not 0 < val_fraction < 1:
        raise ValueError(f"val_fraction must be between 0 and 1, got {val_fraction}")
    perm = np.random.default_rng(seed).permutation(len(dataset))
    n_val = round(len(dataset) * val_fraction)
    return perm[n_val:], perm[:n_val]
