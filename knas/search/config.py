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

from knas import fmt, proxies, spaces
from knas.data import benchmark, datasets, readers
from knas.errors import KnasError
from knas.search import constraints
from knas.search.specs import (STRATEGIES, FineStage, Method, ParamSelection, Pool, parse_methods,
                               proxies_of)

DEVICES = ("auto", "cpu", "cuda", "mps")  # cuda:N names one GPU
BACKENDS = ("local", "ray")  # where scoring and training run: this machine's processes, or Ray


class ConfigError(KnasError):
    """Settings that cannot run; ``errors`` maps each bad field to what is wrong with it."""

    def __init__(self, errors: dict[str, str]):
        self.errors = errors
        super().__init__("; ".join(f"{name}: {message}" for name, message in errors.items()))


def _check(errors: dict, name: str, fn):
    """Run one check; record its message under ``name`` instead of raising."""
    try:
        return fn()
    except (KnasError, ValueError) as err:
        errors.setdefault(name, str(err))
        return None


# Upper ends of the numeric settings: past them a run never ends, or a seed overflows.
MAX_SEED = 2**31 - 1  # seeds seed..seed+repeats-1 stay valid for numpy and torch
MAX_REPEATS = 1000
MAX_N = 1024  # samples per network: MGM keeps one gradient per sample
MAX_TEXT = 4096  # a path, column or spec (Linux's PATH_MAX)
MAX_BUDGET = 1e6  # seconds of a classic strategy (NAS-Bench-201 gives 12,000 on CIFAR-10)
RANGES = {"n": (2, MAX_N), "k": (1, 10**7), "repeats": (1, MAX_REPEATS), "seed": (0, MAX_SEED),
          "train_samples": (0, 10**8)}


def _whole(errors: dict, values: dict, minimum: dict) -> None:
    """Integer fields: a whole number (not a bool, not text) at least the field's minimum and at
    most its ``RANGES`` maximum."""
    for name, (least, why) in minimum.items():
        value, most = values[name], RANGES[name][1]
        if not isinstance(value, int) or isinstance(value, bool):
            errors[name] = f"must be a whole number, got {fmt.clip(repr(value), 40)}"
        elif value < least:
            errors[name] = why
        elif value > most:
            errors[name] = f"at most {most:,}, got {fmt.clip(str(value), 40)}"


def _texts(errors: dict, values: dict, names) -> None:
    """Text fields: text, and no longer than ``MAX_TEXT`` (a path that long makes the OS refuse
    the check itself; a name that long makes every suggestion slow)."""
    for name in names:
        value = values[name]
        if not isinstance(value, str):
            errors[name] = f"must be text, got {fmt.clip(repr(value), 40)}"
        elif len(value) > MAX_TEXT:
            errors[name] = f"at most {MAX_TEXT:,} characters, got {len(value):,}: {fmt.clip(value, 40)}"


def check_data(errors: dict, path: str) -> None:
    if not path:
        errors["data"] = "no dataset path given"
    elif not Path(path).exists():
        errors["data"] = f"{path} not found: the path does not exist"
    elif readers.detect(path) is None:
        errors["data"] = f"{path} holds no dataset in a known layout"


def check_device(errors: dict, device: str) -> None:
    base, _, number = str(device).partition(":")
    if base not in DEVICES or (number and (base != "cuda" or not number.isdigit())):
        errors["device"] = f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps"


def check_dataset(errors: dict, name: str, space) -> None:
    """A catalogued data set whose data the space's networks take."""
    if _check(errors, "dataset", lambda: datasets.info(name)) is None:
        return
    if space.datasets and name not in space.datasets:
        errors["dataset"] = (f"the {space.label or space.name} space takes "
                             f"{', '.join(space.datasets)}, not {name}")


def check_space(errors: dict, spec: str):
    """The space a config names (a file space is loaded, which runs it: see knas.spaces)."""
    return _check(errors, "space", lambda: spaces.get(spec))


def check_applicable(errors: dict, field: str, names, space) -> None:
    """Every proxy must be able to score the space's networks (when the space declares what
    they offer; otherwise the first network built says so)."""
    if space.capabilities is None:
        return
    for name in names:
        why = proxies.unmet(name, space.capabilities) if name in proxies.CATALOG else None
        if why:
            errors.setdefault(field, f"{why}, which the networks of {space.name} do not offer")


def check_backend(errors: dict, backend: str, address: str) -> None:
    """``local`` or ``ray``; a Ray address is ``auto`` or HOST:PORT ("" starts a private instance)."""
    from knas.scoring import raycluster  # torch- and ray-free at import

    if backend not in BACKENDS:
        errors["backend"] = f"unknown backend {backend!r}; use {' or '.join(BACKENDS)}"
    elif address and backend != "ray":
        errors["ray_address"] = "a Ray address needs backend ray"
    elif address and address != "auto":
        _check(errors, "ray_address", lambda: raycluster.split_address(address))


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
        stage = _check({}, "fine", lambda: FineStage.parse(self.fine))
        return stage.table if stage is not None and stage.kind == "lookup" else ""

    @property
    def strategies(self) -> list[str]:
        """The classic multi-trial strategies among the methods."""
        return [m for m in self.methods if m in STRATEGIES]

    @property
    def two_stage_methods(self) -> list[str]:
        """The methods that score a pool and pick among its top-k (proxies and random)."""
        return [m for m in self.methods if m not in STRATEGIES]

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
        _whole(errors, values, {
            "n": (2, "at least 2 samples per network (MGM compares samples)"),
            "k": (1, "k must be at least 1"), "repeats": (1, "at least 1"),
            "seed": (0, "a seed is 0 or a positive whole number"),
            "train_samples": (0, "0 (all) or a positive number of images")})
        _texts(errors, values, ("space", "dataset", "data", "truth", "report", "pool", "proxy", "fine",
                                "device", "params", "costs", "table12", "backend", "ray_address",
                                "latency", "pareto"))
        for name, what in (("baselines", "method names"), ("max_latency", "DEVICE:MS limits")):
            listed = getattr(self, name)
            if not isinstance(listed, tuple) or not all(isinstance(b, str) for b in listed):
                errors[name] = f"must be a list of {what}, got {fmt.clip(repr(listed), 80)}"
            else:
                _texts(errors, {name: "".join(listed)}, (name,))
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
        check_data(errors, self.data)
        check_device(errors, self.device)
        check_backend(errors, self.backend, self.ray_address)
        pool = _check(errors, "pool", lambda: Pool.parse(self.pool, space.size))
        method = _check(errors, "proxy", lambda: Method.parse(self.proxy))
        if method is not None and not method.members:
            errors["proxy"] = (f"the searched method must use a proxy; {self.proxy} is a "
                               "baseline (list it under baselines)")
        if method is not None:
            check_applicable(errors, "proxy", method.members, space)
        for baseline in self.baselines:
            found = _check(errors, "baselines", lambda b=baseline: Method.parse(b))
            if found is not None:
                check_applicable(errors, "baselines", found.members, space)
        _check(errors, "params", lambda: ParamSelection.parse(self.params))
        if pool is not None and "k" not in errors and self.k > len(pool):
            errors["k"] = f"k = {self.k} is larger than the pool ({len(pool)} cells)"
        if self.truth and not Path(self.truth).is_file():
            errors["truth"] = f"{self.truth} does not exist"
        for name in ("truth", "table12", "costs"):  # a native table is read only once converted
            if getattr(self, name):
                _check(errors, name, lambda n=name: space.require_converted(getattr(self, n)))
        stage = _check(errors, "fine", lambda: FineStage.parse(self.fine))
        if stage is not None and stage.kind == "lookup":
            table = stage.table or self.truth
            if not table:
                errors["fine"] = f"lookup:{stage.column} needs a ground-truth table (truth)"
            elif not Path(table).is_file():
                errors["fine"] = f"table {table} does not exist"
            else:
                _check(errors, "fine", lambda: space.require_converted(table))
                _check(errors, "fine", lambda: benchmark.require_column(table, stage.column, space))
        self._check_cost_axis(errors, space, stage)
        constraints.check(errors, self, space)
        if "nsga2" in self.methods and not self.pareto:
            errors["baselines"] = "nsga2 searches the accuracy–latency front: set pareto to a device"
        if self.truth and "truth" not in errors:
            if not self.report_column:
                errors["report"] = "no column to report accuracy from"
            else:
                _check(errors, "report",
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
                _check(errors, "costs", lambda: benchmark.require_column(
                    self.costs, space.truth_columns(self.dataset).cost, space))
        if self.table12 and not Path(self.table12).is_file():
            errors["table12"] = f"{self.table12} does not exist"
        if not self.strategies or not known:
            return
        names = ", ".join(self.strategies)
        if space.short_epochs is None:  # no table of short runs: the strategies train for real
            if stage is None or stage.kind != "train":
                errors["fine"] = (f"{names} train each cell they evaluate on {space.name}, which has "
                                  "no table of short-training results: use a training fine stage "
                                  "(train:EPOCHS), whose recipe they use too")
            if self.budget is None:
                errors["budget"] = (f"{names} train cells for real on {space.name}: give their "
                                    "budget in seconds")
            return
        table = self.reward_table
        short = space.truth_columns(self.dataset).short
        if not table:
            errors["table12"] = (f"{names} evaluate cells by their {space.short_epochs}-epoch "
                                 f"accuracy: give the {space.short_epochs}-epoch table (table12, or "
                                 "a fine stage lookup:TABLE.csv:COLUMN)")
        elif "table12" not in errors and Path(table).is_file():
            _check(errors, "table12", lambda: benchmark.require_column(table, short, space))
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
        _whole(errors, asdict(self), {"n": (2, "at least 2 samples per network"),
                                      "seed": (0, "a seed is 0 or a positive whole number")})
        _texts(errors, asdict(self), ("dataset", "data", "space", "pool", "proxies", "params",
                                      "device", "backend", "ray_address"))
        if errors:
            return errors
        space = check_space(errors, self.space)
        if space is None:
            return errors
        check_dataset(errors, self.dataset, space)
        check_data(errors, self.data)
        check_device(errors, self.device)
        check_backend(errors, self.backend, self.ray_address)
        _check(errors, "pool", lambda: Pool.parse(self.pool, space.size))
        methods = _check(errors, "proxies", lambda: self.methods)
        if methods is not None and (not methods or any(not m.members for m in methods)):
            errors["proxies"] = ("name proxies only (random and the classic strategies are search "
                                 "baselines, not scores)")
        elif methods is not None:
            check_applicable(errors, "proxies", proxies_of(methods), space)
        _check(errors, "params", lambda: ParamSelection.parse(self.params))
        return errors

    def validate(self) -> "ScoreConfig":
        errors = self.errors()
        if errors:
            raise ConfigError(errors)
        return self
