"""What the one-shot searches share: their settings (checked before any work), their events and
result, and their checkpoint file (written atomically, read with torch's weights-only loader, so a
checkpoint can never run code)."""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path

from knas.errors import KnasError

METHODS = {
    "darts": "DARTS (first order), Liu et al. ICLR 2019",
    "gdas": "GDAS, Dong & Yang CVPR 2019",
    "tenas": "TE-NAS pruning search, Chen et al. ICLR 2021",
}
# NAS-Bench-201's published budgets (epochs over the weights' half of the training split)
PUBLISHED_EPOCHS = {"darts": 50, "gdas": 250}


class OneShotError(KnasError):
    """Settings or data a one-shot search cannot run with; the message names the setting."""


class Cancelled(KnasError):
    """A one-shot search stopped on request; its checkpoint holds the work done."""


@dataclass(frozen=True)
class OneShotSettings:
    """One run. DARTS/GDAS: ``steps`` of one weight and one architecture batch each, on a supernet
    of ``channels`` and ``n_cells`` per stage (the benchmark's 16 and 5 by default). TE-NAS:
    ``batch_size`` images per NTK, ``repeat`` draws per measure, a supernet of 3 channels and one
    cell per stage, as its official NAS-Bench-201 run (``tenas_defaults``)."""
    method: str
    steps: int = 1
    batch_size: int = 64
    channels: int = 16
    n_cells: int = 5
    lr: float = 0.025
    repeat: int = 3
    seed: int = 0
    checkpoint_every: int = 50

    def __post_init__(self):
        if self.method not in METHODS:
            raise OneShotError(f"unknown one-shot method {self.method!r}; known: {', '.join(METHODS)}")
        for name in ("steps", "batch_size", "channels", "n_cells", "repeat", "checkpoint_every"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise OneShotError(f"{name} must be an integer >= 1, got {value!r}")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or self.seed < 0:
            raise OneShotError(f"seed must be an integer >= 0, got {self.seed!r}")
        if isinstance(self.lr, bool) or not isinstance(self.lr, (int, float)) \
                or not math.isfinite(self.lr) or self.lr <= 0:
            raise OneShotError(f"lr must be a number > 0, got {self.lr!r}")

    @classmethod
    def tenas_defaults(cls, **fields) -> "OneShotSettings":
        return cls(**{"method": "tenas", "batch_size": 16, "channels": 3, "n_cells": 1, **fields})


def settings_for(method: str, train_images: int, epochs: float = 0, seed: int = 0,
                 **fields) -> OneShotSettings:
    """A run's settings: TE-NAS's official ones; DARTS or GDAS for ``epochs`` passes over the
    weights' half of ``train_images`` (0: NAS-Bench-201's published schedule), batch 64 unless
    ``fields`` say otherwise."""
    if method == "tenas":
        return OneShotSettings.tenas_defaults(seed=seed, **fields)
    if method not in PUBLISHED_EPOCHS:
        raise OneShotError(f"unknown one-shot method {method!r}; known: {', '.join(METHODS)}")
    epochs = epochs or PUBLISHED_EPOCHS[method]
    if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or not math.isfinite(epochs) \
            or epochs <= 0:
        raise OneShotError(f"epochs must be a number > 0, got {epochs!r}")
    batch = fields.pop("batch_size", 64)
    steps = max(1, math.ceil(epochs * (train_images // 2) / batch))
    return OneShotSettings(method, steps=steps, batch_size=batch, seed=seed, **fields)


@dataclass(frozen=True)
class Progress:
    method: str
    step: int  # DARTS/GDAS: training steps; TE-NAS: pruning rounds
    steps: int
    loss: float  # the weights' training loss (nan for TE-NAS)
    arch: str  # the cell it would derive now
    seconds: float  # spent so far, resumed runs included


@dataclass(frozen=True)
class OneShotResult:
    method: str
    index: int
    arch: str
    seconds: float  # measured on this run's device, resumed runs included
    steps: int
    alphas: list  # the final architecture weights (DARTS/GDAS) or op mask (TE-NAS), edges x ops
    history: tuple = ()  # per step: DARTS/GDAS the training loss; TE-NAS the ops pruned


def check_space(space) -> None:
    if not space.supernet_ops:
        raise OneShotError(f"the {space.label or space.name} space has no supernet: the one-shot "
                           f"searches ({', '.join(METHODS)}) need every op on every edge")


def data_id(dataset) -> str:
    """What names a data set in a checkpoint: its name, size and a digest of its first images."""
    return f"{dataset.name}:{len(dataset)}:{dataset.digest(list(range(min(len(dataset), 64))))}"


def save_checkpoint(path, settings: OneShotSettings, data: str, state: dict) -> None:
    if path is None:
        return
    import torch

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    part = path.with_name(path.name + ".part")
    torch.save({"settings": dataclasses.asdict(settings), "data": data, **state}, part)
    os.replace(part, path)


def load_checkpoint(path, settings: OneShotSettings, data: str) -> dict | None:
    """The saved state of the same run (same settings, same ``data``: what names the data set),
    or None when there is none yet."""
    if path is None or not Path(path).exists():
        return None
    import torch

    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 (any unreadable file gets the same advice)
        raise OneShotError(f"the checkpoint {path} cannot be read ({type(err).__name__}); delete "
                           "it to start again") from None
    if state.get("settings") != dataclasses.asdict(settings) or state.get("data") != data:
        raise OneShotError(f"the checkpoint {path} is of another run ({state.get('settings')} on "
                           f"{state.get('data')}); delete it or use another path")
    return state
