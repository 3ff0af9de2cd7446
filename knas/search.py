"""The KNAS search: a validated config in, a stream of events out, a result at the end.

Coarse stage: score every cell of the pool with a proxy and keep the top-k. Fine stage: pick one
of the k by a ground-truth lookup (a validation column, or the 12-epoch table that mimics
training each candidate briefly) or by really training each of them for a few epochs.
Baselines run on the same pools with the same fine stage: random selection of k candidates, and
the same two-stage search with other proxies. ``repeats`` runs the whole thing with seeds
``seed, seed+1, ...`` (pool, samples and weights) and summarises mean and std per method.

This module only imports torch when a search runs, so the UI can build and validate configs.
"""
from __future__ import annotations

import hashlib
import json
import math
import random
import statistics
import time
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path

from . import data, proxies, space
from .errors import KnasError

DEFAULT_REPORT_COLUMN = {"cifar10": "cifar10_test", "cifar100": "cifar100_test",
                         "imagenet16-120": "imagenet16_test"}
RANDOM = "random"  # the random-selection baseline


class ConfigError(KnasError):
    """Settings that cannot run; ``errors`` maps each bad field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


class Cancelled(Exception):
    """The user asked the search to stop."""


@dataclass(frozen=True)
class FineStage:
    """``lookup:COLUMN`` (of the truth table), ``lookup:TABLE:COLUMN`` or ``train:EPOCHS``."""
    kind: str
    column: str = ""
    table: str = ""
    epochs: int = 0

    @classmethod
    def parse(cls, text: str) -> "FineStage":
        kind, _, rest = text.partition(":")
        if kind == "lookup" and rest:
            table, _, column = rest.rpartition(":")
            return cls("lookup", column=column, table=table)
        if kind == "train" and rest.isdigit() and int(rest) >= 1:
            return cls("train", epochs=int(rest))
        raise ValueError(f"bad fine stage {text!r}: use lookup:COLUMN, lookup:TABLE.csv:COLUMN or "
                         "train:EPOCHS (EPOCHS >= 1)")


@dataclass(frozen=True)
class SearchConfig:
    dataset: str = "cifar10"
    data: str = ""  # dataset folder in its official layout, image folder or .npz
    truth: str = ""  # ground-truth table (CSV or official .pth); optional
    report: str = ""  # truth column reported as the chosen cell's accuracy; default per dataset
    pool: str = "random:1000"
    proxy: str = "mgm"  # a registered proxy or ensemble:a+b
    n: int = 32
    k: int = 40
    fine: str = "lookup:cifar10_valid"
    baselines: tuple = ()  # e.g. ("random", "synflow")
    repeats: int = 1
    seed: int = 0
    device: str = "auto"
    params: str = "all"  # which weights MGM uses
    train_samples: int = 0  # fine stage training: images per candidate (0: the whole split)

    @property
    def report_column(self) -> str:
        return self.report or DEFAULT_REPORT_COLUMN.get(self.dataset, "")

    @property
    def methods(self) -> tuple:
        return (self.proxy, *[b for b in self.baselines if b != self.proxy])

    def key(self) -> str:
        """Stable across runs and machines: the job id is derived from it."""
        text = json.dumps(asdict(self), sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {**asdict(self), "baselines": list(self.baselines)}

    @classmethod
    def from_dict(cls, values: dict) -> "SearchConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError({name: "unknown setting" for name in sorted(unknown)})
        values = dict(values)
        values["baselines"] = tuple(values.get("baselines", ()))
        return cls(**values)

    def errors(self) -> dict[str, str]:
        """Every field that cannot work, with a message; empty when the config can run."""
        errors: dict[str, str] = {}
        if self.dataset not in data.BENCHMARK_DATASETS:
            errors["dataset"] = f"unknown dataset; choose one of {', '.join(data.BENCHMARK_DATASETS)}"
        if not self.data:
            errors["data"] = "no dataset path given"
        elif not Path(self.data).exists():
            errors["data"] = f"{self.data} does not exist"
        elif data.detect(self.data) is None:
            errors["data"] = f"{self.data} holds no dataset in a known layout"
        pool_size = _check(errors, "pool", lambda: len(space.parse_pool(self.pool, self.seed)))
        _check(errors, "proxy", lambda: proxy_members(self.proxy))
        for baseline in self.baselines:
            if baseline != RANDOM:
                _check(errors, "baselines", lambda b=baseline: proxy_members(b))
        _check(errors, "params", lambda: _check_params_spec(self.params))
        if self.n < 2:
            errors["n"] = "at least 2 samples per network (MGM compares samples)"
        if self.k < 1:
            errors["k"] = "k must be at least 1"
        elif pool_size is not None and self.k > pool_size:
            errors["k"] = f"k = {self.k} is larger than the pool ({pool_size} cells)"
        if self.repeats < 1:
            errors["repeats"] = "at least 1"
        if self.train_samples < 0:
            errors["train_samples"] = "0 (all) or a positive number of images"
        if self.truth and not Path(self.truth).is_file():
            errors["truth"] = f"{self.truth} does not exist"
        stage = _check(errors, "fine", lambda: FineStage.parse(self.fine))
        if stage is not None and stage.kind == "lookup":
            table = stage.table or self.truth
            if not table:
                errors["fine"] = f"lookup:{stage.column} needs a ground-truth table (truth)"
            elif not Path(table).is_file():
                errors["fine"] = f"table {table} does not exist"
            else:
                _check(errors, "fine", lambda: _require_column(table, stage.column))
        if self.truth and "truth" not in errors:
            if not self.report_column:
                errors["report"] = "no column to report accuracy from"
            else:
                _check(errors, "report", lambda: _require_column(self.truth, self.report_column))
        return errors

    def validate(self) -> "SearchConfig":
        errors = self.errors()
        if errors:
            raise ConfigError(errors)
        return self


def _check(errors: dict, name: str, fn):
    """Run one check; record its message under ``name`` instead of raising."""
    try:
        return fn()
    except (KnasError, ValueError) as err:
        errors.setdefault(name, str(err))
        return None


def proxy_members(name: str) -> list[str]:
    """The registered proxies behind a method name (one, or an ensemble's members)."""
    members = name.split(":", 1)[1].split("+") if name.startswith("ensemble:") else [name]
    members = [m.strip() for m in members if m.strip()]
    if not members:
        raise ValueError("choose at least one proxy")
    for member in members:
        proxies.info(member)
    return members


def _check_params_spec(spec: str) -> None:
    parts = spec.split(":")
    if spec == "all" or (len(parts) == 3 and parts[0] == "first" and parts[1].isdigit()
                         and parts[2].isdigit() and int(parts[1]) >= 1 and int(parts[2]) >= 1):
        return
    raise ValueError(f"bad parameter selection {spec!r}: use all or first:L:m (L, m >= 1)")


def _require_column(path: str, column: str) -> None:
    """Check a column exists without loading the whole table (CSV header; .pth: at run time)."""
    if Path(path).suffix.lower() != ".csv":
        return
    with open(path, encoding="utf-8", errors="replace") as f:
        header = [c.strip() for c in f.readline().strip().split(",")]
    if column not in header:
        raise ValueError(f"{Path(path).name} has no column {column!r}; it has: {', '.join(header)}")


# Wall seconds per network and proxy at n = 32 with both cores of this project's 2-core CPU busy:
# MGM from the full-space run, the others from the correlation study (per-process time / 2
# processes, measured while other work shared the cores, so on the high side); docs/. Scaled by n/32.
CPU_SECONDS_PER_NETWORK = {"mgm": 0.28, "mgm_official": 0.64, "grad_norm": 0.43, "snip": 0.43,
                           "grasp": 1.85, "synflow": 0.11, "jacob_cov": 0.44, "naswot": 0.33,
                           "params": 0.02, "flops": 0.02}
GPU_SPEEDUP = 20.0  # assumed, not measured here (no GPU on the reference machine)


def estimate(config: SearchConfig, device: str = "cpu") -> dict:
    """How much work a config asks for: networks to score and to train, and a rough time."""
    pool_size = len(space.parse_pool(config.pool, config.seed))
    networks, seconds = 0, 0.0
    for repeat in range(config.repeats):
        pool = space.parse_pool(config.pool, config.seed + repeat)
        unique = len({space.representative(space.arch_at(i)) for i in pool})
        for method in config.methods:
            if method == RANDOM:
                continue
            for member in proxy_members(method):
                count = unique if proxies.info(member).dedup else len(pool)
                networks += count
                seconds += count * CPU_SECONDS_PER_NETWORK.get(member, 0.2) * config.n / 32
    stage = FineStage.parse(config.fine)
    trained = config.k * len(config.methods) * config.repeats if stage.kind == "train" else 0
    if device != "cpu":
        seconds /= GPU_SPEEDUP
    return {"pool_size": pool_size, "networks": networks, "trained": trained,
            "epochs": stage.epochs, "seconds": seconds}


# --- the pipeline --------------------------------------------------------------------------


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
    networks_trained: int = 0


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
        })
    return rows


class Search:
    """Runs a validated config; ``events()`` yields dicts the job runner stores and the UI draws.

    Event kinds: ``started``, ``scored`` (one cell), ``topk``, ``trained`` (one candidate),
    ``method_done`` (a MethodResult), ``finished`` (summary). ``should_stop`` is polled between
    cells and training batches; when it returns True the search raises ``Cancelled``.
    """

    def __init__(self, config: SearchConfig, cache=None, should_stop=None, workers: int = 0):
        self.config = config.validate()
        if cache is None:
            from .cache import ScoreCache

            cache = ScoreCache()
        self.cache = cache
        self.should_stop = should_stop or (lambda: False)
        self.workers = workers
        self.results: list[MethodResult] = []

    def events(self):
        from . import benchmark

        cfg = self.config
        start = time.time()
        self.dataset = data.load_named(cfg.dataset, cfg.data, "train")
        self.truth = benchmark.load_table(cfg.truth) if cfg.truth else None
        stage = FineStage.parse(cfg.fine)
        if stage.kind == "lookup":
            table = benchmark.load_table(stage.table) if stage.table else self.truth
            self.fine_values = benchmark.column(table, stage.column)
        pools = [space.parse_pool(cfg.pool, cfg.seed + r) for r in range(cfg.repeats)]
        yield {"kind": "started", "methods": list(cfg.methods), "repeats": cfg.repeats,
               "pool_size": len(pools[0]), "k": cfg.k,
               "best_possible": self._best_possible()}
        for repeat, pool in enumerate(pools):
            for method in cfg.methods:
                result = yield from self._run_method(method, repeat, pool, stage)
                self.results.append(result)
                yield {"kind": "method_done", "result": asdict(result)}
        yield {"kind": "finished", "summary": summarise(self.results),
               "seconds": time.time() - start}

    def _best_possible(self):
        if self.truth is None:
            return None
        from . import benchmark

        index, value = benchmark.best(self.truth, self.config.report_column)
        return {"index": index, "value": value, "column": self.config.report_column}

    def _run_method(self, method, repeat, pool, stage):
        seed = self.config.seed + repeat
        t0 = time.time()
        if method == RANDOM:
            topk, scored = random.Random(seed).sample(pool, self.config.k), 0
        else:
            topk, scored = yield from self._coarse(method, repeat, pool, seed)
        coarse_seconds = time.time() - t0
        yield {"kind": "topk", "method": method, "repeat": repeat, "indices": topk, "final": True}
        t1 = time.time()
        chosen, fine_score, trained = yield from self._fine(stage, topk, method, repeat, seed)
        return MethodResult(
            method=method, repeat=repeat, seed=seed, chosen=chosen,
            arch_str=space.to_str(space.arch_at(chosen)),
            test_accuracy=self._test_accuracy(chosen), fine_score=fine_score, topk=topk,
            coarse_seconds=coarse_seconds, fine_seconds=time.time() - t1,
            networks_scored=scored, networks_trained=trained)

    def _coarse(self, method, repeat, pool, seed):
        """Score the pool; returns (top-k indices, networks built) and yields progress events."""
        from . import scoring, stats

        cfg = self.config
        members = proxy_members(method)
        settings = scoring.ScoreSettings(n=cfg.n, seed=seed, params=cfg.params)
        batch = scoring.make_batch(self.dataset, cfg.n, seed)
        results = scoring.score_pool_auto(pool, members, batch, settings, self.cache, cfg.device,
                                          self.workers)
        values: dict[int, dict] = {}
        built, started, last_topk = 0, time.time(), 0.0
        try:
            for result in results:
                if self.should_stop():
                    raise Cancelled()
                built += result.networks_built
                values[result.index] = result.values
                done = len(values)
                yield {"kind": "scored", "method": method, "repeat": repeat, "index": result.index,
                       "values": result.values, "built": result.networks_built,
                       "done": done, "total": len(pool),
                       "rate": done / max(time.time() - started, 1e-9)}
                if len(members) == 1 and time.time() - last_topk > 1.0:
                    last_topk = time.time()
                    yield {"kind": "topk", "method": method, "repeat": repeat, "final": False,
                           "indices": _top(values, members[0], cfg.k)}
        finally:
            results.close()
        if len(members) == 1:
            return _top(values, members[0], cfg.k), built
        import pandas as pd

        frame = pd.DataFrame.from_dict(values, orient="index")
        ranks = stats.rank_ensemble(frame, members)
        return _top({i: {"ensemble": v} for i, v in ranks.items()}, "ensemble", cfg.k), built

    def _fine(self, stage: FineStage, topk, method, repeat, seed):
        if stage.kind == "lookup":
            scores = {i: float(self.fine_values.get(i, math.nan)) for i in topk}
            chosen = max(topk, key=lambda i: (_finite(scores[i]), -i))
            return chosen, scores[chosen], 0
        from . import train

        settings = train.TrainSettings(epochs=stage.epochs, seed=seed,
                                       train_samples=self.config.train_samples or None)
        accuracies = {}
        for position, index in enumerate(topk):
            try:
                result = train.train_and_evaluate(index, self.dataset, settings,
                                                  device=self._train_device(),
                                                  should_stop=self.should_stop)
            except train.TrainingCancelled:
                raise Cancelled() from None
            accuracies[index] = result.val_accuracy
            yield {"kind": "trained", "method": method, "repeat": repeat, "index": index,
                   "val_accuracy": result.val_accuracy, "seconds": result.seconds,
                   "done": position + 1, "total": len(topk)}
        chosen = max(topk, key=lambda i: (accuracies[i], -i))
        return chosen, accuracies[chosen], len(topk)

    def _train_device(self):
        from . import scoring

        return scoring.resolve_device(self.config.device)

    def _test_accuracy(self, index: int) -> float:
        if self.truth is None or index not in self.truth.index:
            return math.nan
        return float(self.truth.at[index, self.config.report_column])


def _finite(value: float) -> float:
    return value if not math.isnan(value) else -math.inf


def _top(values: dict, name: str, k: int) -> list[int]:
    """The k best indices by a score (bigger is better; NaN last; ties by lower index)."""
    return sorted(values, key=lambda i: (-_finite(values[i][name]), i))[:k]
