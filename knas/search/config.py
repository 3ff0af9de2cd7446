"""What a search or a scoring run is asked to do: frozen, validated configs with a stable hash.

``SearchConfig`` holds every setting of a two-stage KNAS search as plain values (strings in the
spec forms of ``knas.search.specs``), so it is hashable, storable as JSON and identical whether it came
from the CLI, the New search form or a stored job. ``errors()`` checks every field before any
work and says, per field, what is wrong (``knas.search.estimate`` says how long a valid one will take).
Torch-free: the UI builds and checks configs without loading torch.
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from knas import fmt, spaces
from knas.data import benchmark, datasets
from knas.errors import KnasError
from knas.search import constraints, strategies
from knas.search.checks import (MAX_BUDGET, MAX_SEED, check_applicable, check_backend, check_data,
                                check_dataset, check_device, check_space, check_texts, check_whole,
                                record)
from knas.search.specs import (REFERENCE, STRATEGIES, FineStage, Method, ParamSelection, Pool, parse_methods,
                               proxies_of)

class ConfigError(KnasError):
    """Settings that cannot run; ``errors`` maps each bad field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


@dataclass(frozen=True)
class SearchConfig:
    space: str = spaces.DEFAULT  # a built-in space's name or path/to/file.py:ClassName
    dataset: str = "cifar10"
    data: str = ""  # dataset folder in its official layout, image folder or .npz
    truth: str = ""  # ground-truth table (CSV or official .pth); optional
    report: str = ""  # truth column reported as the chosen cell's accuracy; default per dataset
    pool: str = "random:1000"  # a specs.Pool
    proxy: str = "mgm"  # a specs.Method: a registered proxy or ensemble:a+b
    n: int = 32
    k: int = 40
    fine: str = f"lookup:{spaces.get().truth_columns('cifar10').valid}"  # a specs.FineStage
    baselines: tuple = ()  # specs.Method texts, e.g. ("random", "synflow")
    repeats: int = 1
    seed: int = 0
    device: str = "auto"
    params: str = "all"  # a specs.ParamSelection: which weights MGM uses
    train_samples: int = 0  # fine stage training: images per candidate (0: the whole split)
    # The search-cost axis: NAS-Bench-201's recorded training times, and the classic strategies'
    # 12-epoch table (default: the fine stage's lookup table) and simulated time budget.
    costs: str = ""  # costs table (nb201_costs.csv schema); without it costs are FLOPs estimates
    table12: str = ""  # 12-epoch table a strategy's evaluations look up
    budget: float | None = None  # seconds a classic strategy may spend; None: the dataset's default
    backend: str = "local"  # one of BACKENDS
    ray_address: str = ""  # backend ray: "" (a private instance for the job), auto or HOST:PORT
    # The networks' weights and the image batch: None draws them per repeat (seed + r) with the
    # pool; a number keeps them fixed while pools vary, so a many-repeat study reuses one scoring
    # of the space from the cache (say so when reporting it).
    weights_seed: int | None = None
    # Deployment limits (knas.search.constraints) every method keeps to, and the Pareto mode:
    # with ``pareto`` a device, each method returns its (accuracy, latency) front there.
    latency: str = ""  # latency table: index, arch_str, latency_ms_<device> columns
    max_latency: tuple = ()  # DEVICE:MS limits; device "here" is this machine, measured
    max_params: float | None = None  # millions
    max_flops: float | None = None  # millions of multiply-accumulates
    pareto: str = ""  # a device of the latency table, or here

    @property
    def search_space(self):
        """The space object (``knas.spaces.get``)."""
        return spaces.get(self.space)

    @property
    def report_column(self) -> str:
        if self.report:
            return self.report
        return self.search_space.truth_columns(self.dataset).test if self.dataset in datasets.CATALOG \
            else ""

    @property
    def methods(self) -> tuple:
        return (self.proxy, *[b for b in self.baselines if b != self.proxy])

    @property
    def fine_stage(self) -> FineStage:
        return FineStage.parse(self.fine)

    def pools(self) -> list[list[int]]:
        """Each repeat's pool: repeat r draws with seed + r."""
        space = self.search_space
        pool = Pool.parse(self.pool, space.size)
        return [pool.indices(space, self.seed + r) for r in range(self.repeats)]

    @property
    def reward_table(self) -> str:
        """The 12-epoch table classic strategies look rewards up in: ``table12``, else the fine
        stage's own lookup table ("" when there is neither)."""
        if self.table12:
            return self.table12
        stage = record({}, "fine", lambda: FineStage.parse(self.fine))
        return stage.table if stage is not None and stage.kind == "lookup" else ""

    @property
    def strategies(self) -> list[str]:
        """The classic multi-trial strategies among the methods."""
        return [m for m in self.methods if m in STRATEGIES]

    @property
    def trained_strategies(self) -> list[str]:
        """The strategies that really train the cells they evaluate: bohb always, every strategy
        on a space without a table of short runs (``strategies.trains_for_real``)."""
        return [m for m in self.strategies if strategies.trains_for_real(m, self.search_space)]

    @property
    def two_stage_methods(self) -> list[str]:
        """The methods that score a pool and pick among its top-k (proxies and random)."""
        return [m for m in self.methods if Method.parse(m).is_two_stage]

    @property
    def names(self) -> list[str]:
        """The registered proxies its methods score, each once."""
        return proxies_of(Method.parse(m) for m in self.two_stage_methods)

    def key(self) -> str:
        """Stable across runs, machines and versions: the job id is derived from it. Only fields
        that differ from their defaults enter it, so adding a setting keeps every old id."""
        defaults = {f.name: f.default for f in fields(self)}
        values = {k: v for k, v in self.to_dict().items() if v != defaults[k]
                  and not (k == "baselines" and not v)}
        if spaces.is_file_spec(self.space):  # an edited space file is another search
            values["space_source"] = self.search_space.source_digest
        text = json.dumps(values, sort_keys=True, default=list)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict:
        return {**asdict(self), "baselines": list(self.baselines),
                "max_latency": list(self.max_latency)}

    @classmethod
    def from_dict(cls, values: dict) -> "SearchConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise ConfigError({name: "unknown setting" for name in sorted(unknown)})
        values = dict(values)
        for name in ("baselines", "max_latency"):
            listed = values.get(name, ())
            values[name] = tuple(listed) if isinstance(listed, (list, tuple)) else listed
        return cls(**values)

    def errors(self) -> dict[str, str]:
        """Every field that cannot work, with a message; empty when the config can run."""
        errors: dict[str, str] = {}
        values = asdict(self)
        check_whole(errors, values, {
            "n": (2, "at least 2 samples per network (MGM compares samples)"),
            "k": (1, "k must be at least 1"), "repeats": (1, "at least 1"),
            "seed": (0, "a seed is 0 or a positive whole number"),
            "train_samples": (0, "0 (all) or a positive number of images")})
        check_texts(errors, values, ("space", "dataset", "data", "truth", "report", "pool", "proxy", "fine",
                                "device", "params", "costs", "table12", "backend", "ray_address",
                                "latency", "pareto"))
        for name, what in (("baselines", "method names"), ("max_latency", "DEVICE:MS limits")):
            listed = getattr(self, name)
            if not isinstance(listed, tuple) or not all(isinstance(b, str) for b in listed):
                errors[name] = f"must be a list of {what}, got {fmt.clip(repr(listed), 80)}"
            else:
                check_texts(errors, {name: "".join(listed)}, (name,))
        if self.weights_seed is not None and (isinstance(self.weights_seed, bool) or not isinstance(
                self.weights_seed, int) or not 0 <= self.weights_seed <= MAX_SEED):
            errors["weights_seed"] = (f"a seed is a whole number from 0 to {MAX_SEED:,}, got "
                                      f"{fmt.clip(repr(self.weights_seed), 40)}")
        for name, what in (("budget", "a number of seconds"), ("max_params", "a number (millions)"),
                           ("max_flops", "a number (millions)")):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))):
                errors[name] = f"must be {what}, got {value!r}"
        if errors:
            return errors  # wrongly typed values: the checks below would only add noise
        space = check_space(errors, self.space)
        if space is None:
            return errors  # every other check depends on the space
        check_dataset(errors, self.dataset, space)
        check_data(errors, self.data, self.dataset, space)
        if "dataset" not in errors and datasets.is_text(self.dataset):
            split = datasets.info(self.dataset).train_split
            if split and self.train_samples > split:
                errors["train_samples"] = (f"{self.train_samples:,} is more than the {split:,} "
                                           f"texts of {self.dataset}'s training split (0: all)")
        check_device(errors, self.device)
        check_backend(errors, self.backend, self.ray_address)
        pool = record(errors, "pool", lambda: Pool.parse(self.pool, space.size))
        method = record(errors, "proxy", lambda: Method.parse(self.proxy))
        if method is not None and not method.members:
            errors["proxy"] = (f"the searched method must use a proxy; {self.proxy} is a "
                               "baseline (list it under baselines)")
        if method is not None:
            check_applicable(errors, "proxy", method.members, space)
        for baseline in self.baselines:
            found = record(errors, "baselines", lambda b=baseline: Method.parse(b))
            if found is not None:
                check_applicable(errors, "baselines", found.members, space)
            if found is not None and found.reference and not hasattr(space, "build_reference"):
                errors["baselines"] = (f"{REFERENCE}: the {space.label or space.name} space has no "
                                       "reference network to train")
            elif found is not None and found.reference and not self.fine.startswith("train:"):
                errors["baselines"] = (f"{REFERENCE} is trained like the candidates: choose a "
                                       "train:EPOCHS fine stage")
            elif found is not None and found.oneshot and not space.supernet_ops:
                errors["baselines"] = (f"{baseline}: the {space.label or space.name} space has no "
                                       "supernet (every op on every edge) to search by weight "
                                       "sharing or pruning")
        record(errors, "params", lambda: ParamSelection.parse(self.params))
        if pool is not None and "k" not in errors and self.k > len(pool):
            errors["k"] = f"k = {self.k} is larger than the pool ({len(pool)} cells)"
        if self.truth and not Path(self.truth).is_file():
            errors["truth"] = f"{self.truth} does not exist"
        for name in ("truth", "table12", "costs"):  # a native table is read only once converted
            if getattr(self, name):
                record(errors, name, lambda n=name: space.require_converted(getattr(self, n)))
        stage = record(errors, "fine", lambda: FineStage.parse(self.fine))
        if stage is not None and stage.kind == "lookup":
            table = stage.table or self.truth
            if not table:
                errors["fine"] = f"lookup:{stage.column} needs a ground-truth table (truth)"
            elif not Path(table).is_file():
                errors["fine"] = f"table {table} does not exist"
            else:
                record(errors, "fine", lambda: space.require_converted(table))
                record(errors, "fine", lambda: benchmark.require_column(table, stage.column, space))
        self._check_cost_axis(errors, space, stage)
        constraints.check(errors, self, space)
        if "nsga2" in self.methods and not self.pareto:
            errors["baselines"] = "nsga2 searches the accuracy–latency front: set pareto to a device"
        if self.truth and "truth" not in errors:
            if not self.report_column:
                errors["report"] = "no column to report accuracy from"
            else:
                record(errors, "report",
                       lambda: benchmark.require_column(self.truth, self.report_column, space))
        return errors

    def _check_cost_axis(self, errors: dict, space, stage) -> None:
        """The costs table, the budget, and what a classic strategy needs to run."""
        if self.budget is not None and not (math.isfinite(self.budget) and 0 < self.budget <= MAX_BUDGET):
            errors["budget"] = (f"a positive number of seconds up to {MAX_BUDGET:,.0f}, got "
                                f"{fmt.clip(repr(self.budget), 40)}")
        known = "dataset" not in errors
        if self.costs:
            if not Path(self.costs).is_file():
                errors["costs"] = f"{self.costs} does not exist"
            elif known:
                record(errors, "costs", lambda: benchmark.require_column(
                    self.costs, space.truth_columns(self.dataset).cost, space))
        if self.table12 and not Path(self.table12).is_file():
            errors["table12"] = f"{self.table12} does not exist"
        if not self.strategies or not known:
            return
        trained = [m for m in self.strategies if strategies.trains_for_real(m, space)]
        names = ", ".join(trained)
        if trained and space.short_epochs is None:  # no table of short runs: all train for real
            if stage is None or stage.kind != "train":
                errors["fine"] = (f"{names} train each cell they evaluate on {space.name}, which has "
                                  "no table of short-training results: use a training fine stage "
                                  "(train:EPOCHS), whose recipe they use too")
            if self.budget is None:
                errors["budget"] = (f"{names} train cells for real on {space.name}: give their "
                                    "budget in seconds")
        elif trained and self.budget is None:
            errors["budget"] = (f"{names} needs accuracies after each epoch, which "
                                f"{space.label}'s tables do not hold, so it trains cells for real "
                                f"(up to {space.short_epochs} epochs each): give its budget in "
                                "seconds")
        names = ", ".join(m for m in self.strategies if m not in trained)
        if not names:
            return
        table = self.reward_table
        short = space.truth_columns(self.dataset).short
        if not table:
            errors["table12"] = (f"{names} evaluate cells by their {space.short_epochs}-epoch "
                                 f"accuracy: give the {space.short_epochs}-epoch table (table12, or "
                                 "a fine stage lookup:TABLE.csv:COLUMN)")
        elif "table12" not in errors and Path(table).is_file():
            record(errors, "table12", lambda: benchmark.require_column(table, short, space))
        if not self.costs:
            errors["costs"] = (f"{names} spend a simulated training-time budget: give the costs "
                               f"table ({space.label}'s recorded training seconds per cell)")

    def validate(self) -> "SearchConfig":
        errors = self.errors()
        if errors:
            raise ConfigError(errors)
        return self


@dataclass(frozen=True)
class ScoreConfig:
    """``python -m knas score``: proxies on a pool, without a search around them."""
    dataset: str
    data: str
    space: str = spaces.DEFAULT
    pool: str = "random:200"
    proxies: str = "mgm"  # comma-separated specs.Method texts
    n: int = 32
    seed: int = 0
    params: str = "all"
    device: str = "auto"
    backend: str = "local"
    ray_address: str = ""

    @property
    def search_space(self):
        return spaces.get(self.space)

    @property
    def methods(self) -> list[Method]:
        return parse_methods(self.proxies)

    @property
    def names(self) -> list[str]:
        """The registered proxies to score, each once."""
        return proxies_of(self.methods)

    def errors(self) -> dict[str, str]:
        errors: dict[str, str] = {}
        check_whole(errors, asdict(self), {"n": (2, "at least 2 samples per network"),
                                      "seed": (0, "a seed is 0 or a positive whole number")})
        check_texts(errors, asdict(self), ("dataset", "data", "space", "pool", "proxies", "params",
                                      "device", "backend", "ray_address"))
        if errors:
            return errors
        space = check_space(errors, self.space)
        if space is None:
            return errors
        check_dataset(errors, self.dataset, space)
        check_data(errors, self.data, self.dataset, space)
        check_device(errors, self.device)
        check_backend(errors, self.backend, self.ray_address)
        record(errors, "pool", lambda: Pool.parse(self.pool, space.size))
        methods = record(errors, "proxies", lambda: self.methods)
        if methods is not None and (not methods or any(not m.members for m in methods)):
            errors["proxies"] = ("name proxies only (random and the classic strategies are search "
                                 "baselines, not scores)")
        elif methods is not None:
            check_applicable(errors, "proxies", proxies_of(methods), space)
        record(errors, "params", lambda: ParamSelection.parse(self.params))
        return errors

    def validate(self) -> "ScoreConfig":
        errors = self.errors()
        if errors:
            raise ConfigError(errors)
        return self
