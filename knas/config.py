"""What a search or a scoring run is asked to do: frozen, validated configs with a stable hash.

``SearchConfig`` holds every setting of a two-stage KNAS search as plain values (strings in the
spec forms of ``knas.specs``), so it is hashable, storable as JSON and identical whether it came
from the CLI, the New search form or a stored job. ``errors()`` checks every field before any
work and says, per field, what is wrong; ``estimate`` says how much work a valid config asks for.
Torch-free: the UI builds and checks configs without loading torch.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from . import benchmark, data, datasets, proxies, space
from .errors import KnasError
from .specs import FineStage, Method, ParamSelection, Pool, parse_methods, proxies_of

DEVICES = ("auto", "cpu", "cuda", "mps")  # cuda:N names one GPU


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


def _whole(errors: dict, values: dict, minimum: dict) -> None:
    """Integer fields: a whole number (not a bool, not text) at least the field's minimum."""
    for name, (least, why) in minimum.items():
        value = values[name]
        if not isinstance(value, int) or isinstance(value, bool):
            errors[name] = f"must be a whole number, got {value!r}"
        elif value < least:
            errors[name] = why


def check_data(errors: dict, path: str) -> None:
    if not path:
        errors["data"] = "no dataset path given"
    elif not Path(path).exists():
        errors["data"] = f"{path} not found: the path does not exist"
    elif data.detect(path) is None:
        errors["data"] = f"{path} holds no dataset in a known layout"


def check_device(errors: dict, device: str) -> None:
    base, _, number = str(device).partition(":")
    if base not in DEVICES or (number and (base != "cuda" or not number.isdigit())):
        errors["device"] = f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps"


def check_dataset(errors: dict, name: str) -> None:
    _check(errors, "dataset", lambda: datasets.info(name))


@dataclass(frozen=True)
class SearchConfig:
    dataset: str = "cifar10"
    data: str = ""  # dataset folder in its official layout, image folder or .npz
    truth: str = ""  # ground-truth table (CSV or official .pth); optional
    report: str = ""  # truth column reported as the chosen cell's accuracy; default per dataset
    pool: str = "random:1000"  # a specs.Pool
    proxy: str = "mgm"  # a specs.Method: a registered proxy or ensemble:a+b
    n: int = 32
    k: int = 40
    fine: str = f"lookup:{datasets.info('cifar10').valid_column}"  # a specs.FineStage
    baselines: tuple = ()  # specs.Method texts, e.g. ("random", "synflow")
    repeats: int = 1
    seed: int = 0
    device: str = "auto"
    params: str = "all"  # a specs.ParamSelection: which weights MGM uses
    train_samples: int = 0  # fine stage training: images per candidate (0: the whole split)

    @property
    def report_column(self) -> str:
        return self.report or datasets.test_column(self.dataset)

    @property
    def methods(self) -> tuple:
        return (self.proxy, *[b for b in self.baselines if b != self.proxy])

    @property
    def fine_stage(self) -> FineStage:
        return FineStage.parse(self.fine)

    def pools(self) -> list[list[int]]:
        """Each repeat's pool: repeat r draws with seed + r."""
        pool = Pool.parse(self.pool)
        return [pool.indices(self.seed + r) for r in range(self.repeats)]

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
        baselines = values.get("baselines", ())
        values["baselines"] = tuple(baselines) if isinstance(baselines, (list, tuple)) else baselines
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
        for name in ("dataset", "data", "truth", "report", "pool", "proxy", "fine", "device",
                     "params"):
            if not isinstance(values[name], str):
                errors[name] = f"must be text, got {values[name]!r}"
        if not isinstance(self.baselines, tuple) or not all(isinstance(b, str) for b in self.baselines):
            errors["baselines"] = f"must be a list of method names, got {self.baselines!r}"
        if errors:
            return errors  # wrongly typed values: the checks below would only add noise
        check_dataset(errors, self.dataset)
        check_data(errors, self.data)
        check_device(errors, self.device)
        pool = _check(errors, "pool", lambda: Pool.parse(self.pool))
        method = _check(errors, "proxy", lambda: Method.parse(self.proxy))
        if method is not None and method.is_random:
            errors["proxy"] = "the searched method must use a proxy; random is a baseline"
        for baseline in self.baselines:
            _check(errors, "baselines", lambda b=baseline: Method.parse(b))
        _check(errors, "params", lambda: ParamSelection.parse(self.params))
        if pool is not None and "k" not in errors and self.k > len(pool):
            errors["k"] = f"k = {self.k} is larger than the pool ({len(pool)} cells)"
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
                _check(errors, "fine", lambda: benchmark.require_column(table, stage.column))
        if self.truth and "truth" not in errors:
            if not self.report_column:
                errors["report"] = "no column to report accuracy from"
            else:
                _check(errors, "report",
                       lambda: benchmark.require_column(self.truth, self.report_column))
        return errors

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
    pool: str = "random:200"
    proxies: str = "mgm"  # comma-separated specs.Method texts
    n: int = 32
    seed: int = 0
    params: str = "all"
    device: str = "auto"

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
        check_dataset(errors, self.dataset)
        check_data(errors, self.data)
        check_device(errors, self.device)
        _check(errors, "pool", lambda: Pool.parse(self.pool))
        methods = _check(errors, "proxies", lambda: self.methods)
        if methods is not None and (not methods or any(m.is_random for m in methods)):
            errors["proxies"] = "name at least one proxy (random is a search baseline, not a score)"
        _check(errors, "params", lambda: ParamSelection.parse(self.params))
        return errors

    def validate(self) -> "ScoreConfig":
        errors = self.errors()
        if errors:
            raise ConfigError(errors)
        return self


GPU_SPEEDUP = 20.0  # assumed, not measured here (no GPU on the reference machine)


def estimate(config: SearchConfig, device: str = "cpu") -> dict:
    """How much work a config asks for: networks to score and to train, and a rough time."""
    networks, seconds = 0, 0.0
    pools = config.pools()
    for pool in pools:
        unique = len({space.representative(space.arch_at(i)) for i in pool})
        for method in config.methods:
            passes = {}
            for member in Method.parse(method).members:
                meta = proxies.info(member)
                passes.setdefault(meta.function_name, (meta, unique if meta.dedup else len(pool)))
            for meta, count in passes.values():
                networks += count
                seconds += count * meta.cpu_seconds * config.n / 32
    stage = config.fine_stage
    trained = config.k * len(config.methods) * config.repeats if stage.kind == "train" else 0
    if device != "cpu":
        seconds /= GPU_SPEEDUP
    return {"pool_size": len(pools[0]), "networks": networks, "trained": trained,
            "epochs": stage.epochs, "seconds": seconds}
