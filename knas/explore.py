"""The Explorer's facts about one cell, beyond its diagram: its neighbours one edge away, and
how a recorded parameter count compares with ours. Torch-free."""
from __future__ import annotations

import math

import pandas as pd

from . import costs, datasets, plots, space

# A table records parameters in millions with 6 decimals: ours agrees when within half a unit.
PARAMS_TOLERANCE_MB = 5e-7
NEIGHBOUR_COLUMNS = tuple(d.test_column for d in datasets.CATALOG.values())


def neighbour_rows(arch, table=None, columns=NEIGHBOUR_COLUMNS) -> pd.DataFrame:
    """The 24 cells one edge away, with the edge changed and, given a table, their accuracies."""
    ops = space.validate(arch)
    columns = [c for c in columns if table is not None and c in table.columns]
    rows = []
    for other in space.neighbours(ops):
        edge = next(e for e in range(len(ops)) if ops[e] != other[e])
        dst, src = space.EDGES[edge]
        index = space.index_of(other)
        row = {"index": index, "edge": f"{src}→{dst}",
               "from": plots.OP_LABELS.get(ops[edge], ops[edge]),
               "to": plots.OP_LABELS.get(other[edge], other[edge]),
               **{c: float(table[c].get(index, math.nan)) for c in columns},
               "same function": space.canonical(other) == space.canonical(ops),
               "arch_str": space.to_str(other)}
        rows.append(row)
    return pd.DataFrame(rows)


def recorded_params_agree(recorded_mb: float, arch, dataset: str = "cifar10") -> bool:
    """Whether a table's parameter count (millions) is our network's for this cell and head."""
    ours = costs.count_params(arch, datasets.info(dataset).num_classes) / 1e6
    return abs(recorded_mb - ours) < PARAMS_TOLERANCE_MB


def rank_in_space(table, column: str, index: int) -> tuple[int, int] | None:
    """(rank, cells ranked) of a cell by a table column, 1 = best; cells that tie share the best
    rank among them. None when the cell has no value there."""
    values = table[column].astype(float).dropna()
    if index not in values.index:
        return None
    return int((values > values.at[index]).sum()) + 1, len(values)


def rank_text(rank: int, total: int, label: str) -> str:
    """``the best of 15,625 on CIFAR-10 test`` or ``rank 1,203 of 15,625 (top 7.7%) on …``."""
    where = f"of {total:,} on {label}"
    if rank == 1:
        return f"the best {where}"
    return f"rank {rank:,} {where} (top {100 * rank / total:.1f}%)"
