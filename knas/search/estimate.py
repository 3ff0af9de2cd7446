"""How long a search will take, step by step, with the arithmetic written out, and afterwards how
long it took: start-up, scoring (per method), training, and the baselines that cost nothing.

Per-network seconds, start-up and training speed come from what this machine measured on its
earlier jobs (``knas.jobs.throughput``); until a figure has been measured, the catalogue's reference
constants stand in and each step says which basis it used. Torch-free.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import pandas as pd

from knas import fmt, proxies
from knas.data import datasets
from knas.jobs import throughput
from knas.search import constraints
from knas.search.events import MethodDone, Started, Trained
from knas.search.specs import REFERENCE, STRATEGIES, Method

DEFAULT_STARTUP = 15.0  # seconds from Start to data loaded, a guess (9-20 s seen on the 2-core CPU)
# Catalogue constants are CPU figures; on a GPU, until a job measures it, these divide them
# (docs/benchmarks.md): scoring by whole-space MGM's 1.9x on an H200 over the 2-core CPU (bound by
# building networks on the host), training by the 15.1x one core here is slower than
# NAS-Bench-201's GPU at training its cells (benchmarks/gpu_equivalent.py, a model).
SCORING_GPU_SPEEDUP = 1.9
TRAINING_GPU_SPEEDUP = 15.1
# Seconds per training image per epoch on the 2-core CPU (one torch thread), measured on cells
# 6111 (0.055 s) and 0 (0.011 s) with 1,000 images: a middle guess until a job measures it.
DEFAULT_TRAIN_SECONDS = 0.03
USER_TRAIN_GUESS = 5_000  # training texts of a user's own file, before it is read
MEASURED, GUESS, FREE, BUDGET = "measured here", "reference guess", "no compute", "its budget"


@dataclass(frozen=True)
class Step:
    stage: str  # "start-up", "scoring", "training" or "baseline"
    what: str  # e.g. "mgm"
    seconds: float
    arithmetic: str  # the sum written out, e.g. "83 networks × 0.62 s + 4 s to start"
    basis: str  # MEASURED, GUESS or FREE
    networks: int = 0  # networks this step scores or trains


@dataclass(frozen=True)
class Estimate:
    steps: tuple
    pool_size: int
    networks: int
    trained: int
    device: str

    @property
    def seconds(self) -> float:
        return sum(s.seconds for s in self.steps)

    def stage_seconds(self, stage: str) -> float:
        return sum(s.seconds for s in self.steps if s.stage == stage)

    def lines(self) -> list[str]:
        """One line per step, plain text."""
        return [f"{s.what}: {s.arithmetic}" + (f" = {fmt.seconds(s.seconds)}" if s.basis != FREE
                                               else "") + f" ({s.basis})" for s in self.steps]

    def to_dict(self) -> dict:
        return {**asdict(self), "steps": [asdict(s) for s in self.steps]}

    @classmethod
    def from_dict(cls, values: dict) -> "Estimate":
        return cls(**{**values, "steps": tuple(Step(**s) for s in values["steps"])})


def _networks(space, pool, members) -> int:
    """Networks a method builds on a pool: one per distinct function when all its passes allow
    sharing a score, else one per cell."""
    if all(proxies.info(m).dedup for m in members):
        return len({space.representative(i) for i in pool})
    return len(pool)


def _scoring_step(method: str, pools, config, device: str, saved: dict) -> Step:
    members = Method.parse(method).members
    networks = sum(_networks(config.search_space, pool, members) for pool in pools)
    cells = sum(len(pool) for pool in pools)
    measured = throughput.scoring(saved, throughput.pass_key(method), throughput.on(config, device),
                                  config.n)
    if measured is not None:
        per, fixed, at_n = measured
        per *= config.n / at_n
        basis = MEASURED + (f" at n = {at_n}, scaled to n = {config.n}" if at_n != config.n else "")
    else:
        passes = {proxies.info(m).shared_pass: proxies.info(m).cpu_seconds for m in members}
        per = sum(passes.values()) * config.n / 32
        per /= SCORING_GPU_SPEEDUP if device != "cpu" else 1.0
        fixed, basis = 0.0, GUESS + (f" (CPU figure ÷ {SCORING_GPU_SPEEDUP:g} for a GPU)"
                                     if device != "cpu" else "")
    starts = len(pools)
    arithmetic = f"{cells:,} cells → {networks:,} networks × {per:.2f} s"
    if fixed:
        arithmetic += f" + {starts} × {fixed:.0f} s to start the stage" if starts > 1 \
            else f" + {fixed:.0f} s to start the stage"
    return Step("scoring", method, networks * per + starts * fixed, arithmetic, basis, networks)


def _that_fit(config, pool: list[int]) -> list[int]:
    """The cells of a pool a search under limits scores: those that fit, when that is known
    without measuring (a latency table, closed-form counts); else every cell."""
    limits = constraints.limits_of(config)
    if not limits:
        return pool
    space = config.search_space
    table = constraints.load_table(config.latency, space) if config.latency else None
    mask = constraints.Constraints(limits, constraints.Measures(space, config.dataset, table)).mask()
    return pool if mask is None else [i for i in pool if mask[i]]


# One-shot searches, per training image of a step, in units of one cell's training: DARTS's
# supernet runs every op (its forward and backward took 3x the all-3x3-conv network's, batch 64,
# this CPU) on a weights and an architecture batch; GDAS one op per edge on both. TE-NAS: 60-67 s
# per run at its official settings on this CPU (benchmarks/oneshot_cpu.py).
ONESHOT_FACTOR = {"darts": 2 * 3.0, "gdas": 2 * 1.0}
TENAS_SECONDS = 65.0


def _oneshot_step(method: str, config, device: str, saved: dict) -> Step:
    from knas.oneshot.common import settings_for

    spec = Method.parse(method)
    if spec.oneshot == "tenas":
        seconds = TENAS_SECONDS / (SCORING_GPU_SPEEDUP if device != "cpu" else 1)
        return Step("training", method, seconds * config.repeats,
                    f"{config.repeats} × pruning the supernet at initialisation", GUESS)
    images = datasets.info(config.dataset).train_split or USER_TRAIN_GUESS
    per_image = throughput.training(saved, throughput.on(config, device))
    basis = MEASURED if per_image else GUESS
    per_image = per_image or DEFAULT_TRAIN_SECONDS / (TRAINING_GPU_SPEEDUP if device != "cpu" else 1)
    settings = settings_for(spec.oneshot, images, spec.epochs, config.seed)
    each = settings.steps * settings.batch_size * per_image * ONESHOT_FACTOR[spec.oneshot]
    return Step("training", method, each * config.repeats,
                f"{config.repeats} × {settings.steps:,} supernet steps of {settings.batch_size} "
                f"images (a cell's training × {ONESHOT_FACTOR[spec.oneshot]:g} per image)", basis)


def estimate(config, device: str = "cpu", saved: dict | None = None) -> Estimate:
    """The steps a valid config will take on ``device`` (cpu, cuda, mps) and their seconds."""
    saved = throughput.load() if saved is None else saved
    device = device.split(":")[0]
    pools = [_that_fit(config, pool) for pool in config.pools()]
    measured_startup = throughput.startup(saved, device)
    steps = [Step("start-up", "start-up", measured_startup or DEFAULT_STARTUP,
                  "worker start, data and tables loaded",
                  MEASURED if measured_startup else GUESS)]
    networks = 0
    for method in config.methods:
        if method in config.trained_strategies:
            budget = config.budget * config.repeats
            steps.append(Step("training", method, budget,
                              f"trains cells for real until its budget: {config.repeats} × "
                              f"{config.budget:g} s", BUDGET))
        elif method in STRATEGIES:
            steps.append(Step("baseline", method, 0.0, "simulated on the benchmark tables", FREE))
        elif method == REFERENCE:
            steps.append(Step("baseline", method, 0.0, "trained once per repeat (counted under "
                              "training)", FREE))
        elif Method.parse(method).oneshot:
            steps.append(_oneshot_step(method, config, device, saved))
        elif not Method.parse(method).members:
            steps.append(Step("baseline", method, 0.0, f"draws k = {config.k} cells", FREE))
        else:
            steps.append(_scoring_step(method, pools, config, device, saved))
            networks += steps[-1].networks
    stage = config.fine_stage
    trained = (config.k * len(config.two_stage_methods) + (REFERENCE in config.methods)) \
        * config.repeats if stage.kind == "train" else 0
    if trained:
        per_image = throughput.training(saved, throughput.on(config, device))
        basis = MEASURED if per_image else GUESS
        guess = config.search_space.train_seconds_guess or DEFAULT_TRAIN_SECONDS
        per_image = per_image or guess / (TRAINING_GPU_SPEEDUP if device != "cpu" else 1)
        noun = "texts" if datasets.is_text(config.dataset) else "images"
        images = config.train_samples or datasets.info(config.dataset).train_split \
            or USER_TRAIN_GUESS  # a user's own text file, before it is read
        each = images * stage.epochs * per_image
        steps.append(Step("training", "training", trained * each,
                          f"{trained:,} candidates × {stage.epochs} epoch(s) × {images:,} {noun} × "
                          f"{per_image * 1000:.1f} ms", basis, trained))
    else:
        steps.append(Step("training", "fine stage", 0.0, f"a lookup of {stage.column}", FREE))
    return Estimate(tuple(steps), len(pools[0]), networks, trained, device)


def summary(est: Estimate, config) -> str:
    """The whole estimate in one sentence: cells × scoring methods, networks, total time."""
    scorers = [s for s in est.steps if s.stage == "scoring"]
    what = f"{est.pool_size:,} cells × {len(scorers)} scoring method(s)"
    if config.repeats > 1:
        what += f" × {config.repeats} repeats"
    text = f"{what}: {est.networks:,} networks to score"
    if est.trained:
        text += f", {est.trained:,} to train"
    return text + f"; about {fmt.seconds(est.seconds)} on {est.device.upper()} in all."


LONG_RUN = 3600.0  # seconds: past an hour a run is worth a second look before it starts


def warning(est: Estimate, config) -> str | None:
    """What to say before a run that will take hours, with the step that takes longest."""
    if est.seconds < LONG_RUN:
        return None
    longest = max(est.steps, key=lambda s: s.seconds)
    return (f"This run will take about {fmt.seconds(est.seconds)}, most of it {longest.what} "
            f"({fmt.seconds(longest.seconds)}). A smaller pool, fewer repeats or a smaller k "
            "shortens it; cells already scored cost nothing.")


# --- afterwards ----------------------------------------------------------------------------------


def actual(state: dict, events) -> dict:
    """Seconds each stage really took: start-up (Start to data loaded), scoring, training, all."""
    started = next((e for e in events if isinstance(e, Started)), Started())
    results = [e.result for e in events if isinstance(e, MethodDone)]
    queued = state.queued
    trained = any(isinstance(e, Trained) for e in events)
    real_strategies = [r for r in results if r.method in STRATEGIES and not r.simulated]
    oneshot = [r for r in results if Method.parse(r.method).oneshot]
    fine = [r.fine_seconds for r in results if Method.parse(r.method).is_two_stage] if trained else []
    return {
        "start-up": started.at - queued if started.at and queued else math.nan,
        "scoring": sum(r.coarse_seconds for r in results if r.networks_scored),
        "training": sum(fine) + sum(r.fine_seconds for r in real_strategies + oneshot),
        "total": state.finished - queued if state.finished and queued else math.nan,
    }


def versus_actual(est: Estimate, state: dict, events) -> pd.DataFrame:
    """Estimated against measured seconds per stage, for the Live page once a run ends."""
    real = actual(state, events)
    rows = [{"stage": stage, "estimated s": est.stage_seconds(stage) if stage != "total"
             else est.seconds, "actual s": real[stage]} for stage in real]
    frame = pd.DataFrame(rows)
    frame["actual ÷ estimated"] = frame["actual s"] / frame["estimated s"].where(
        frame["estimated s"] > 0)
    return frame
