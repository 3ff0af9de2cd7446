"""Fit the fallback training-cost model of ``knas.spaces.nb201.traincost`` on NAS-Bench-201's recorded times.

Run once; the printed constants are pasted into ``knas/spaces/nb201/columns.py`` (each data set's ``cost_fit``).

    python -m benchmarks.fit_traincost --costs ../shared/data/nb201/nb201_costs.csv

Model, per dataset: 200-epoch seconds = a + b * MFLOPs + c * n_conv + d * n_skip + e * n_pool, by
least squares over all 15,625 cells, with FLOPs from ``knas.spaces.nb201.costs.count_flops`` at the dataset's
resolution and class count, and n_* the number of cell edges holding each kind of op (per-op
overheads that FLOPs alone does not see). Prints R² in-sample, on a held-out half (fit on even
indices, scored on odd ones), and of a FLOPs-only line for comparison.
"""
import argparse

import numpy as np

from knas.data import benchmark
from knas.spaces.nb201 import cells as space, columns, traincost


def features(dataset: str) -> np.ndarray:
    """One row per cell, in index order: [1, MFLOPs, n_conv, n_skip, n_pool]."""
    return np.array([traincost.fallback_features(i, dataset) for i in range(space.N_ARCHS)])


def r2(y: np.ndarray, predicted: np.ndarray) -> float:
    return float(1 - ((y - predicted) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--costs", required=True)
    args = parser.parse_args()
    table = benchmark.load_table(args.costs)
    for dataset, name in ((d.name, d.cost_column) for d in columns.BY_DATASET.values()):
        y = benchmark.column(table, name).reindex(range(space.N_ARCHS)).to_numpy()
        x = features(dataset)
        coef, *_ = np.linalg.lstsq(x, y, rcond=None)
        even, odd = slice(0, None, 2), slice(1, None, 2)
        half, *_ = np.linalg.lstsq(x[even], y[even], rcond=None)
        mflops = x[:, 1]
        line = np.polyfit(mflops, y, 1)
        print(f"{dataset}: coefficients [1, MFLOPs, n_conv, n_skip, n_pool] = "
              f"{', '.join(f'{c:.4f}' for c in coef)}")
        print(f"  R2 in-sample {r2(y, x @ coef):.4f}, held-out half {r2(y[odd], x[odd] @ half):.4f}, "
              f"FLOPs-only line {r2(y, np.polyval(line, mflops)):.4f}; "
              f"median |error| {np.median(np.abs(y - x @ coef) / y):.1%}")


if __name__ == "__main__":
    main()
