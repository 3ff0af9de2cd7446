"""What training a NAS-Bench-201 cell costs in seconds, the clock of simulated train-then-test search.

With NAS-Bench-201's recorded training times (the shared costs table: 200-epoch seconds per cell
and dataset, on the benchmark's own GPUs), training cell i for E epochs costs E/200 of its
recorded time: the per-epoch cost does not depend on the schedule length. Without the table, a
linear model of the cell's FLOPs and op counts, fitted once on that table, estimates it; such a
result says so (``TrainCost.estimate``).

Torch-free.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from knas.data import benchmark, datasets
from knas.spaces.nb201 import columns
from knas.spaces.nb201 import costs, cells as space
from knas.errors import KnasError

FULL_EPOCHS = columns.FULL_EPOCHS  # the schedule the recorded times are for

# The costs-table column per dataset is the catalogue's ``cost_column`` (NATS-Bench
# get_more_info(..., hp='200')['train-all-time']). CIFAR-10 uses the cifar10-valid runs (25k
# training images), as NAS-Bench-201's simulated searches do (AutoDL-Projects
# exps/NAS-Bench-201-algos/R_EA.py, train_and_eval).

# Fallback: 200-epoch seconds = c . [1, MFLOPs, n_conv, n_skip, n_pool] (n_* = edges holding a
# conv (1x1 or 3x3), a skip_connect, an avg_pool_3x3; MFLOPs from costs.count_flops at the
# dataset's classes and resolution). Fitted by least squares over all 15,625 cells of the shared
# nb201_costs.csv with `python -m benchmarks.fit_traincost`: R² 0.993 in-sample and 0.993 on a
# held-out half (fit on even indices, scored on odd), median |error| 1.4%, for each dataset. A
# line in FLOPs alone reaches only R² 0.585: pooling and none/skip edges take time without FLOPs.
# The coefficients are each data set's ``cost_fit`` in ``columns``.


class TrainCostError(KnasError):
    """A training-cost question that cannot be answered: unknown dataset, bad epochs, or a
    costs table that lacks the column or the cells asked for."""


@dataclass(frozen=True)
class TrainCost:
    """Seconds to train one cell for ``epochs`` epochs on ``dataset``; ``estimate`` is True when
    they come from the FLOPs fallback rather than the benchmark's recorded time."""
    seconds: float
    epochs: float
    dataset: str
    estimate: bool


def cost_column(dataset: str) -> str:
    """The costs-table column for a dataset."""
    if dataset not in columns.BY_DATASET:
        raise TrainCostError(
            f"unknown dataset {dataset!r} for training costs; known: {', '.join(columns.NAMES)}")
    return columns.BY_DATASET[dataset].cost_column


def fallback_features(arch, dataset: str) -> tuple[float, ...]:
    """The fallback model's inputs: (1, MFLOPs, n_conv, n_skip, n_pool)."""
    cost_column(dataset)
    ops = space.validate(arch)
    info = datasets.CATALOG[dataset]
    mflops = costs.count_flops(ops, num_classes=info.num_classes, resolution=info.image_side) / 1e6
    n_conv = sum(op in ("nor_conv_1x1", "nor_conv_3x3") for op in ops)
    return (1.0, mflops, float(n_conv), float(ops.count("skip_connect")),
            float(ops.count("avg_pool_3x3")))


def estimate_seconds(arch, dataset: str, epochs: float) -> float:
    """Fallback estimate of the seconds to train ``arch`` for ``epochs`` epochs (no table)."""
    _check_epochs(epochs)
    full = float(np.dot(_fit(dataset), fallback_features(arch, dataset)))
    return full * epochs / FULL_EPOCHS


def train_cost(arch, dataset: str, epochs: float, table: pd.DataFrame | None = None) -> TrainCost:
    """Seconds to train ``arch`` for ``epochs`` epochs: E/200 of the recorded 200-epoch time when
    ``table`` (the costs table) is given, else the flagged fallback estimate."""
    _check_epochs(epochs)
    if table is None:
        return TrainCost(estimate_seconds(arch, dataset, epochs), epochs, dataset, estimate=True)
    name = _table_column(table, dataset)
    full = benchmark.lookup(table[["arch_str", name]], arch)[name]
    if not math.isfinite(full) or full <= 0:
        raise TrainCostError(f"the costs table has no usable {name} for cell "
                             f"{space.index_of(space.validate(arch))} (found {full})")
    return TrainCost(full * epochs / FULL_EPOCHS, epochs, dataset, estimate=False)


def seconds_per_epoch(dataset: str, table: pd.DataFrame | None = None) -> tuple[np.ndarray, bool]:
    """Per-epoch training seconds of every cell (array in index order) and whether they are
    estimates. A table must cover all 15,625 cells with positive times."""
    if table is None:
        coef = np.array(_fit(dataset))
        features = np.array([fallback_features(ops, dataset) for ops in space.all_archs()])
        return features @ coef / FULL_EPOCHS, True
    name = _table_column(table, dataset)
    full = table[name].reindex(range(space.N_ARCHS)).to_numpy(dtype=float)
    bad = ~np.isfinite(full) | (full <= 0)
    if bad.any():
        raise TrainCostError(
            f"the costs table lacks a positive {name} for {int(bad.sum())} of {space.N_ARCHS} cells "
            f"(first: index {int(np.flatnonzero(bad)[0])}); a search over the whole space needs all")
    return full / FULL_EPOCHS, False


def load_costs(path) -> pd.DataFrame:
    """The costs table (``nb201_costs.csv`` schema) from a file, via ``benchmark.load_table``."""
    return benchmark.load_table(path)


def _fit(dataset: str) -> tuple[float, ...]:
    cost_column(dataset)
    return columns.BY_DATASET[dataset].cost_fit


def _table_column(table: pd.DataFrame, dataset: str) -> str:
    name = cost_column(dataset)
    if name not in table.columns:
        raise TrainCostError(
            f"the costs table has no column {name!r} (training seconds for {dataset}); "
            f"its columns: {', '.join(map(str, table.columns))}")
    return name


def _check_epochs(epochs) -> None:
    if isinstance(epochs, bool) or not isinstance(epochs, (int, float)) or not math.isfinite(epochs) \
            or epochs <= 0:
        raise TrainCostError(f"epochs must be a positive number, got {epochs!r}")
