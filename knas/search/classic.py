"""Classic multi-trial NAS (train each candidate, keep the best) on any space's clock, so KNAS can
be put on the same search-cost axis. The strategies themselves are ``knas.search.strategies``.

Two oracles answer "train this cell": ``TableOracle`` simulates it as NAS-Bench-201 does, from a
space's tables (its short-schedule accuracy is the reward, its recorded training time advances
the clock); ``TrainingOracle`` really trains the cell (``knas.search.train``) and the clock
advances by the measured seconds, for a space without tables. With a table the search stops at
the first evaluation that would take the clock past the budget; that evaluation is not counted,
so the clock never exceeds the budget (NAS-Bench-201's RANDOM.py and R_EA.py: ``if total + cost
> budget: stop``). Real training cannot know a cell's cost in advance: it stops once the clock
has reached the budget, so the last evaluation may overshoot it (as NATS-Bench's versions do).
A cell proposed again is not trained again: its result is reused and its recorded seconds are
charged again, as the simulation charges them. The search returns its best cell by reward
(earliest on ties); the caller reports that cell's test accuracy.

NAS-Bench-201 simulation, default budgets: 12,000 s for CIFAR-10, the budget of NAS-Bench-201's
runs (every script passes ``--time_budget 12000``; its paper searched on CIFAR-10 only and reported
the found cells on all three datasets, per the author in AutoDL-Projects issue #96). For CIFAR-100
and ImageNet16-120 the only published figures are NATS-Bench's: 40,000 s and 120,000 s (20,000 s
for CIFAR-10; exps/NATS-algos/run-all.sh); ``knas.spaces.nb201.columns`` holds both sets.
Differences from the official simulation, all deliberate: the reward is the 12-epoch *test*
accuracy averaged over seeds (theirs: validation accuracy of one random seed; the shared table has
no 12-epoch validation column); an evaluation costs 12/200 of the recorded 200-epoch training time
(theirs: the 12-epoch run's own time plus one validation pass); the strategies' own compute time is
not added to the clock (theirs adds it for REA and REINFORCE, making runs irreproducible); the
budget check covers REA's initial population too; and REINFORCE does not keep the over-budget cell
as a candidate, which their reinforce.py does. BOHB, the fourth multi-trial method of
NAS-Bench-201, needs accuracies at intermediate budgets (learning curves); the shared tables hold
only 12- and 200-epoch results, so it is not simulated: ``bohb`` always trains for real
(``TrainingOracle.train_pruned``, epoch by epoch, stopped early when its pruner says so) and its
clock is the measured seconds of every trial, pruned or not. It refuses a ``TableOracle``.

Every strategy is seeded (same seed, same run). ``search`` returns a generator that yields one
``Evaluation`` per counted evaluation and returns a ``ClassicResult`` (``yield from`` gets it;
``run`` drains one). Torch-free (``TrainingOracle`` imports torch when it first trains).
"""
from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from knas.search import strategies
from knas.search.strategies import StrategyError as ClassicError

__all__ = ["ClassicError", "TableOracle", "TrainingOracle", "Evaluation", "ClassicResult",
           "table_oracle", "search", "run"]


@dataclass(frozen=True, eq=False)
class TableOracle:
    """Simulated training from a space's tables: reward and seconds of one evaluation per cell."""
    space: object
    dataset: str
    rewards: np.ndarray  # short-schedule accuracy, index order
    seconds: np.ndarray  # training seconds of one evaluation, index order
    epochs: int
    cost_estimated: bool  # seconds from the space's estimate, not recorded times
    simulated = True

    def known_cost(self, index: int) -> float:
        return float(self.seconds[index])

    def evaluate(self, index: int) -> tuple[float, float]:
        return float(self.rewards[index]), float(self.seconds[index])

    def default_budget(self) -> float | None:
        return self.space.default_budget(self.dataset)

    def cheapest(self) -> float:
        return float(self.seconds.min())


class TrainingOracle:
    """Real training: the reward is the cell's validation accuracy after ``settings.epochs``
    epochs on ``data`` (a training split), the cost its measured seconds."""

    simulated = False
    cost_estimated = False

    def __init__(self, space, dataset: str, data, settings, device: str = "cpu",
                 should_stop=None, test=None, measured_test: dict | None = None):
        self.space, self.dataset, self.data, self.settings = space, dataset, data, settings
        self.device, self.should_stop, self.test = device, should_stop, test
        self.epochs = settings.epochs
        # index -> accuracy on the ``test`` split, for the caller to report the pick by
        self.measured_test = {} if measured_test is None else measured_test
        self._done: dict[int, tuple[float, float]] = {}

    def known_cost(self, index: int) -> float | None:
        return self._done[index][1] if index in self._done else None

    def evaluate(self, index: int) -> tuple[float, float]:
        if index not in self._done:
            from knas.search import train

            result = train.train_and_evaluate(self.space, index, self.data, self.settings,
                                              device=self.device, should_stop=self.should_stop,
                                              test=self.test)
            self._done[index] = (float(result.val_accuracy), float(result.seconds))
            if result.test_accuracy is not None:
                self.measured_test[index] = result.test_accuracy
        return self._done[index]

    def train_pruned(self, index: int, epochs: int, stop_after) -> tuple[list[float], float]:
        """Train ``index`` for up to ``epochs`` epochs (the learning rate anneals over all of them)
        and call ``stop_after(epoch, val_accuracy)`` after each; training ends after an epoch
        where it returns True. Returns the validation accuracy after each epoch trained and the
        seconds they took. Not cached: a cell proposed again trains again (to the same curve)."""
        from knas.search import train

        curve: list[float] = []
        start, seconds = time.perf_counter(), 0.0

        def on_epoch(epoch: int, _train_loss: float, accuracy: float) -> None:
            nonlocal seconds
            curve.append(accuracy)
            seconds = time.perf_counter() - start  # to this epoch's validation, as a full run
            if stop_after(epoch, accuracy):
                raise _Pruned()

        try:
            result = train.train_and_evaluate(
                self.space, index, self.data, dataclasses.replace(self.settings, epochs=epochs),
                device=self.device, on_epoch=on_epoch, should_stop=self.should_stop,
                test=self.test)
        except _Pruned:
            return curve, seconds
        if result.test_accuracy is not None:
            self.measured_test[index] = result.test_accuracy
        return curve, seconds

    def default_budget(self) -> None:
        return None

    def cheapest(self) -> float:
        return 0.0


class _Pruned(Exception):
    """Raised from ``on_epoch`` to end a training its caller stopped early."""


@dataclass(frozen=True)
class Evaluation:
    """One counted evaluation; ``details`` holds strategy state (``population_mean`` for rea,
    ``entropy`` of the policy in nats for reinforce; for bohb the ``epochs`` trained, whether the
    trial was ``pruned`` and its ``curve``, the validation accuracy after each epoch)."""
    step: int
    index: int
    reward: float
    seconds: float
    clock: float
    best_index: int
    best_reward: float
    details: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ClassicResult:
    strategy: str
    dataset: str
    seed: int
    budget: float
    chosen: int  # best cell by reward (bohb: among those trained for its full budget)
    reward: float
    evaluations: int
    clock: float  # seconds spent: simulated, or measured training
    cost_estimated: bool


def table_oracle(space, dataset: str, table: pd.DataFrame, costs_table: pd.DataFrame | None = None,
                 epochs: int | None = None) -> TableOracle:
    """The simulated-training oracle from a space's short-schedule table and its costs table
    (without it, the space's flagged estimate). Both must cover every cell."""
    if space.short_epochs is None or dataset not in space.datasets:
        raise ClassicError(f"unknown dataset {dataset!r} for {space.name}'s simulated training"
                           + (f"; its data sets: {', '.join(space.datasets)}" if space.datasets else ""))
    epochs = space.short_epochs if epochs is None else epochs
    name = space.truth_columns(dataset).short
    if name not in table.columns:
        raise ClassicError(f"the {space.short_epochs}-epoch table has no column {name!r} (rewards for "
                           f"{dataset}); its columns: {', '.join(map(str, table.columns))}")
    rewards = table[name].reindex(range(space.size)).to_numpy(dtype=float)
    if not np.isfinite(rewards).all():
        raise ClassicError(f"the {space.short_epochs}-epoch table lacks {name} for "
                           f"{int((~np.isfinite(rewards)).sum())} of {space.size} cells; a search "
                           "over the whole space needs all")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ClassicError(f"epochs must be a positive integer, got {epochs!r}")
    per_epoch, estimated = space.seconds_per_epoch(dataset, costs_table)
    return TableOracle(space, dataset, rewards, per_epoch * epochs, epochs, estimated)


def search(strategy: str, oracle, seed: int, budget: float | None = None, constraints=None,
           objective=None, **options) -> Generator[Evaluation, None, ClassicResult]:
    """A seeded classic search; settings are checked here, before the first evaluation.

    ``budget`` defaults to the oracle's (a space's simulated default). ``constraints``
    (``knas.search.constraints.Constraints``) limits the cells it may evaluate: a proposal that
    does not fit is drawn again without being trained or charged (each strategy says how in
    ``knas.search.strategies``). ``objective`` (index -> latency) is the second objective of a
    multi-objective strategy (nsga2), which needs it. Options are the
    strategy's (``strategies.CATALOG``): rea ``population_size``, ``sample_size``; reinforce
    ``learning_rate``, ``momentum``; tpe ``study``, an Optuna study to drive (e.g.
    ``strategies.tpe_study(seed)``, to inspect it afterwards; a fresh seeded one by default);
    bohb ``min_epochs``, ``max_epochs`` (None: the oracle's epochs), ``reduction_factor``.
    """
    meta = strategies.info(strategy)
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ClassicError(f"seed must be a non-negative integer, got {seed!r}")
    budget = oracle.default_budget() if budget is None else budget
    if budget is None:
        raise ClassicError(f"{strategy} trains cells for real: give a budget in seconds")
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) \
            or budget <= 0:
        raise ClassicError(f"budget must be a positive number of seconds, got {budget!r}")
    unknown = set(options) - set(meta.options)
    if unknown:
        raise ClassicError(f"{strategy} has no option(s) {', '.join(sorted(unknown))}; "
                           f"it takes: {', '.join(meta.options) or 'none'}")
    settings = {**meta.options, **options}
    if meta.trains and oracle.simulated:
        raise ClassicError(f"{strategy} needs accuracies after each epoch (its budgets), which a "
                           "table of final accuracies does not hold: it trains cells for real "
                           "(give it a TrainingOracle)")
    if meta.objectives > 1 and objective is None:
        raise ClassicError(f"{strategy} searches an accuracy–latency front: give its latency")
    if meta.check:
        meta.check(settings)
    if budget < oracle.cheapest():
        raise ClassicError(f"budget {budget:g} s is below the cost of the cheapest cell's evaluation "
                           f"({oracle.cheapest():.0f} s): nothing could be evaluated")
    sim = _Clock(oracle, float(budget), constraints, objective)
    return _driven(strategy, seed, sim, meta.steps(sim, seed, **settings))


def run(strategy: str, oracle, seed: int, budget: float | None = None,
        **options) -> tuple[list[Evaluation], ClassicResult]:
    """Run a search to the end: all its evaluations and its result."""
    generator = search(strategy, oracle, seed, budget, **options)
    records = []
    while True:
        try:
            records.append(next(generator))
        except StopIteration as stop:
            return records, stop.value


class _Clock:
    """One search's clock and incumbent; ``space``, ``fits``, ``violation`` and ``latency``
    are what the strategies see."""

    def __init__(self, oracle, budget: float, constraints=None, objective=None):
        self.oracle, self.budget, self.space = oracle, budget, oracle.space
        self.constraints, self.latency = constraints, objective
        self.clock, self.step = 0.0, 0
        self.best_index, self.best_reward = -1, -math.inf
        self.best_complete = False  # whether the incumbent was trained for the full budget

    def fits(self, index: int) -> bool:
        return not self.constraints or self.constraints.fits(index)

    def violation(self, index: int) -> float:
        """How far a cell is past the limits (0: it fits), for a strategy that learns from it."""
        return self.constraints.violation(index) if self.constraints else 0.0

    def evaluate(self, index: int) -> Evaluation | None:
        """Train ``index``; None, and nothing counted, once the budget is spent (see the module
        doc for a cost known in advance and one measured). A cell must fit the constraints."""
        if not self.fits(index):
            raise ClassicError(f"cell {index} does not fit the constraints; strategies propose "
                               "only cells that fit")
        known = self.oracle.known_cost(index)
        if known is not None and self.clock + known > self.budget:
            return None
        if known is None and self.clock >= self.budget:
            return None
        return self._count(index, *self.oracle.evaluate(index))

    def train_pruned(self, index: int, epochs: int, stop_after) -> Evaluation | None:
        """Train ``index`` for up to ``epochs`` epochs, stopped early by ``stop_after`` (see
        ``TrainingOracle.train_pruned``); None once the budget is spent. Its measured seconds are
        charged, pruned or not; its reward is the accuracy after its last epoch, and only a cell
        trained for all ``epochs`` displaces an incumbent that was."""
        if not self.fits(index):
            raise ClassicError(f"cell {index} does not fit the constraints; strategies propose "
                               "only cells that fit")
        if self.clock >= self.budget:
            return None
        curve, seconds = self.oracle.train_pruned(index, epochs, stop_after)
        pruned = len(curve) < epochs
        return self._count(index, curve[-1], seconds, complete=not pruned,
                           details={"epochs": len(curve), "pruned": pruned, "curve": tuple(curve)})

    def _count(self, index: int, reward: float, seconds: float, complete: bool = True,
               details: dict | None = None) -> Evaluation:
        self.clock += seconds
        self.step += 1
        if (complete, reward) > (self.best_complete, self.best_reward):
            self.best_index, self.best_reward, self.best_complete = index, reward, complete
        return Evaluation(self.step, index, reward, seconds, self.clock, self.best_index,
                          self.best_reward, details or {})


def _driven(strategy, seed, sim, steps) -> Generator[Evaluation, None, ClassicResult]:
    yield from steps
    if sim.step == 0:
        raise ClassicError(f"budget {sim.budget:g} s ran out before the first evaluation "
                           "(the first cell proposed costs more): nothing was evaluated")
    return ClassicResult(strategy, sim.oracle.dataset, seed, sim.budget, sim.best_index,
                         sim.best_reward, sim.step, sim.clock, sim.oracle.cost_estimated)
