"""The Explorer's facts about one cell, beyond its diagram: its neighbours one decision away,
how a recorded parameter count compares with ours, and where it ranks. Torch-free."""
from __future__ import annotations

import math

import pandas as pd

from knas import fmt
from knas.data import datasets

# A table records parameters in millions with 6 decimals: ours agrees when within half a unit.
PARAMS_TOLERANCE_MB = 5e-7


def test_columns(space) -> list[str]:
    """The test-accuracy column of every data set the space takes."""
    return [space.truth_columns(d).test for d in space.datasets]


def neighbour_rows(space, arch, table=None, columns=None) -> pd.DataFrame:
    """The cells one decision away, with the decision changed and, given a table, their
    accuracies."""
    ops = space.validate(arch)
    columns = test_columns(space) if columns is None else columns
    columns = [c for c in columns if table is not None and c in table.columns]
    decisions = space.decisions()
    rows = []
    for other in space.neighbours(ops):
        changed = next(e for e in range(len(ops)) if ops[e] != other[e])
        index = space.index_of(other)
        rows.append({"index": index, "edge": decisions[changed].label,
                     "from": space.choice_label(ops[changed]),
                     "to": space.choice_label(other[changed]),
                     **{c: float(table[c].get(index, math.nan)) for c in columns},
                     "same function": space.canonical(other) == space.canonical(ops),
                     "arch_str": space.format(other)})
    return pd.DataFrame(rows)


def recorded_params_agree(space, recorded_mb: float, arch, dataset: str = "cifar10") -> bool | None:
    """Whether a table's parameter count (millions) is our network's for this cell and head
    (None when the space has no closed-form count)."""
    ours = space.count_params(arch, datasets.info(dataset).num_classes)
    if ours is None:
        return None
    return abs(recorded_mb - ours / 1e6) < PARAMS_TOLERANCE_MB


def rank_in_space(table, column: str, index: int) -> tuple[int, int] | None:
    """(rank, cells ranked) of a cell by a table column, 1 = best; cells that tie share the best
    rank among them. None when the cell has no value there."""
    values = table[column].astype(float).dropna()
    if index not in values.index:
        return None
    return int((values > values.at[index]).sum()) + 1, len(values)


def rank_text(rank: int, total: int, label: str) -> str:
    """``the best of N on CIFAR-10 test``, ``3rd of N on …``, ``1,203rd of N on … (top 7.7%)``:
    the share only where it says more than the rank (not "top 0.0%")."""
    where = f"of {total:,} on {label}"
    if rank == 1:
        return f"the best {where}"
    share = 100 * rank / total
    return f"{fmt.ordinal(rank)} {where}" + (f" (top {share:.1f}%)" if share >= 1 else "")


def latency_rows(table, index: int) -> pd.DataFrame:
    """A cell's latency on every device of a latency table (``knas.data.latency``), with its
    rank among the cells measured there (1 = the fastest)."""
    from knas.data import latency

    rows = []
    for device, ms in table.row(index).items():
        ranked = table.rank(index, device)
        rows.append({"device": latency.label(device), "name": device,
                     "latency (ms)": ms,
                     "rank (1 = fastest)": f"{ranked[0]:,} of {ranked[1]:,}" if ranked else "—",
                     "faster than": f"{100 * (1 - ranked[0] / ranked[1]):.0f}% of cells"
                     if ranked else "—"})
    return pd.DataFrame(rows)
