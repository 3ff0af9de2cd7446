"""Short real training of one cell: the fine-grained stage of a KNAS search.

KNAS keeps the top-k cells by MGM and picks the best of those by a cheap fine-grained step. Here
that step is NAS-Bench-201's own recipe scaled down: SGD with Nesterov momentum and weight decay,
cross-entropy, the learning rate annealed to 0 by a cosine over every step, random crop (4-pixel
padding) and horizontal flip. Cells are compared on a seeded held-out split of the training
images, so the test split stays untouched for reporting.
"""
from __future__ import annotations

import functools
import math
import numbers
import time
from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from knas.data import readers, samples
from knas.errors import KnasError
from knas.search.specs import REFERENCE

PAD = 4  # NAS-Bench-201's RandomCrop(32, padding=4)


class TrainError(KnasError):
    """Settings that cannot train, or a run that does not fit the device."""


class TrainingCancelled(Exception):
    """``should_stop()`` turned true: raised between batches so a job stops within seconds."""


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool) and math.isfinite(value)


def settings_for(space, **fields) -> "TrainSettings":
    """The fine stage's settings for a space's networks: its recipe (``SearchSpace.train_recipe``,
    e.g. no image augmentation for text) under the given fields."""
    return TrainSettings(**{**space.train_recipe, **fields})


@dataclass(frozen=True)
class TrainSettings:
    """One training budget; ``train_samples=None`` trains on the whole training split."""

    epochs: int
    batch_size: int = 64
    lr: float = 0.1
    momentum: float = 0.9
    weight_decay: float = 5e-4
    train_samples: int | None = None
    val_fraction: float = 0.1
    augment: bool = True
    seed: int = 0

    def __post_init__(self):
        rules = (
            ("epochs", _is_int(self.epochs) and self.epochs >= 1, "an integer >= 1"),
            ("batch_size", _is_int(self.batch_size) and self.batch_size >= 1, "an integer >= 1"),
            ("lr", _is_real(self.lr) and self.lr > 0, "a number > 0"),
            # Nesterov momentum needs momentum > 0.
            ("momentum", _is_real(self.momentum) and 0 < self.momentum < 1,
             "a number between 0 and 1 (exclusive)"),
            ("weight_decay", _is_real(self.weight_decay) and self.weight_decay >= 0,
             "a number >= 0"),
            ("train_samples", self.train_samples is None
             or (_is_int(self.train_samples) and self.train_samples >= 1),
             "None or an integer >= 1"),
            ("val_fraction", _is_real(self.val_fraction) and 0 < self.val_fraction < 1,
             "a number between 0 and 1 (exclusive)"),
            ("augment", isinstance(self.augment, bool), "True or False"),
            ("seed", _is_int(self.seed) and self.seed >= 0, "an integer >= 0"),
        )
        for name, ok, requirement in rules:
            if not ok:
                raise TrainError(f"{name} must be {requirement}, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class TrainResult:
    """What one training run gives; accuracies are percent on the held-out split."""

    arch_str: str
    val_accuracy: float  # after the final epoch
    history: tuple[tuple[float, float], ...]  # per epoch: (mean train loss, val accuracy)
    seconds: float
    epochs: int
    train_size: int
    val_size: int
    test_accuracy: float | None = None  # on a separate test split, when one was given


def train_and_evaluate(
    space,
    arch,
    dataset: readers.Dataset,
    settings: TrainSettings,
    device="cpu",
    on_epoch: Callable[[int, float, float], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    test: readers.Dataset | None = None,
) -> TrainResult:
    """Train a freshly built cell ``arch`` of ``space`` on ``dataset`` (a training split) and
    return its validation accuracy; the same seed gives the same result on a CPU.

    ``on_epoch(epoch, train_loss, val_accuracy)`` is called after each epoch (epoch counts from 1);
    ``should_stop()`` is polled before each batch and, once true, raises :class:`TrainingCancelled`.
    With ``test`` (a test split), the trained network's accuracy on all of it is reported too.
    """
    if arch == REFERENCE:  # the space's reference network, trained like its cells
        arch_str = space.reference_label
        build = functools.partial(space.build_reference, dataset.num_classes)
    else:
        ops = space.validate(arch)
        arch_str = space.format(ops)
        build = functools.partial(space.build, ops, dataset.num_classes)
    train_idx, val_idx = _split(dataset, settings)
    try:
        return _train(build, arch_str, dataset, train_idx, val_idx, settings, device,
                      on_epoch, should_stop or (lambda: False), test)
    except torch.cuda.OutOfMemoryError:
        pass  # leave the except block, so its traceback and the GPU tensors it holds are freed
    torch.cuda.empty_cache()
    raise TrainError(
        f"GPU out of memory training {arch_str} with batch size {settings.batch_size} on "
        f"{device}; use a smaller batch size"
    )


def _split(dataset: readers.Dataset, settings: TrainSettings) -> tuple[np.ndarray, np.ndarray]:
    """Seeded (train, val) indices; ``train_samples`` takes a seeded subset of the train part."""
    train_idx, val_idx = samples.split_train_val(dataset, settings.val_fraction, settings.seed)
    if not len(val_idx) or not len(train_idx):
        raise TrainError(
            f"val_fraction {settings.val_fraction} of {len(dataset)} images leaves "
            f"{len(train_idx)} to train on and {len(val_idx)} to validate on; both need at least 1"
        )
    if settings.train_samples is not None:
        if settings.train_samples > len(train_idx):
            raise TrainError(
                f"train_samples is {settings.train_samples} but the training split has only "
                f"{len(train_idx)} images ({len(dataset)} less the validation split)"
            )
        rng = np.random.default_rng(settings.seed)
        train_idx = train_idx[rng.permutation(len(train_idx))[: settings.train_samples]]
    return train_idx, val_idx


def _train(build, arch_str, dataset, train_idx, val_idx, settings, device, on_epoch,
           should_stop, test=None):
    start = time.perf_counter()
    torch.manual_seed(settings.seed)
    net = build().to(device)
    optimizer = torch.optim.SGD(
        net.parameters(), lr=settings.lr, momentum=settings.momentum,
        weight_decay=settings.weight_decay, nesterov=True,
    )
    steps_per_epoch = math.ceil(len(train_idx) / settings.batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(
        optimizer, T_max=settings.epochs * steps_per_epoch, eta_min=0.0
    )
    # Shuffling and augmentation draw from their own CPU generator: the same on every device.
    generator = torch.Generator().manual_seed(settings.seed)
    # The padding is black pixels, as torchvision pads the image before normalising.
    if settings.augment:
        pad_value = -(torch.tensor(dataset.mean) / torch.tensor(dataset.std)).view(1, 3, 1, 1)
        pad_value = pad_value.to(device)
    history = []
    for epoch in range(1, settings.epochs + 1):
        net.train()
        order = torch.randperm(len(train_idx), generator=generator).numpy()
        loss_sum = torch.zeros((), device=device)  # summed on the device: no sync per batch
        for first in range(0, len(order), settings.batch_size):
            if should_stop():
                raise TrainingCancelled(f"training of {arch_str} cancelled in epoch {epoch}")
            x, y = samples.to_tensors(dataset, train_idx[order[first:first + settings.batch_size]],
                                   device)
            if settings.augment:
                x = _augment(x, generator, pad_value)
            loss_sum += _train_step(net, optimizer, x, y) * len(y)
            scheduler.step()
        train_loss = loss_sum.item() / len(train_idx)
        val_accuracy = _evaluate(net, dataset, val_idx, settings.batch_size, device, should_stop)
        history.append((train_loss, val_accuracy))
        if on_epoch:
            on_epoch(epoch, train_loss, val_accuracy)
    seconds = time.perf_counter() - start  # the search's cost: training and validation
    test_accuracy = None if test is None else _evaluate(
        net, test, np.arange(len(test)), settings.batch_size, device, should_stop)
    return TrainResult(
        arch_str=arch_str, val_accuracy=history[-1][1], history=tuple(history),
        seconds=seconds, epochs=settings.epochs, train_size=len(train_idx),
        val_size=len(val_idx), test_accuracy=test_accuracy,
    )


def _train_step(net, optimizer, x, y) -> torch.Tensor:
    """One SGD step; returns the batch's mean loss, detached."""
    optimizer.zero_grad(set_to_none=True)
    loss = F.cross_entropy(net(x), y)
    loss.backward()
    optimizer.step()
    return loss.detach()


def _augment(x: torch.Tensor, generator: torch.Generator, pad_value: torch.Tensor) -> torch.Tensor:
    """NAS-Bench-201's random crop (4-pixel padding) and horizontal flip, per image, in one
    gather instead of a Python loop over the batch."""
    n, c, h, w = x.shape
    padded = pad_value.expand(n, c, h + 2 * PAD, w + 2 * PAD).clone()
    padded[:, :, PAD:PAD + h, PAD:PAD + w] = x
    dy = torch.randint(0, 2 * PAD + 1, (n, 1), generator=generator)
    dx = torch.randint(0, 2 * PAD + 1, (n, 1), generator=generator)
    flip = torch.rand(n, 1, generator=generator) < 0.5
    rows = dy + torch.arange(h)  # (n, h)
    cols = dx + torch.arange(w)  # (n, w)
    cols = torch.where(flip, cols.flip(1), cols)
    rows, cols = rows.to(x.device), cols.to(x.device)
    return padded[
        torch.arange(n, device=x.device).view(n, 1, 1, 1),
        torch.arange(c, device=x.device).view(1, c, 1, 1),
        rows.view(n, 1, h, 1),
        cols.view(n, 1, 1, w),
    ]


def _evaluate(net, dataset, indices, batch_size, device, should_stop) -> float:
    """Top-1 accuracy in percent, in eval mode (BatchNorm's running statistics), batch by batch."""
    net.eval()
    correct = torch.zeros((), dtype=torch.int64, device=device)
    with torch.no_grad():
        for first in range(0, len(indices), batch_size):
            if should_stop():
                raise TrainingCancelled("evaluation cancelled")
            x, y = samples.to_tensors(dataset, indices[first:first + batch_size], device)
            correct += (net(x).argmax(1) == y).sum()
    return 100.0 * correct.item() / len(indices)
