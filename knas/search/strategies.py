"""The classic multi-trial strategies, one catalogue entry each: title, paper, options with their
defaults and checks, and the step function that proposes cells. Adding a strategy touches this
file only; ``knas.search.classic`` runs any of them on any space's clock.

A step function ``steps(sim, seed, **options)`` is a generator: it asks ``sim.evaluate(index)``
for each cell it wants trained (None once the budget is spent, which ends it) and yields each
``Evaluation``. It sees the space only through ``sim.space``: its ``decisions()`` (the
categorical choices that define a cell) and its ``mutate``.

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
Torch-free; Optuna is imported only by ``tpe``.
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


def _random_cell(decisions, rng: np.random.Generator) -> tuple:
    """One choice per decision, uniformly (one vectorised draw)."""
    draws = rng.integers(0, np.array([len(d.choices) for d in decisions]))
    return tuple(d.choices[int(k)] for d, k in zip(decisions, draws))


def _rs(sim, seed: int):
    rng = np.random.default_rng(seed)
    decisions = sim.space.decisions()
    while (record := sim.evaluate(sim.space.index_of(_random_cell(decisions, rng)))) is not None:
        yield record


def _rea(sim, seed: int, population_size: int, sample_size: int):
    rng = np.random.default_rng(seed)
    decisions = sim.space.decisions()
    population: list[tuple[tuple, float]] = []  # oldest first
    while True:
        if len(population) < population_size:
            child = _random_cell(decisions, rng)
        else:
            picks = rng.integers(0, len(population), size=sample_size)
            parent = max((population[int(i)] for i in picks), key=lambda member: member[1])
            child = sim.space.mutate(parent[0], rng)
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
        actions = [int(rng.choice(width, p=p[:width])) for p, width in zip(probs, widths)]
        cell = tuple(d.choices[a] for d, a in zip(decisions, actions))
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
    decisions = sim.space.decisions()
    distributions = {d.name: optuna.distributions.CategoricalDistribution(d.choices)
                     for d in decisions}
    while True:
        trial = study.ask(distributions)
        record = sim.evaluate(sim.space.index_of(tuple(trial.params[d.name] for d in decisions)))
        with quiet(optuna):
            if record is None:
                study.tell(trial, state=optuna.trial.TrialState.FAIL)
                return
            study.tell(trial, record.reward)
        yield record


def tpe_study(seed: int):
    """A maximising Optuna study with a seeded TPE sampler (Optuna's default settings)."""
    import optuna

    with quiet(optuna):
        return optuna.create_study(direction="maximize",
                                   sampler=optuna.samplers.TPESampler(seed=seed))


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
                raise StrategyError(f"rea: {name} must be a positive integer, got {value!r}")
    return check


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
]}
NAMES = tuple(CATALOG)


def info(name: str) -> StrategyInfo:
    try:
        return CATALOG[name]
    except KeyError:
        raise StrategyError(f"unknown strategy {name!r}; known: {', '.join(NAMES)}") from None
