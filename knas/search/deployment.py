"""What a search keeps to on its way to a device: its limits, the Pareto device's latency and
the true front, set up once per search from its config.

The pipeline asks it which cells of a pool fit, which k cells of a scored pool the fine stage
spends its budget on in the Pareto mode, and how good a found front is. Measuring latency
``here`` or counting a network that has no closed form builds networks (torch), so those
callables are made only when a limit needs them.
"""
from __future__ import annotations

import math

import numpy as np

from knas.data import latency
from knas.errors import KnasError
from knas.search import constraints, pareto
from knas.search.constraints import Constraints, Measures
from knas.search.events import Measured


class Deployment:
    def __init__(self, config, space, dataset, device: str = "cpu"):
        self.space, self.config = space, config
        table = constraints.load_table(config.latency, space) if config.latency else None
        limits = constraints.limits_of(config)
        devices = {constraints.device_of(lim.measure) for lim in limits} | {config.pareto}
        here = _meter(space, dataset, device) if latency.HERE in devices else None
        self.measures = Measures(space, config.dataset, table, here, _counter(space, dataset))
        self.constraints = Constraints(limits, self.measures)
        self.front_measure = constraints.latency_measure(config.pareto) if config.pareto else ""
        self._true: dict[str, np.ndarray | None] = {}

    @property
    def text(self) -> str:
        return str(self.constraints)

    @property
    def measure_names(self) -> list[str]:
        """What a view of the run can plot cells by: the limited measures and the Pareto one."""
        names = [limit.measure for limit in self.constraints.limits]
        return list(dict.fromkeys(names + ([self.front_measure] if self.front_measure else [])))

    def measured_event(self, repeat: int, cells) -> Measured:
        names = self.measure_names
        return Measured(repeat=repeat, measures=names,
                        rows=[[int(i), *(self.measures.value(m, i) for m in names)] for i in cells])

    def feasible_pool(self, pool: list[int], repeat: int) -> list[int]:
        if not self.constraints:
            return pool
        kept = self.constraints.feasible(pool)
        if not kept:
            raise KnasError(f"none of the {len(pool):,} cells of repeat {repeat}'s pool meets "
                            f"{self.constraints}: draw a larger pool or loosen the limits")
        return kept

    def feasible_cells(self) -> int | None:
        mask = self.constraints.mask()
        return int(mask.sum()) if mask is not None else None

    def best(self, truth, column: str) -> dict | None:
        """The truth table's best cell among those that fit."""
        values = truth[column].dropna()
        mask = self.constraints.mask()
        if mask is not None:
            values = values[mask[values.index.to_numpy()]]
        elif self.constraints:
            return None  # which cells fit is known only for the ones measured
        if values.empty:
            return None
        index = int(values.idxmax())
        return {"index": index, "value": float(values[index]), "column": column}

    def measured(self, index: int) -> dict[str, float]:
        """The chosen cell's values of every limit's measure and the Pareto device's latency."""
        values = self.constraints.values(index)
        if self.front_measure:
            values[self.front_measure] = self.measures.value(self.front_measure, index)
        return values

    def latency(self, index: int) -> float:
        return self.measures.value(self.front_measure, index)

    def select(self, ranking: dict[int, float], k: int) -> list[int]:
        """The k cells of a scored pool the fine stage evaluates in the Pareto mode."""
        return pareto.select({i: (q, self.latency(i)) for i, q in ranking.items()}, k)

    def front(self, quality: dict[int, float]) -> list[int]:
        """The cells a method returns: not dominated by (what it knows of accuracy, latency)."""
        return pareto.front({i: (q, self.latency(i)) for i, q in quality.items()})

    def indicators(self, cells: list[int], truth, column: str) -> tuple[float, float]:
        """Hypervolume (fraction of the true front's) and IGD of a found front, by the cells'
        true accuracy; NaN without a truth table or a whole-space latency."""
        true = self._true_front(truth, column)
        if true is None or not cells:
            return math.nan, math.nan
        accuracy = truth[column].reindex(cells).to_numpy(dtype=float)
        found = np.column_stack([accuracy, [self.latency(i) for i in cells]])
        return pareto.indicators(found, true)

    def _true_front(self, truth, column: str) -> np.ndarray | None:
        if column not in self._true:
            self._true[column] = None
            whole = self.measures.everywhere(self.front_measure)
            mask = self.constraints.mask()
            if truth is not None and whole is not None and mask is not None:
                values = truth[column].dropna()
                cells = values.index.to_numpy()
                cells = cells[mask[cells]]
                points = {int(i): (float(values[i]), float(whole[i])) for i in cells}
                best = pareto.front(points)
                self._true[column] = np.array([points[i] for i in best]).reshape(-1, 2)
        return self._true[column]


def _meter(space, dataset, device: str):
    from knas.data import samples
    from knas.scoring import latency as measuring

    x, _ = samples.to_tensors(dataset, [0])
    return measuring.LatencyMeter(space, x, dataset.num_classes, device)


def _counter(space, dataset):
    """index -> (parameters, FLOPs) of the built network, for a space without closed forms."""
    def count(index: int) -> tuple[float, float]:
        import torch

        from knas.data import samples
        from knas.proxies import counts

        x, y = samples.to_tensors(dataset, [0])
        torch.manual_seed(0)
        net = space.build(space.arch_at(index), dataset.num_classes)
        return counts.params(net, x, y), counts.flops(net, x, y)
    return count
