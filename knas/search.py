"""The KNAS search pipeline: a validated ``SearchConfig`` in, a stream of events out.

Coarse stage: score every cell of the pool with a proxy and keep the top-k. Fine stage: pick one
of the k by a ground-truth lookup (a validation column, or the 12-epoch table that mimics
training each candidate briefly) or by really training each of them for a few epochs.
Baselines run on the same pools with the same fine stage: random selection of k candidates, and
the same two-stage search with other proxies; classic multi-trial strategies (``knas.classic``)
search the whole space under a simulated training-time budget. ``repeats`` runs the whole thing
with seeds ``seed, seed+1, ...`` (pool, samples, weights, strategies) and summarises per method.

Every method ends with ``search_seconds`` on one axis: a two-stage search's coarse stage as
measured on its device plus its fine stage (measured training, or for a lookup the recorded time
of training its k candidates for the looked-up number of epochs); a strategy's simulated clock.
The configuration itself lives in ``knas.config`` (torch-free); this module runs it.
"""
from __future__ import annotations

import contextlib
import math
import random
import statistics
import time
from dataclasses import asdict, dataclass, field

import pandas as pd

from . import benchmark, classic, data, datasets, scoring, space, stats, train, traincost
from .cache import ScoreCache
from .config import SearchConfig
from .events import Cancelled, EventKind
from .specs import FineStage, Method


@dataclass
class MethodResult:
    method: str
    repeat: int
    seed: int
    chosen: int
    arch_str: str
    test_accuracy: float  # NaN without a truth table
    fine_score: float  # what the fine stage picked by (lookup value or trained val accuracy)
    topk: list = field(default_factory=list)
    coarse_seconds: float = 0.0
    fine_seconds: float = 0.0
    networks_scored: int = 0
    networks_trained: int = 0  # a strategy's simulated trainings count here too
    search_seconds: float = 0.0  # the cost axis shared by every method (see the module doc)
    device: str = ""  # where the coarse stage ran ("" when nothing was scored)
    simulated: bool = False  # some of search_seconds is recorded training time, not measured
    cost_estimated: bool = False  # ... and it came from the FLOPs estimate (no costs table)


def summarise(results: list[MethodResult]) -> list[dict]:
    """Mean and std of test accuracy and cost per method, in the KNAS paper's table form."""
    rows = []
    for method in dict.fromkeys(r.method for r in results):
        mine = [r for r in results if r.method == method]
        acc = [r.test_accuracy for r in mine if not math.isnan(r.test_accuracy)]
        rows.append({
            "method": method,
            "runs": len(mine),
            "test_accuracy_mean": statistics.fmean(acc) if acc else math.nan,
            "test_accuracy_std": statistics.pstdev(acc) if len(acc) > 1 else 0.0 if acc else math.nan,
            "coarse_seconds_mean": statistics.fmean(r.coarse_seconds for r in mine),
            "fine_seconds_mean": statistics.fmean(r.fine_seconds for r in mine),
            "networks_scored_mean": statistics.fmean(r.networks_scored for r in mine),
            "networks_trained_mean": statistics.fmean(r.networks_trained for r in mine),
            "search_seconds_mean": statistics.fmean(r.search_seconds for r in mine),
            "search_seconds_std": statistics.pstdev(r.search_seconds for r in mine),
            "simulated": any(r.simulated for r in mine),
            "cost_estimated": any(r.cost_estimated for r in mine),
        })
    return rows


class Search:
    """Runs a validated config; ``events()`` yields dicts the job runner stores and the UI draws.

    Event kinds are ``events.EventKind``. ``should_stop`` is polled between cells and training
    batches; when it returns True the search raises ``Cancelled``.
    """

    def __init__(self, config: SearchConfig, cache=None, should_stop=None, workers: int = 0):
        self.config = config.validate()
        self.cache = cache if cache is not None else ScoreCache()
        self.should_stop = should_stop or (lambda: False)
        self.workers = workers
        self.results: list[MethodResult] = []

    def events(self):
        """The event stream; with the Ray backend, one Ray session serves the whole job (so its
        workers stay warm across methods and repeats) and closes when the stream ends."""
        with contextlib.ExitStack() as stack:
            if self.config.backend == "ray":
                from . import raycluster

                stack.enter_context(raycluster.session(self.config.ray_address or None))
            yield from self._events()

    def _events(self):
        cfg = self.config
        start = time.time()
        self.dataset = data.load_named(cfg.dataset, cfg.data, "train")
        self.truth = benchmark.load_table(cfg.truth) if cfg.truth else None
        stage = cfg.fine_stage
        if stage.kind == "lookup":
            table = benchmark.load_table(stage.table) if stage.table else self.truth
            self.fine_values = benchmark.column(table, stage.column)
        self.costs = traincost.load_costs(cfg.costs) if cfg.costs else None
        if cfg.strategies:
            self.oracle = classic.oracle(cfg.dataset, benchmark.load_table(cfg.reward_table),
                                         self.costs)
        pools = cfg.pools()
        yield {"kind": EventKind.STARTED, "methods": list(cfg.methods), "repeats": cfg.repeats,
               "pool_size": len(pools[0]), "k": cfg.k, "best_possible": self._best_possible(),
               "at": time.time(), "train_images": len(self.dataset)}
        for repeat, pool in enumerate(pools):
            for method in cfg.methods:
                result = yield from self._run_method(method, repeat, pool, stage)
                self.results.append(result)
                yield {"kind": EventKind.METHOD_DONE, "result": asdict(result)}
        yield {"kind": EventKind.FINISHED, "summary": summarise(self.results),
               "seconds": time.time() - start}

    def _best_possible(self):
        if self.truth is None:
            return None
        index, value = benchmark.best(self.truth, self.config.report_column)
        return {"index": index, "value": value, "column": self.config.report_column}

    def _run_method(self, method, repeat, pool, stage):
        seed = self.config.seed + repeat
        spec = Method.parse(method)
        if spec.strategy:
            return (yield from self._run_strategy(method, repeat, seed))
        t0 = time.time()
        if spec.is_random:
            topk, scored = random.Random(seed).sample(pool, self.config.k), 0
        else:
            topk, scored = yield from self._coarse(method, spec, repeat, pool, seed)
        coarse_seconds = time.time() - t0
        yield {"kind": EventKind.TOPK, "method": method, "repeat": repeat, "indices": topk,
               "final": True}
        t1 = time.time()
        chosen, fine_score, trained = yield from self._fine(stage, topk, method, repeat, seed)
        fine_seconds = time.time() - t1
        simulated = stage.kind == "lookup"
        if simulated:  # what training the k candidates for the looked-up epochs would have cost
            spent = [traincost.train_cost(i, self.config.dataset,
                                          datasets.lookup_epochs(stage.column), self.costs)
                     for i in topk]
            fine_cost, estimated = sum(c.seconds for c in spent), self.costs is None
        else:
            fine_cost, estimated = fine_seconds, False
        return MethodResult(
            method=method, repeat=repeat, seed=seed, chosen=chosen,
            arch_str=space.to_str(space.arch_at(chosen)),
            test_accuracy=self._test_accuracy(chosen), fine_score=fine_score, topk=topk,
            coarse_seconds=coarse_seconds, fine_seconds=fine_seconds,
            networks_scored=scored, networks_trained=trained,
            search_seconds=coarse_seconds + fine_cost,
            device=self._device() if scored else "",
            simulated=simulated, cost_estimated=estimated)

    def _run_strategy(self, method: str, repeat: int, seed: int):
        """A classic strategy on the simulated clock: one event per evaluation, with the test
        accuracy of the incumbent for the anytime plot."""
        t0 = time.time()
        evaluations = classic.search(method, self.oracle, seed, self.config.budget)
        while True:
            if self.should_stop():
                raise Cancelled()
            try:
                record = next(evaluations)
            except StopIteration as stop:
                result = stop.value
                break
            yield {"kind": EventKind.EVALUATED, "method": method, "repeat": repeat,
                   "step": record.step, "index": record.index, "reward": record.reward,
                   "seconds": record.seconds, "clock": record.clock,
                   "budget": strategy_budget(self.config), "best_index": record.best_index,
                   "best_reward": record.best_reward,
                   "best_test": self._test_accuracy(record.best_index)}
        return MethodResult(
            method=method, repeat=repeat, seed=seed, chosen=result.chosen,
            arch_str=space.to_str(space.arch_at(result.chosen)),
            test_accuracy=self._test_accuracy(result.chosen), fine_score=result.reward,
            fine_seconds=time.time() - t0, networks_trained=result.evaluations,
            search_seconds=result.clock, simulated=True, cost_estimated=result.cost_estimated)

    def _coarse(self, method: str, spec: Method, repeat, pool, seed):
        """Score the pool; returns (top-k indices, networks built) and yields progress events."""
        cfg = self.config
        seed = seed if cfg.weights_seed is None else cfg.weights_seed
        settings = scoring.ScoreSettings(n=cfg.n, seed=seed, params=cfg.params)
        batch = scoring.make_batch(self.dataset, cfg.n, seed)
        retries = []  # Ray's notices of cells sent again, turned into events below
        results = scoring.score_pool_auto(pool, list(spec.members), batch, settings, self.cache,
                                          cfg.device, self.workers, cfg.backend, cfg.ray_address,
                                          self.should_stop, retries.append)
        values: dict[int, dict] = {}
        built, started, last_topk = 0, time.time(), 0.0
        try:
            for result in results:
                if self.should_stop():
                    raise Cancelled()
                while retries:
                    yield {**retries.pop(0).event(), "method": method, "repeat": repeat}
                built += result.networks_built
                values[result.index] = result.values
                done = len(values)
                yield {"kind": EventKind.SCORED, "method": method, "repeat": repeat,
                       "index": result.index, "values": result.values,
                       "built": result.networks_built, "done": done, "total": len(pool),
                       "rate": done / max(time.time() - started, 1e-9)}
                if not spec.aggregation and time.time() - last_topk > 1.0:
                    last_topk = time.time()
                    yield {"kind": EventKind.TOPK, "method": method, "repeat": repeat,
                           "final": False, "indices": _top(values, spec, cfg.k)}
        finally:
            results.close()
        return _top(values, spec, cfg.k), built

    def _fine(self, stage: FineStage, topk, method, repeat, seed):
        if stage.kind == "lookup":
            scores = {i: float(self.fine_values.get(i, math.nan)) for i in topk}
            chosen = max(topk, key=lambda i: (_finite(scores[i]), -i))
            return chosen, scores[chosen], 0
        settings = train.TrainSettings(epochs=stage.epochs, seed=seed,
                                       train_samples=self.config.train_samples or None)
        accuracies = {}
        for position, (index, result) in enumerate(self._trained(topk, settings), start=1):
            accuracies[index] = result.val_accuracy
            yield {"kind": EventKind.TRAINED, "method": method, "repeat": repeat, "index": index,
                   "val_accuracy": result.val_accuracy, "seconds": result.seconds,
                   "done": position, "total": len(topk)}
        chosen = max(topk, key=lambda i: (accuracies[i], -i))
        return chosen, accuracies[chosen], len(topk)

    def _device(self) -> str:
        return "ray" if self.config.backend == "ray" else scoring.resolve_device(self.config.device)

    def _trained(self, topk, settings):
        """(index, TrainResult) per candidate: here one after another, or on Ray as tasks (one GPU
        each when the cluster has them) in completion order."""
        if self.config.backend == "ray":
            from . import raybackend

            yield from raybackend.train_pool_ray(topk, self.dataset, settings, self.config.device,
                                                 self.should_stop)
            return
        device = scoring.resolve_device(self.config.device)
        for index in topk:
            try:
                yield index, train.train_and_evaluate(index, self.dataset, settings, device=device,
                                                      should_stop=self.should_stop)
            except train.TrainingCancelled:
                raise Cancelled() from None

    def _test_accuracy(self, index: int) -> float:
        if self.truth is None or index not in self.truth.index:
            return math.nan
        return float(self.truth.at[index, self.config.report_column])


def strategy_budget(config: SearchConfig) -> float:
    """The simulated budget a config's strategies run under."""
    return config.budget if config.budget is not None else classic.DEFAULT_BUDGETS[config.dataset]


def _finite(value: float) -> float:
    return value if not math.isnan(value) else -math.inf


def _top(values: dict, method: Method, k: int) -> list[int]:
    """The k best indices by a method's ranking (its proxy's direction honoured, or the
    aggregate rank of an ensemble); NaN last, ties by lower index."""
    frame = pd.DataFrame.from_dict(values, orient="index")
    ranking = stats.aggregate(frame, method)
    return sorted(ranking.index, key=lambda i: (-_finite(float(ranking[i])), i))[:k]
