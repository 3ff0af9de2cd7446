"""The KNAS search pipeline: a validated ``SearchConfig`` in, a stream of events out.

Coarse stage: score every cell of the pool with a proxy and keep the top-k. Fine stage: pick one
of the k by a ground-truth lookup (a validation column, or the 12-epoch table that mimics
training each candidate briefly) or by really training each of them for a few epochs.
Baselines run on the same pools with the same fine stage: random selection of k candidates, and
the same two-stage search with other proxies; classic multi-trial strategies (``knas.search.classic``)
search the whole space under a simulated training-time budget; one-shot searches (DARTS, GDAS,
TE-NAS; ``knas.search.oneshotstage``) derive one cell from the space's supernet. ``repeats`` runs the whole thing
with seeds ``seed, seed+1, ...`` (pool, samples, weights, strategies) and summarises per method.

Every method ends with ``search_seconds`` on one axis: a two-stage search's coarse stage as
measured on its device plus its fine stage (measured training, or for a lookup the recorded time
of training its k candidates for the looked-up number of epochs); a strategy's clock, simulated
from the tables or, where it trains for real (bohb; any strategy on a space without tables),
its measured training seconds; a one-shot search's measured supernet seconds plus its fine stage.
The configuration itself lives in ``knas.search.config`` (torch-free); this module runs it.
"""
from __future__ import annotations

import math
import random
import statistics
import time

import pandas as pd

from knas.data import benchmark, readers
from knas.errors import Cancelled
from knas.results import stats
from knas.scoring import backends, scorer
from knas.scoring.cache import ScoreCache
from knas.search import classic, oneshotstage, train
from knas.search.deployment import Deployment
from knas.search.config import SearchConfig
from knas.search.events import (Evaluated, Finished, MethodDone, MethodResult, Retry,
                                Scored, Started, TopK, Trained)
from knas.search.specs import FineStage, Method


def _mean(values) -> float:
    finite = [v for v in values if not math.isnan(v)]
    return statistics.fmean(finite) if finite else math.nan


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
            "gap_mean": _mean([r.gap for r in mine]),
            "hypervolume_mean": _mean([r.hypervolume for r in mine]),
            "igd_mean": _mean([r.igd for r in mine]),
        })
    return rows


class Search:
    """Runs a validated config; ``events()`` yields the records (``knas.search.events``) the job
    runner stores and the UI draws. ``should_stop`` is polled between cells and training
    batches; when it returns True the search raises ``Cancelled``. The space and the backend
    are chosen once, from the config (``backend`` overrides the latter, for tests and tools).
    """

    def __init__(self, config: SearchConfig, cache=None, should_stop=None, workers: int = 0,
                 backend=None):
        self.config = config.validate()
        self.space = config.search_space
        self.cache = cache if cache is not None else ScoreCache()
        self.should_stop = should_stop or (lambda: False)
        self.backend = backend or backends.open_backend(self.space, config.backend, config.device,
                                                        workers, config.ray_address)
        self.results: list[MethodResult] = []

    def events(self):
        """The event stream; the backend is open for the whole stream (a Ray backend keeps one
        connection, so its workers stay warm across methods and repeats)."""
        with self.backend:
            yield from self._events()

    def _events(self):
        cfg, space = self.config, self.space
        start = time.time()
        self.dataset = space.load_data(cfg.dataset, cfg.data, "train")
        self.truth = benchmark.load_table(cfg.truth, space) if cfg.truth else None
        stage, self.fine_table = cfg.fine_stage, None
        drawn = cfg.pools()
        searched = [cell for pool in drawn for cell in pool] if cfg.two_stage_methods else None
        if stage.kind == "lookup":
            table = benchmark.load_table(stage.table, space) if stage.table else self.truth
            self.fine_table = table
            self.fine_values = benchmark.numeric_column(table, stage.column, searched)
        if self.truth is not None:
            benchmark.numeric_column(self.truth, cfg.report_column, searched)
        self.costs = benchmark.load_table(cfg.costs, space) if cfg.costs else None
        self.test_split, self.measured_test = self._test_split(), {}
        self.deployment = Deployment(cfg, space, self.dataset, scorer.resolve_device(cfg.device))
        if cfg.strategies:
            self.oracles = self._oracles()
        pools = [self.deployment.feasible_pool(pool, r) for r, pool in enumerate(drawn)]
        yield Started(methods=tuple(cfg.methods), repeats=cfg.repeats, pool_size=len(drawn[0]), k=cfg.k, best_possible=self._best_possible(),
                      at=time.time(), train_images=len(self.dataset), space=space.spec,
                      truth_cells=self._truth_cells(), constraints=self.deployment.text,
                      feasible_cells=self.deployment.feasible_cells(), pareto=cfg.pareto,
                      feasible_pool=len(pools[0]), data_note=_data_note(self.dataset))
        for repeat, pool in enumerate(pools):
            if self.deployment.measure_names:
                yield self.deployment.measured_event(repeat, pool)
            for method in cfg.methods:
                result = yield from self._run_method(method, repeat, pool, stage)
                self.results.append(result)
                yield MethodDone(result=result)
        yield Finished(summary=summarise(self.results), seconds=time.time() - start)

    def _test_split(self):
        """The data set's test split when candidates are trained and no truth table says how good
        they are (None otherwise, or when the data holds no test split)."""
        cfg = self.config
        trains = cfg.fine_stage.kind == "train" or cfg.trained_strategies
        if self.truth is not None or not trains:
            return None
        try:
            return self.space.load_data(cfg.dataset, cfg.data, "test")
        except readers.DataError:
            return None

    def _oracles(self) -> dict:
        """What each classic strategy's evaluations are: a lookup in the space's short-schedule
        table, or real training with the fine stage's recipe, for a space without one and for a
        strategy that needs accuracies after each epoch (bohb), for as many epochs as the table's
        short schedule, else the fine stage's."""
        cfg, oracles = self.config, {}
        trained = cfg.trained_strategies
        simulated = [name for name in cfg.strategies if name not in trained]
        if simulated:
            table = classic.table_oracle(self.space, cfg.dataset,
                                         benchmark.load_table(cfg.reward_table, self.space),
                                         self.costs)
            oracles.update(dict.fromkeys(simulated, table))
        if trained:
            settings = self._train_settings(self.space.short_epochs or cfg.fine_stage.epochs,
                                            cfg.seed)
            training = classic.TrainingOracle(self.space, cfg.dataset, self.dataset, settings,
                                              scorer.resolve_device(cfg.device), self.should_stop,
                                              test=self.test_split,
                                              measured_test=self.measured_test)
            oracles.update(dict.fromkeys(trained, training))
        return oracles

    def _truth_cells(self) -> int | None:
        """How many cells the truth table reports on (what "the best" is the best of)."""
        if self.truth is None:
            return None
        return int(self.truth[self.config.report_column].notna().sum())

    def _best_possible(self):
        """The truth table's best cell (among those that fit the limits)."""
        self.best = None
        if self.truth is None:
            return None
        self.best = self.deployment.best(self.truth, self.config.report_column)
        return self.best

    def _run_method(self, method, repeat, pool, stage):
        seed = self.config.seed + repeat
        spec = Method.parse(method)
        if spec.strategy:
            return (yield from self._run_strategy(method, repeat, seed))
        if spec.reference:
            return (yield from self._run_reference(method, repeat, seed, stage))
        if spec.oneshot:
            return (yield from oneshotstage.run(self, method, spec, repeat, seed, stage))
        t0 = time.time()
        if spec.is_random:
            topk, scored = random.Random(seed).sample(pool, min(self.config.k, len(pool))), 0
        else:
            topk, scored = yield from self._coarse(method, spec, repeat, pool, seed)
        coarse_seconds = time.time() - t0
        yield TopK(method=method, repeat=repeat, indices=topk, final=True)
        t1 = time.time()
        fine_scores, trained = yield from self._fine(stage, topk, method, repeat, seed)
        chosen = max(topk, key=lambda i: (_finite(fine_scores[i]), -i))
        fine_seconds = time.time() - t1
        simulated = stage.kind == "lookup"
        if simulated:  # what training the k candidates for the looked-up epochs would have cost
            fine_cost, estimated = self._lookup_cost(topk, stage.column)
        else:
            fine_cost, estimated = fine_seconds, False
        return MethodResult(
            method=method, repeat=repeat, seed=seed, chosen=chosen,
            arch_str=self.space.format(self.space.arch_at(chosen)),
            test_accuracy=self._test_accuracy(chosen), fine_score=fine_scores[chosen], topk=topk,
            coarse_seconds=coarse_seconds, fine_seconds=fine_seconds,
            networks_scored=scored, networks_trained=trained,
            search_seconds=coarse_seconds + fine_cost,
            device=self._device() if scored else "",
            simulated=simulated, cost_estimated=estimated, **self._deployed(chosen, fine_scores))

    def _run_reference(self, method: str, repeat: int, seed: int, stage: FineStage):
        """The space's reference network trained with the fine stage's recipe and seed; its
        test accuracy measured on the test split (index -1: it is not a cell of the space)."""
        try:
            result = train.train_and_evaluate(
                self.space, method, self.dataset, self._train_settings(stage.epochs, seed),
                device=scorer.resolve_device(self.config.device), should_stop=self.should_stop,
                test=self.test_split)
        except train.TrainingCancelled:
            raise Cancelled() from None
        yield Trained(method=method, repeat=repeat, index=-1, val_accuracy=result.val_accuracy,
                      seconds=result.seconds, done=1, total=1)
        test = math.nan if result.test_accuracy is None else result.test_accuracy
        return MethodResult(method=method, repeat=repeat, seed=seed, chosen=-1,
                            arch_str=result.arch_str, test_accuracy=test,
                            fine_score=result.val_accuracy, fine_seconds=result.seconds,
                            networks_trained=1, search_seconds=result.seconds)

    def _deployed(self, chosen: int, known: dict[int, float]) -> dict:
        """A result's fields about the device: the gap to the best cell that fits, the chosen
        cell's measures, and in the Pareto mode the front returned and its indicators."""
        fields = {"measures": self.deployment.measured(chosen)}
        if self.best:
            fields["gap"] = self.best["value"] - self._test_accuracy(chosen)
        if self.config.pareto:
            front = self.deployment.front(known)
            hv, igd = self.deployment.indicators(front, self.truth, self.config.report_column)
            fields.update(front=front, hypervolume=hv, igd=igd)
        return fields

    def _lookup_cost(self, topk, column: str) -> tuple[float, bool]:
        """Seconds that training the looked-up candidates would have cost, and whether that is
        an estimate: the space's model of its own tables (NAS-Bench-201: E/200 of the recorded
        200-epoch time), else the training time the looked-up table records itself (a
        ``knas truth`` table); a space that cannot say counts nothing and flags it."""
        dataset, epochs = self.config.dataset, self.space.lookup_epochs(column)
        costs = self.costs
        if epochs is None and costs is None:
            costs = self.fine_table
        spent = []
        for index in topk:
            at = epochs
            if at is None and costs is not None and f"epochs_{dataset}" in costs.columns \
                    and index in costs.index:
                at = float(costs.at[index, f"epochs_{dataset}"])  # the table's own recipe
            spent.append(self.space.train_seconds(index, dataset, at, costs) if at else None)
        if any(s is None for s in spent):
            return 0.0, True
        return sum(seconds for seconds, _ in spent), any(estimated for _, estimated in spent)

    def _run_strategy(self, method: str, repeat: int, seed: int):
        """A classic strategy on its clock: one event per evaluation, with the test accuracy of
        the incumbent for the anytime plot."""
        t0 = time.time()
        deployment = self.deployment
        oracle = self.oracles[method]
        evaluations = classic.search(method, oracle, seed, self.config.budget,
                                     deployment.constraints,
                                     deployment.latency if self.config.pareto else None)
        budget = strategy_budget(self.config)
        rewards: dict[int, float] = {}
        while True:
            if self.should_stop():
                raise Cancelled()
            try:
                record = next(evaluations)
            except StopIteration as stop:
                result = stop.value
                break
            except train.TrainingCancelled:
                raise Cancelled() from None
            rewards[record.index] = record.reward
            yield Evaluated(method=method, repeat=repeat, step=record.step, index=record.index,
                            reward=record.reward, seconds=record.seconds, clock=record.clock,
                            budget=budget, best_index=record.best_index,
                            best_reward=record.best_reward,
                            best_test=self._test_accuracy(record.best_index))
        if self.deployment.measure_names:
            yield self.deployment.measured_event(repeat, list(rewards))
        return MethodResult(
            method=method, repeat=repeat, seed=seed, chosen=result.chosen,
            arch_str=self.space.format(self.space.arch_at(result.chosen)),
            test_accuracy=self._test_accuracy(result.chosen), fine_score=result.reward,
            fine_seconds=time.time() - t0, networks_trained=result.evaluations,
            search_seconds=result.clock, simulated=oracle.simulated,
            cost_estimated=result.cost_estimated, **self._deployed(result.chosen, rewards))

    def _coarse(self, method: str, spec: Method, repeat, pool, seed):
        """Score the pool; returns (top-k indices, networks built) and yields progress events."""
        cfg = self.config
        seed = seed if cfg.weights_seed is None else cfg.weights_seed
        settings = scorer.ScoreSettings(n=cfg.n, seed=seed, params=cfg.params)
        batch = scorer.make_batch(self.dataset, cfg.n, seed, self.space)
        retries = []  # Ray's notices of cells sent again, turned into events below
        results = self.backend.score(pool, list(spec.members), batch, settings, self.cache,
                                     self.should_stop, retries.append)
        values: dict[int, dict] = {}
        built, started, last_topk = 0, time.time(), 0.0
        try:
            for result in results:
                if self.should_stop():
                    raise Cancelled()
                while retries:
                    yield Retry.of(retries.pop(0), method, repeat)
                built += result.networks_built
                values[result.index] = result.values
                done = len(values)
                yield Scored(method=method, repeat=repeat, index=result.index,
                             values=result.values, built=result.networks_built, done=done,
                             total=len(pool), rate=done / max(time.time() - started, 1e-9))
                if not spec.aggregation and time.time() - last_topk > 1.0:
                    last_topk = time.time()
                    yield TopK(method=method, repeat=repeat, indices=self._keep(values, spec))
        finally:
            results.close()
        return self._keep(values, spec), built

    def _keep(self, values: dict, spec: Method) -> list[int]:
        """What the coarse stage keeps: the top-k by the method's ranking, or in the Pareto mode
        k cells along the (ranking, latency) front."""
        ranking = _ranking(values, spec)
        if self.config.pareto:
            return self.deployment.select(ranking, self.config.k)
        return sorted(ranking, key=lambda i: (-ranking[i], i))[:self.config.k]

    def _train_settings(self, epochs: int, seed: int) -> train.TrainSettings:
        """The fine stage's recipe (the space's, on ``train_samples`` images) for ``epochs``."""
        return train.settings_for(self.space, epochs=epochs, seed=seed,
                                  train_samples=self.config.train_samples or None)

    def _fine(self, stage: FineStage, topk, method, repeat, seed):
        """Each candidate's fine-stage score (looked up or trained) and how many were trained."""
        if stage.kind == "lookup":
            return {i: float(self.fine_values.get(i, math.nan)) for i in topk}, 0
        settings = self._train_settings(stage.epochs, seed)
        accuracies = {}
        trained = self.backend.train(topk, self.dataset, settings, self.should_stop,
                                     self.test_split)
        for position, (index, result) in enumerate(trained, start=1):
            accuracies[index] = result.val_accuracy
            if result.test_accuracy is not None:
                self.measured_test[index] = result.test_accuracy
            yield Trained(method=method, repeat=repeat, index=index,
                          val_accuracy=result.val_accuracy, seconds=result.seconds,
                          done=position, total=len(topk))
        return accuracies, len(topk)

    def _device(self) -> str:
        return "ray" if self.backend.name == "ray" else self.backend.device

    def _test_accuracy(self, index: int) -> float:
        if self.truth is None:
            return float(self.measured_test.get(index, math.nan))
        if index not in self.truth.index:
            return math.nan
        return float(self.truth.at[index, self.config.report_column])


def strategy_budget(config: SearchConfig) -> float:
    """The budget a config's strategies run under: the config's, else the space's simulated
    default for the data set."""
    if config.budget is not None:
        return config.budget
    return config.search_space.default_budget(config.dataset)


def _data_note(dataset) -> str:
    """What reading the data changed (texts cut at the token limit), for the Live page."""
    cut = getattr(dataset, "truncated", 0)
    if not cut:
        return ""
    return (f"{cut:,} of {len(dataset):,} training texts are longer than {dataset.max_tokens} "
            "tokens and were cut there.")


def _finite(value: float) -> float:
    return value if not math.isnan(value) else -math.inf


def _ranking(values: dict, method: Method) -> dict[int, float]:
    """Each cell's value by a method's ranking, higher better (its proxy's direction honoured,
    or the aggregate rank of an ensemble); NaN as -inf."""
    frame = pd.DataFrame.from_dict(values, orient="index")
    ranking = stats.aggregate(frame, method)
    return {int(i): _finite(float(ranking[i])) for i in ranking.index}
