"""Classic multi-trial NAS (train each candidate, keep the best), simulated as NAS-Bench-201 does,
so KNAS can be put on the same search-cost axis.

Each evaluation "trains" a cell for 12 epochs: its reward is the cell's 12-epoch accuracy from the
12-epoch table and the simulated clock advances by its 12-epoch training time (``knas.traincost``).
The search stops at the first evaluation that would take the clock past the budget; that
evaluation is not counted, so the clock never exceeds the budget (NAS-Bench-201's RANDOM.py and
R_EA.py: ``if total + cost > budget: stop``). The search returns its best cell by reward (earliest
on ties); the caller reports that cell's 200-epoch test accuracy.

Strategies, after Dong & Yang, NAS-Bench-201 (ICLR 2020) and the official code in
D-X-Y/AutoDL-Projects (exps/NAS-Bench-201-algos/, scripts-search/NAS-Bench-201-algos/,
docs/NAS-Bench-201.md) and NATS-Bench (exps/NATS-algos/):
- ``rs``: random search, each cell drawn uniformly.
- ``rea``: regularized (aging) evolution, Real et al. 2019: population 10, tournament of 3 drawn
  with replacement, the oldest dies (R-EA.sh, docs command ``R-EA.sh cifar10 3 -1``; NATS run-all.sh
  uses the same). Mutation as theirs: a node drawn uniformly, then one of its incoming edges, then a
  different op, so edge 1<-0 mutates with probability 1/3 and each edge into node 3 with 1/9.
- ``reinforce``: REINFORCE (Williams 1992) with a 6x5 table of op logits (init 1e-3 N(0,1)), Adam,
  learning rate 0.5 (docs command ``REINFORCE.sh cifar10 0.5 -1``; NATS-Bench uses 0.01), and an
  EMA baseline of momentum 0.9 updated with the reward before the advantage is taken.
- ``tpe``: Optuna's TPE sampler (Bergstra et al. 2011), seeded, six categorical parameters, driven by
  ask/tell so this clock holds the budget. Not in NAS-Bench-201's study.
BOHB, the fourth multi-trial method of NAS-Bench-201, needs accuracies at intermediate budgets
(learning curves); the shared tables hold only 12- and 200-epoch results, so it is not simulated.

Default budgets: 12,000 s for CIFAR-10, the budget of NAS-Bench-201's runs (every script passes
``--time_budget 12000``; its paper searched on CIFAR-10 only and reported the found cells on all
three datasets, per the author in AutoDL-Projects issue #96). For CIFAR-100 and ImageNet16-120 the
only published figures are NATS-Bench's: 40,000 s and 120,000 s (20,000 s for CIFAR-10;
exps/NATS-algos/run-all.sh). Both sets are exported.

Differences from the official simulation, all deliberate: the reward is the 12-epoch *test*
accuracy averaged over seeds (theirs: validation accuracy of one random seed; the shared table has
no 12-epoch validation column); an evaluation costs 12/200 of the recorded 200-epoch training time
(theirs: the 12-epoch run's own time plus one validation pass); the strategies' own compute time is
not added to the clock (theirs adds it for REA and REINFORCE, making runs irreproducible); the
budget check covers REA's initial population too; and REINFORCE does not keep the over-budget cell
as a candidate, which their reinforce.py does. NATS-Bench's versions instead let the last
evaluation overshoot the budget.

Every strategy is seeded (same seed, same run). ``search`` returns a generator that yields one
``Evaluation`` per counted evaluation and returns a ``ClassicResult`` (``yield from`` gets it;
``run`` drains one). Torch-free; Optuna is imported only by ``tpe``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from collections.abc import Generator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import datasets, space, traincost
from .specs import STRATEGIES
from .errors import KnasError

SEARCH_EPOCHS = datasets.SHORT_EPOCHS
NB201_BUDGETS = {"cifar10": 12000.0, "cifar100": 12000.0, "imagenet16-120": 12000.0}
NATS_BUDGETS = {"cifar10": 20000.0, "cifar100": 40000.0, "imagenet16-120": 120000.0}
DEFAULT_BUDGETS = {"cifar10": 12000.0, "cifar100": 40000.0, "imagenet16-120": 120000.0}
DEFAULT_OPTIONS = {
    "rs": {},
    "rea": {"population_size": 10, "sample_size": 3},
    "reinforce": {"learning_rate": 0.5, "momentum": 0.9},
    "tpe": {"study": None},
}
_N_EDGES, _N_OPS = len(space.EDGES), len(space.OPS)


class ClassicError(KnasError):
    """Settings a classic search cannot run with; the message names the setting."""


@dataclass(frozen=True, eq=False)
class Oracle:
    """What simulated training answers per cell: reward and seconds of one evaluation."""
    dataset: str
    rewards: np.ndarray  # 12-epoch accuracy, index order
    seconds: np.ndarray  # training seconds of one evaluation, index order
    epochs: int
    cost_estimated: bool  # seconds from the FLOPs fallback, not recorded times


@dataclass(frozen=True)
class Evaluation:
    """One counted evaluation; ``details`` holds strategy state (``population_mean`` for rea,
    ``entropy`` of the policy in nats for reinforce)."""
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
    chosen: int  # best cell by reward
    reward: float
    evaluations: int
    clock: float  # simulated seconds spent
    cost_estimated: bool


def oracle(dataset: str, table12: pd.DataFrame, costs_table: pd.DataFrame | None = None,
           epochs: int = SEARCH_EPOCHS) -> Oracle:
    """The simulated-training oracle from the 12-epoch table and the costs table (without it,
    the flagged FLOPs estimate). Both must cover all 15,625 cells."""
    if dataset not in datasets.CATALOG:
        raise ClassicError(f"unknown dataset {dataset!r}; known: {', '.join(datasets.NAMES)}")
    name = datasets.CATALOG[dataset].table12_column
    if name not in table12.columns:
        raise ClassicError(f"the 12-epoch table has no column {name!r} (rewards for {dataset}); "
                           f"its columns: {', '.join(map(str, table12.columns))}")
    rewards = table12[name].reindex(range(space.N_ARCHS)).to_numpy(dtype=float)
    if not np.isfinite(rewards).all():
        raise ClassicError(f"the 12-epoch table lacks {name} for {int((~np.isfinite(rewards)).sum())} "
                           f"of {space.N_ARCHS} cells; a search over the whole space needs all")
    if isinstance(epochs, bool) or not isinstance(epochs, int) or epochs < 1:
        raise ClassicError(f"epochs must be a positive integer, got {epochs!r}")
    per_epoch, estimated = traincost.seconds_per_epoch(dataset, costs_table)
    return Oracle(dataset, rewards, per_epoch * epochs, epochs, estimated)


def search(strategy: str, oracle: Oracle, seed: int, budget: float | None = None,
           **options) -> Generator[Evaluation, None, ClassicResult]:
    """A seeded classic search; settings are checked here, before the first evaluation.

    ``budget`` defaults to ``DEFAULT_BUDGETS[oracle.dataset]``. Options: rea ``population_size``,
    ``sample_size``; reinforce ``learning_rate``, ``momentum``; tpe ``study``, an Optuna study to
    drive (e.g. ``tpe_study(seed)``, to inspect it afterwards; a fresh seeded one by default).
    """
    if strategy not in STRATEGIES:
        raise ClassicError(f"unknown strategy {strategy!r}; known: {', '.join(STRATEGIES)}")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ClassicError(f"seed must be a non-negative integer, got {seed!r}")
    budget = DEFAULT_BUDGETS[oracle.dataset] if budget is None else budget
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not math.isfinite(budget) \
            or budget <= 0:
        raise ClassicError(f"budget must be a positive number of seconds, got {budget!r}")
    unknown = set(options) - set(DEFAULT_OPTIONS[strategy])
    if unknown:
        raise ClassicError(f"{strategy} has no option(s) {', '.join(sorted(unknown))}; "
                           f"it takes: {', '.join(DEFAULT_OPTIONS[strategy]) or 'none'}")
    settings = {**DEFAULT_OPTIONS[strategy], **options}
    _check_options(strategy, settings)
    if budget < oracle.seconds.min():
        raise ClassicError(f"budget {budget:g} s is below the cost of the cheapest cell's evaluation "
                           f"({oracle.seconds.min():.0f} s): nothing could be evaluated")
    sim = _Clock(oracle, float(budget))
    return _driven(strategy, seed, sim, _STRATEGY_STEPS[strategy](sim, seed, **settings))


def run(strategy: str, oracle: Oracle, seed: int, budget: float | None = None,
        **options) -> tuple[list[Evaluation], ClassicResult]:
    """Run a search to the end: all its evaluations and its result."""
    generator = search(strategy, oracle, seed, budget, **options)
    records = []
    while True:
        try:
            records.append(next(generator))
        except StopIteration as stop:
            return records, stop.value


def tpe_study(seed: int):
    """A maximising Optuna study with a seeded TPE sampler (Optuna's default settings)."""
    import optuna

    with _quiet(optuna):
        return optuna.create_study(direction="maximize",
                                   sampler=optuna.samplers.TPESampler(seed=seed))


# --- the clock -----------------------------------------------------------------------------


class _Clock:
    """One search's clock and incumbent."""

    def __init__(self, oracle: Oracle, budget: float):
        self.oracle, self.budget = oracle, budget
        self.clock, self.step = 0.0, 0
        self.best_index, self.best_reward = -1, -math.inf

    def evaluate(self, index: int) -> Evaluation | None:
        """Train ``index``; None, and nothing counted, when it would overrun the budget."""
        seconds = float(self.oracle.seconds[index])
        if self.clock + seconds > self.budget:
            return None
        reward = float(self.oracle.rewards[index])
        self.clock += seconds
        self.step += 1
        if reward > self.best_reward:
            self.best_index, self.best_reward = index, reward
        return Evaluation(self.step, index, reward, seconds, self.clock, self.best_index,
                          self.best_reward)


def _driven(strategy, seed, sim, steps) -> Generator[Evaluation, None, ClassicResult]:
    yield from steps
    if sim.step == 0:
        raise ClassicError(f"budget {sim.budget:g} s ran out before the first evaluation "
                           "(the first cell proposed costs more): nothing was evaluated")
    return ClassicResult(strategy, sim.oracle.dataset, seed, sim.budget, sim.best_index,
                         sim.best_reward, sim.step, sim.clock, sim.oracle.cost_estimated)


def _with(record: Evaluation, **details) -> Evaluation:
    return dataclasses.replace(record, details=details)


# --- strategies ----------------------------------------------------------------------------


def _random_ops(rng: np.random.Generator) -> tuple:
    return tuple(space.OPS[k] for k in rng.integers(0, _N_OPS, size=_N_EDGES))


def _rs(sim: _Clock, seed: int):
    rng = np.random.default_rng(seed)
    while (record := sim.evaluate(space.index_of(_random_ops(rng)))) is not None:
        yield record


def _mutate(ops: tuple, rng: np.random.Generator) -> tuple:
    """AutoDL-Projects' mutate_arch: a random node, one of its inputs, a different op."""
    node = int(rng.integers(1, space.N_NODES))
    edge = node * (node - 1) // 2 + int(rng.integers(0, node))
    others = [op for op in space.OPS if op != ops[edge]]
    return ops[:edge] + (others[int(rng.integers(0, len(others)))],) + ops[edge + 1:]


def _rea(sim: _Clock, seed: int, population_size: int, sample_size: int):
    rng = np.random.default_rng(seed)
    population: list[tuple[tuple, float]] = []  # oldest first
    while True:
        if len(population) < population_size:
            child = _random_ops(rng)
        else:
            picks = rng.integers(0, len(population), size=sample_size)
            parent = max((population[int(i)] for i in picks), key=lambda member: member[1])
            child = _mutate(parent[0], rng)
        record = sim.evaluate(space.index_of(child))
        if record is None:
            return
        population.append((child, record.reward))
        if len(population) > population_size:
            population.pop(0)
        yield _with(record, population_mean=float(np.mean([r for _, r in population])))


def _reinforce(sim: _Clock, seed: int, learning_rate: float, momentum: float):
    rng = np.random.default_rng(seed)
    logits = 1e-3 * rng.standard_normal((_N_EDGES, _N_OPS))
    adam = _Adam(logits.shape, learning_rate)
    numerator = denominator = 0.0  # bias-corrected EMA, as their ExponentialMovingAverage
    while True:
        probs = _softmax(logits)
        actions = [int(rng.choice(_N_OPS, p=p)) for p in probs]
        record = sim.evaluate(space.index_of(tuple(space.OPS[a] for a in actions)))
        if record is None:
            return
        numerator = momentum * numerator + (1 - momentum) * record.reward
        denominator = momentum * denominator + (1 - momentum)
        advantage = record.reward - numerator / denominator
        chosen = np.zeros_like(probs)
        chosen[np.arange(_N_EDGES), actions] = 1.0
        # loss = -advantage * sum(log p(action)); d log p / d logits = onehot - p
        logits = adam.step(logits, -advantage * (chosen - probs))
        probs = _softmax(logits)
        yield _with(record, entropy=float(-(probs * np.log(probs)).sum()))


def _softmax(logits: np.ndarray) -> np.ndarray:
    z = np.exp(logits - logits.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


class _Adam:
    """Adam with torch.optim.Adam's defaults (betas 0.9/0.999, eps 1e-8), minimising."""

    def __init__(self, shape, lr: float, betas=(0.9, 0.999), eps=1e-8):
        self.lr, self.betas, self.eps, self.t = lr, betas, eps, 0
        self.m, self.v = np.zeros(shape), np.zeros(shape)

    def step(self, params: np.ndarray, grad: np.ndarray) -> np.ndarray:
        b1, b2 = self.betas
        self.t += 1
        self.m = b1 * self.m + (1 - b1) * grad
        self.v = b2 * self.v + (1 - b2) * grad**2
        m_hat, v_hat = self.m / (1 - b1**self.t), self.v / (1 - b2**self.t)
        return params - self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


def _tpe(sim: _Clock, seed: int, study=None):
    import optuna

    study = tpe_study(seed) if study is None else study
    names = [f"edge_{dst}_{src}" for dst, src in space.EDGES]
    distributions = {name: optuna.distributions.CategoricalDistribution(space.OPS) for name in names}
    while True:
        trial = study.ask(distributions)
        record = sim.evaluate(space.index_of(tuple(trial.params[name] for name in names)))
        with _quiet(optuna):
            if record is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            study.tell(trial, record.reward)
        yield record


@contextlib.contextmanager
def _quiet(optuna):
    """Silence Optuna's per-trial INFO line, restoring the caller's verbosity after."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


_STRATEGY_STEPS = {"rs": _rs, "rea": _rea, "reinforce": _reinforce, "tpe": _tpe}


def _check_options(strategy: str, settings: dict) -> None:
    def positive_int(name):
        value = settings[name]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ClassicError(f"{strategy}: {name} must be a positive integer, got {value!r}")

    if strategy == "rea":
        positive_int("population_size")
        positive_int("sample_size")
    elif strategy == "reinforce":
        lr, momentum = settings["learning_rate"], settings["momentum"]
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
            raise ClassicError(f"reinforce: learning_rate must be a positive number, got {lr!r}")
        if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) \
                or not 0 <= momentum < 1:
            raise ClassicError(f"reinforce: momentum must be in [0, 1), got {momentum!r}")
