"""Deployment limits on a search: latency on a device, parameters, FLOPs.

A ``Limit`` bounds one *measure* of a cell: ``latency_ms_<device>`` (a latency table's column,
or ``latency_ms_here``, this machine, measured), ``params_m`` (millions) or ``flops_m``
(millions of multiply-accumulates, as NAS-Bench-201 counts them). ``Measures`` says what a cell's
value of a measure is: read from the table, counted in closed form where the space can
(NAS-Bench-201), or computed by a callable the pipeline hands in (a built network, a timed
forward pass). ``Constraints`` is the set of limits a search keeps to: every method ranks,
samples and returns only cells that fit them. Torch-free.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from knas import fmt
from knas.data import datasets, latency
from knas.errors import KnasError

PARAMS, FLOPS = "params_m", "flops_m"


class ConstraintError(KnasError):
    """A limit that cannot be met or checked; the message says which and why."""


def latency_measure(device: str) -> str:
    return latency.PREFIX + device


def device_of(measure: str) -> str | None:
    return measure[len(latency.PREFIX):] if measure.startswith(latency.PREFIX) else None


def describe(measure: str) -> str:
    """A measure as people say it, with its unit."""
    device = device_of(measure)
    if device is not None:
        return f"latency on {latency.label(device)} (ms)"
    return {PARAMS: "parameters (M)", FLOPS: "FLOPs (M)"}.get(measure, measure)


@dataclass(frozen=True)
class Limit:
    measure: str
    bound: float

    @classmethod
    def latency(cls, text: str) -> "Limit":
        """``DEVICE:MS`` as typed in ``--max-latency``."""
        device, sep, ms = str(text).rpartition(":")
        if not sep or not device.strip():
            raise ConstraintError(f"latency limit {text!r}: write DEVICE:MS, e.g. pixel3:10.7")
        return cls(latency_measure(device.strip()), latency.milliseconds(ms.strip(), f"latency limit {text!r}"))

    def __str__(self) -> str:
        unit = " ms" if device_of(self.measure) is not None else " M"
        name = describe(self.measure).rsplit(" (", 1)[0]
        return f"{name} ≤ {fmt.num(self.bound)}{unit}"


class Measures:
    """A cell's value of each measure. ``table``: a ``LatencyTable``; ``here``: a callable
    index -> ms on this machine; ``count``: a callable index -> (params, flops) that builds the
    network, for a space without closed-form counts."""

    def __init__(self, space, dataset: str, table=None, here=None, count=None):
        self.space, self.dataset, self.table, self.here, self.count = space, dataset, table, here, count
        self._known: dict[tuple[str, int], float] = {}

    def value(self, measure: str, index: int) -> float:
        key = (measure, index)
        if key not in self._known:
            self._known[key] = self._value(measure, index)
        return self._known[key]

    def _value(self, measure: str, index: int) -> float:
        device = device_of(measure)
        if device == latency.HERE:
            if self.here is None:
                raise ConstraintError("latency here is measured during a search, not before it")
            return float(self.here(index))
        if device is not None:
            values = self.table.column(device)
            return float(values[index]) if index in values.index else math.nan
        whole = self.everywhere(measure)
        if whole is not None:
            return float(whole[index])
        if self.count is None:
            raise ConstraintError(f"{self.space.name} cannot count {describe(measure)} without "
                                  "building its networks")
        params, flops = self.count(index)
        return (params if measure == PARAMS else flops) / 1e6

    def everywhere(self, measure: str) -> np.ndarray | None:
        """The measure over the whole space in index order when it costs no network (a table,
        closed-form counts); None otherwise."""
        device = device_of(measure)
        if device == latency.HERE:
            return None
        if device is not None:
            return self.table.array(device, self.space.size)
        return _counted(self.space, self.dataset, measure)


@functools.lru_cache(maxsize=8)
def _counted(space, dataset: str, measure: str) -> np.ndarray | None:
    info = datasets.info(dataset)
    side = getattr(info, "image_side", 0)  # text has no image side (and no FLOP count here)
    first = space.arch_at(0)
    if (space.count_params(first, info.num_classes) if measure == PARAMS
            else space.count_flops(first, info.num_classes, side)) is None:
        return None
    if measure == PARAMS:
        values = [space.count_params(space.arch_at(i), info.num_classes) for i in range(space.size)]
    else:
        values = [space.count_flops(space.arch_at(i), info.num_classes, side)
                  for i in range(space.size)]
    return np.asarray(values, dtype=float) / 1e6


class Constraints:
    """The limits a search keeps to. Empty: every cell fits."""

    def __init__(self, limits: tuple[Limit, ...], measures: Measures):
        self.limits, self.measures = tuple(limits), measures

    def __bool__(self) -> bool:
        return bool(self.limits)

    def __str__(self) -> str:
        return "; ".join(map(str, self.limits))

    def fits(self, index: int) -> bool:
        """Every limit met (a cell with no value for a measure does not fit)."""
        return all(self.measures.value(limit.measure, index) <= limit.bound for limit in self.limits)

    def violation(self, index: int) -> float:
        """Sum over the limits of how far past its bound a cell is, relative to the bound (0:
        it fits; a cell without a value counts as far past)."""
        total = 0.0
        for limit in self.limits:
            value = self.measures.value(limit.measure, index)
            total += max(0.0, value / limit.bound - 1.0) if math.isfinite(value) else 10.0
        return total

    def feasible(self, indices) -> list[int]:
        return [i for i in indices if self.fits(i)]

    def values(self, index: int) -> dict[str, float]:
        """The cell's value of every constrained measure."""
        return {limit.measure: self.measures.value(limit.measure, index) for limit in self.limits}

    def mask(self) -> np.ndarray | None:
        """Which cells of the whole space fit, when that costs no network (else None)."""
        fits = np.ones(self.measures.space.size, dtype=bool)
        for limit in self.limits:
            whole = self.measures.everywhere(limit.measure)
            if whole is None:
                return None
            fits &= np.nan_to_num(whole, nan=math.inf) <= limit.bound
        return fits

    def unmeetable(self) -> str | None:
        """Why no cell of the space fits, with what each limit alone allows; None when some cell
        fits or that cannot be known without measuring."""
        mask = self.mask()
        if mask is None or mask.any():
            return None
        parts = []
        for limit in self.limits:
            whole = self.measures.everywhere(limit.measure)
            alone = int((np.nan_to_num(whole, nan=math.inf) <= limit.bound).sum())
            unit = "ms" if device_of(limit.measure) else "M"
            parts.append(f"{limit}: {alone:,} cells fit (the least is {fmt.num(np.nanmin(whole))} {unit})")
        joint = " together" if len(self.limits) > 1 else ""
        return f"no cell of {self.measures.space.name} meets the limits{joint}; " + "; ".join(parts)


def limits_of(config) -> tuple[Limit, ...]:
    """A ``SearchConfig``'s limits, parsed (raises ``ConstraintError`` / ``LatencyError``)."""
    limits = [Limit.latency(text) for text in config.max_latency]
    if config.max_params is not None:
        limits.append(Limit(PARAMS, float(config.max_params)))
    if config.max_flops is not None:
        limits.append(Limit(FLOPS, float(config.max_flops)))
    return tuple(limits)


@functools.lru_cache(maxsize=4)
def _load(path: str, stamp: tuple, space) -> latency.LatencyTable:
    return latency.load(path, space)


def load_table(path, space) -> latency.LatencyTable:
    """A latency table, read once per file version (forms check configs on every rerun)."""
    source = Path(path)
    stat = source.stat() if source.is_file() else None
    stamp = (stat.st_size, stat.st_mtime_ns) if stat else ()
    return _load(str(source), stamp, space)


def check(errors: dict, config, space) -> None:
    """The config's limits and Pareto device: well formed, measurable and meetable."""
    table = None
    if config.latency:
        if not Path(config.latency).is_file():
            errors["latency"] = f"{config.latency} does not exist"
        else:
            try:
                table = load_table(config.latency, space)
            except KnasError as err:
                errors["latency"] = str(err)
    try:
        limits = limits_of(config)
    except KnasError as err:
        field = "max_latency" if "latency" in str(err) else "max_params"
        errors.setdefault(field, str(err))
        return
    for bound, name in ((config.max_params, "max_params"), (config.max_flops, "max_flops")):
        if bound is not None and not (math.isfinite(bound) and bound > 0):
            errors[name] = f"a positive number (millions), got {bound!r}"
    devices = [device_of(lim.measure) for lim in limits if device_of(lim.measure)]
    if config.pareto:
        devices.append(config.pareto)
    for device in devices:
        if device == latency.HERE:
            continue
        field = "pareto" if device == config.pareto else "max_latency"
        if table is None:
            if "latency" not in errors:
                errors.setdefault(field, f"latency on {device} needs a latency table (latency), "
                                         f"or use {latency.HERE} to measure this machine")
        else:
            try:
                table.check_device(device)
            except KnasError as err:
                errors.setdefault(field, str(err))
    if errors.keys() & {"latency", "max_latency", "max_params", "max_flops", "dataset", "pareto"}:
        return
    if any(device_of(lim.measure) is None for lim in limits) and \
            config.dataset not in datasets.CATALOG:
        return
    why = Constraints(limits, Measures(space, config.dataset, table)).unmeetable()
    if why:
        errors["max_latency" if devices else "max_params"] = why
