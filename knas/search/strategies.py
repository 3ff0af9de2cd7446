"""The classic multi-trial strategies, one catalogue entry each: title, paper, options with their
defaults and checks, and the step function that proposes cells. Adding a strategy touches this
file only; ``knas.search.classic`` runs any of them on any space's clock.

A step function ``steps(sim, seed, **options)`` is a generator: it asks ``sim.evaluate(index)``
for each cell it wants trained (None once the budget is spent, which ends it) and yields each
``Evaluation``. It sees the space only through ``sim.space``: its ``decisions()`` (the
categorical choices that define a cell) and its ``mutate``. A strategy marked ``trains`` needs
accuracies after each epoch, which no table holds: it calls ``sim.train_pruned`` instead, and
runs only where cells are really trained.

After Dong & Yang, NAS-Bench-201 (ICLR 2020) and the official code in D-X-Y/AutoDL-Projects
(exps/NAS-Bench-201-algos/, scripts-search/NAS-Bench-201-algos/, docs/NAS-Bench-201.md) and
NATS-Bench (exps/NATS-algos/):
- ``rs``: random search, each cell drawn uniformly.
- ``rea``: regularized (aging) evolution, Real et al. 2019: population 10, tournament of 3 drawn
  with replacement, the oldest dies (R-EA.sh, docs command ``R-EA.sh cifar10 3 -1``; NATS run-all.sh
  uses the same); mutation is the space's (NAS-Bench-201: a node, then one of its inputs, then a
  different op).
- ``reinforce``: REINFORCE (Williams 1992) with a table of logits per decision and choice (init
  1e-3 N(0,1)), Adam, learning rate 0.5 (docs command ``REINFORCE.sh cifar10 0.5 -1``; NATS-Bench
  uses 0.01), and an EMA baseline of momentum 0.9 updated with the reward before the advantage is
  taken.
- ``tpe``: Optuna's TPE sampler (Bergstra et al. 2011), seeded, one categorical distribution per
  decision, driven by ask/tell so our clock holds the budget. Not in NAS-Bench-201's study.
- ``bohb``: BOHB (Falkner, Klein & Hutter, ICML 2018): TPE-style Bayesian sampling with
  Hyperband's budgets, here Optuna's ``TPESampler(multivariate=True)`` (the joint density over
  all decisions, Optuna's approximation of BOHB's multivariate KDE; its docstring cites BOHB) with
  ``HyperbandPruner(min_resource, max_resource, reduction_factor)``. Budgets are epochs: a trial
  trains its cell for real, reports the validation accuracy after each epoch and stops when the
  pruner says its rung's better trials leave no room for it. Defaults are NATS-Bench's BOHB on
  NAS-Bench-201's cells (AutoDL-Projects exps/NATS-algos/bohb.py: ``eta=3, min_budget=1,
  max_budget=12``, budget b read after b epochs of the 12-epoch schedule); ``max_epochs=None``
  is the oracle's training epochs (NAS-Bench-201: 12). The schedule spans ``max_epochs``, so a
  pruned trial is the start of the same run a full one makes. Its cell is the best by validation
  accuracy among trials trained for ``max_epochs`` (the best of all while none is). Optuna's
  HyperbandPruner docs: TPE models each bracket's trials apart (10 random start-up trials per
  bracket; pruned ones count, ranked by how far they got), and a trial's bracket follows the
  study's name, here fixed per seed, so the same seed gives the same trials.
- ``nsga2``: NSGA-II (Deb et al. 2002), pymoo's, on two objectives: the reward and the latency on
  the Pareto device; one integer variable per decision (pymoo's integer recipe: SBX and
  polynomial mutation with rounding), population 20, evaluated a generation at a time on our
  clock. Multi-objective: it runs in the Pareto mode only.

Under deployment limits (``sim.fits``) a proposal that does not fit is never trained or charged:
rs, rea's first population and fallbacks draw again; rea mutates its parent again (up to 100
times, then draws); reinforce samples its policy again (updating it only on cells it trained);
tpe and bohb are Optuna's constrained TPE (each trial's violation set with
``Trial.set_constraint``; a rejected one is told without training, so the sampler learns where
the limits are); nsga2 gets the violation as pymoo's inequality constraint. Torch-free; Optuna and
pymoo are imported only by ``tpe``, ``bohb`` and ``nsga2``.
"""
from __future__ import annotations

import contextlib
import dataclasses
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from knas.errors import KnasError


class StrategyError(KnasError):
    """Settings a classic search cannot run with; the message names the setting."""


@dataclass(frozen=True)
class StrategyInfo:
    name: str
    title: str  # for people
    paper: str
    steps: Callable  # steps(sim, seed, **options): the generator described in the module doc
    options: dict = field(default_factory=dict)  # option -> default
    check: Callable | None = None  # check(options) raises StrategyError for a bad value
    objectives: int = 1  # 2: searches the accuracy-latency front (needs a Pareto device)
    trains: bool = False  # needs accuracies after each epoch: trains cells even where a table is


def trains_for_real(name: str, space) -> bool:
    """Whether a strategy trains the cells it evaluates on ``space``: one that needs intermediate
    budgets always, any other where the space has no table of short runs to look up."""
    return info(name).trains or space.short_epochs is None


def _random_cell(decisions, rng: np.random.Generator) -> tuple:
    """One choice per decision, uniformly (one vectorised draw)."""
    draws = rng.integers(0, np.array([len(d.choices) for d in decisions]))
    return tuple(d.choices[int(k)] for d, k in zip(decisions, draws))


DRAWS = 100_000  # proposals that do not fit tried before a strategy gives up


def _fitting_cell(sim, decisions, rng: np.random.Generator) -> tuple:
    """A uniform draw among the cells that fit the limits (by rejection)."""
    for _ in range(DRAWS):
        cell = _random_cell(decisions, rng)
        if sim.fits(sim.space.index_of(cell)):
            return cell
    raise StrategyError(f"none of {DRAWS:,} random cells fits the limits")


def _rs(sim, seed: int):
    rng = np.random.default_rng(seed)
    decisions = sim.space.decisions()
    while (record := sim.evaluate(sim.space.index_of(_fitting_cell(sim, decisions, rng)))) \
            is not None:
        yield record


def _fitting_child(sim, parent: tuple, decisions, rng) -> tuple:
    for _ in range(100):
        child = sim.space.mutate(parent, rng)
        if sim.fits(sim.space.index_of(child)):
            return child
    return _fitting_cell(sim, decisions, rng)


def _rea(sim, seed: int, population_size: int, sample_size: int):
    rng = np.random.default_rng(seed)
    decisions = sim.space.decisions()
    population: list[tuple[tuple, float]] = []  # oldest first
    while True:
        if len(population) < population_size:
            child = _fitting_cell(sim, decisions, rng)
        else:
            picks = rng.integers(0, len(population), size=sample_size)
            parent = max((population[int(i)] for i in picks), key=lambda member: member[1])
            child = _fitting_child(sim, parent[0], decisions, rng)
        record = sim.evaluate(sim.space.index_of(child))
        if record is None:
            return
        population.append((child, record.reward))
        if len(population) > population_size:
            population.pop(0)
        yield dataclasses.replace(
            record, details={"population_mean": float(np.mean([r for _, r in population]))})


def _reinforce(sim, seed: int, learning_rate: float, momentum: float):
    """One row of logits per decision, padded to the widest decision (padding never drawn)."""
    rng = np.random.default_rng(seed)
    decisions = sim.space.decisions()
    widths = np.array([len(d.choices) for d in decisions])
    valid = np.arange(widths.max())[None, :] < widths[:, None]
    logits = 1e-3 * rng.standard_normal(valid.shape)
    adam = _Adam(logits.shape, learning_rate)
    numerator = denominator = 0.0  # bias-corrected EMA, as their ExponentialMovingAverage
    while True:
        probs = _softmax(logits, valid)
        for _ in range(1000):
            actions = [int(rng.choice(width, p=p[:width])) for p, width in zip(probs, widths)]
            cell = tuple(d.choices[a] for d, a in zip(decisions, actions))
            if sim.fits(sim.space.index_of(cell)):
                break
        else:
            cell = _fitting_cell(sim, decisions, rng)
            actions = [d.choices.index(c) for d, c in zip(decisions, cell)]
        record = sim.evaluate(sim.space.index_of(cell))
        if record is None:
            return
        numerator = momentum * numerator + (1 - momentum) * record.reward
        denominator = momentum * denominator + (1 - momentum)
        advantage = record.reward - numerator / denominator
        chosen = np.zeros_like(probs)
        chosen[np.arange(len(decisions)), actions] = 1.0
        # loss = -advantage * sum(log p(action)); d log p / d logits = onehot - p
        logits = adam.step(logits, -advantage * (chosen - probs))
        probs = _softmax(logits, valid)
        entropy = -(probs[valid] * np.log(probs[valid])).sum()
        yield dataclasses.replace(record, details={"entropy": float(entropy)})


def _softmax(logits: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Row-wise softmax over the valid entries (the rest get probability 0)."""
    masked = np.where(valid, logits, -np.inf)
    z = np.exp(masked - masked.max(axis=1, keepdims=True))
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


def _tpe(sim, seed: int, study=None):
    import optuna

    study = tpe_study(seed) if study is None else study
    distributions = _distributions(sim)
    while True:
        trial, index = _fitting_trial(sim, study, distributions, "tpe")
        record = sim.evaluate(index)
        with quiet(optuna):
            if record is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            study.tell(trial, record.reward)
        yield record


def _distributions(sim) -> dict:
    """One Optuna categorical distribution per decision of the space."""
    import optuna

    return {d.name: optuna.distributions.CategoricalDistribution(d.choices)
            for d in sim.space.decisions()}


def _fitting_trial(sim, study, distributions: dict, name: str):
    """The study's next trial whose cell fits the limits, and that cell's index. A cell that does
    not fit is not trained: its trial is told how far past the limits it is."""
    import optuna

    decisions = sim.space.decisions()
    for _ in range(DRAWS):
        trial = study.ask(distributions)
        index = sim.space.index_of(tuple(trial.params[d.name] for d in decisions))
        if sim.constraints:
            trial.set_constraint(VIOLATION, sim.violation(index))
        if sim.fits(index):
            return trial, index
        with quiet(optuna):
            study.tell(trial, 0.0)
    raise StrategyError(f"{name} proposed {DRAWS:,} cells in a row that do not fit")


def _bohb(sim, seed: int, min_epochs: int, max_epochs: int | None, reduction_factor: int):
    """BOHB on Optuna (see the module doc); each trial trains its cell epoch by epoch."""
    import optuna

    max_epochs = sim.oracle.epochs if max_epochs is None else max_epochs
    if min_epochs > max_epochs:
        raise StrategyError(f"bohb: min_epochs ({min_epochs}) is more than max_epochs "
                            f"({max_epochs})")
    with quiet(optuna):
        study = optuna.create_study(
            study_name=f"bohb-seed-{seed}", direction="maximize",
            sampler=optuna.samplers.TPESampler(seed=seed, multivariate=True),
            pruner=optuna.pruners.HyperbandPruner(min_epochs, max_epochs, reduction_factor))
    distributions = _distributions(sim)
    while True:
        trial, index = _fitting_trial(sim, study, distributions, "bohb")

        def stop_after(epoch: int, accuracy: float, trial=trial) -> bool:
            trial.report(accuracy, epoch)  # a trial that reached max_epochs is complete
            return epoch < max_epochs and trial.should_prune()

        record = sim.train_pruned(index, max_epochs, stop_after)
        with quiet(optuna):
            if record is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            if record.details["pruned"]:
                study.tell(trial, state=optuna.trial.TrialState.PRUNED)
            else:
                study.tell(trial, record.reward)
        yield record


VIOLATION = "limits"  # a trial's constraint: how far past the limits its cell is (0: fits)


def tpe_study(seed: int):
    """A maximising Optuna study with a seeded TPE sampler (Optuna's default settings; under
    limits each trial carries its violation as a constraint, which TPE then honours)."""
    import optuna

    with quiet(optuna):
        return optuna.create_study(direction="maximize",
                                   sampler=optuna.samplers.TPESampler(seed=seed))


def _nsga2(sim, seed: int, population_size: int):
    from pymoo.algorithms.moo.nsga2 import NSGA2
    from pymoo.core.evaluator import Evaluator
    from pymoo.core.problem import Problem
    from pymoo.operators.crossover.sbx import SBX
    from pymoo.operators.mutation.pm import PM
    from pymoo.operators.repair.rounding import RoundingRepair
    from pymoo.operators.sampling.rnd import IntegerRandomSampling
    from pymoo.problems.static import StaticProblem

    decisions = sim.space.decisions()
    widths = np.array([len(d.choices) for d in decisions])
    problem = Problem(n_var=len(decisions), n_obj=2, n_ieq_constr=1, xl=0, xu=widths - 1,
                      vtype=int)
    algorithm = NSGA2(pop_size=population_size, sampling=IntegerRandomSampling(),
                      crossover=SBX(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                      mutation=PM(prob=1.0, eta=3.0, vtype=float, repair=RoundingRepair()),
                      eliminate_duplicates=True)
    algorithm.setup(problem, termination=("n_gen", 10**9), seed=seed, verbose=False)
    while True:
        population = algorithm.ask()
        objectives, violations = [], []
        for x in population.get("X"):
            index = sim.space.index_of(tuple(d.choices[int(v)] for d, v in zip(decisions, x)))
            latency = float(sim.latency(index))
            if not sim.fits(index):  # not trained: ranked behind every cell that fits
                objectives.append([0.0, latency])
                violations.append([sim.violation(index)])
                continue
            record = sim.evaluate(index)
            if record is None:
                return
            objectives.append([-record.reward, latency])
            violations.append([0.0])
            yield record
        evaluated = StaticProblem(problem, F=np.array(objectives), G=np.array(violations))
        Evaluator().eval(evaluated, population)
        algorithm.tell(infills=population)


@contextlib.contextmanager
def quiet(optuna):
    """Silence Optuna's per-trial INFO line, restoring the caller's verbosity after."""
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _positive_ints(*names):
    def check(options: dict) -> None:
        for name in names:
            value = options[name]
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise StrategyError(f"{name} must be a positive integer, got {value!r}")
    return check


def _check_bohb(options: dict) -> None:
    for name in ("min_epochs", "max_epochs", "reduction_factor"):
        value = options[name]
        if name == "max_epochs" and value is None:
            continue
        least = 2 if name == "reduction_factor" else 1
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise StrategyError(f"bohb: {name} must be an integer >= {least}, got {value!r}")


def _check_reinforce(options: dict) -> None:
    lr, momentum = options["learning_rate"], options["momentum"]
    if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not math.isfinite(lr) or lr <= 0:
        raise StrategyError(f"reinforce: learning_rate must be a positive number, got {lr!r}")
    if isinstance(momentum, bool) or not isinstance(momentum, (int, float)) or not 0 <= momentum < 1:
        raise StrategyError(f"reinforce: momentum must be in [0, 1), got {momentum!r}")


_NB201 = "Dong & Yang, NAS-Bench-201, ICLR 2020 (its simulated baselines)"
CATALOG = {s.name: s for s in [
    StrategyInfo("rs", "random search", f"Bergstra & Bengio, JMLR 2012; {_NB201}", _rs),
    StrategyInfo("rea", "regularized evolution", f"Real et al., AAAI 2019; {_NB201}", _rea,
                 {"population_size": 10, "sample_size": 3},
                 _positive_ints("population_size", "sample_size")),
    StrategyInfo("reinforce", "REINFORCE policy gradient", f"Williams 1992; {_NB201}", _reinforce,
                 {"learning_rate": 0.5, "momentum": 0.9}, _check_reinforce),
    StrategyInfo("tpe", "TPE (Optuna's Bayesian optimisation)",
                 "Bergstra et al., NeurIPS 2011; Akiba et al., Optuna, KDD 2019", _tpe,
                 {"study": None}),
    StrategyInfo("bohb", "BOHB (TPE with Hyperband's epoch budgets)",
                 "Falkner, Klein & Hutter, ICML 2018; Akiba et al., Optuna, KDD 2019", _bohb,
                 {"min_epochs": 1, "max_epochs": None, "reduction_factor": 3}, _check_bohb,
                 trains=True),
    StrategyInfo("nsga2", "NSGA-II (pymoo), accuracy and latency",
                 "Deb et al., IEEE TEC 2002; Blank & Deb, pymoo, IEEE Access 2020", _nsga2,
                 {"population_size": 20}, _positive_ints("population_size"), objectives=2),
]}
NAMES = tuple(CATALOG)


def info(name: str) -> StrategyInfo:
    try:
        return CATALOG[name]
    except KeyError:
        raise StrategyError(f"unknown strategy {name!r}; known: {', '.join(NAMES)}") from None
