"""Search seconds as GPU-hours, energy and CO2, with the assumptions spelled out, so a "green"
comparison states what it assumed.

Defaults: 300 W per GPU, the maximum board power of an NVIDIA V100 SXM2 (NVIDIA's datasheet),
a stated round assumption, not a measurement of the GPUs NAS-Bench-201 was timed on; 0.475 kg
CO2e per kWh, the IEA world average (Global Energy & CO2 Status Report 2019) that CodeCarbon
applies when it knows no local grid (codecarbon docs/explanation/methodology.md); PUE 1.0, the
device alone without data-centre overhead.
Torch-free.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from knas.errors import KnasError

DEFAULT_POWER_W = 300.0
DEFAULT_GRID_KG_PER_KWH = 0.475
DEFAULT_PUE = 1.0


class EnergyError(KnasError):
    """An impossible input to the footprint: negative time, non-positive power, and so on."""


@dataclass(frozen=True)
class Footprint:
    seconds: float
    gpu_hours: float
    kwh: float
    kg_co2: float
    assumptions: str


def footprint(seconds: float, power_w: float = DEFAULT_POWER_W,
              grid_kg_per_kwh: float = DEFAULT_GRID_KG_PER_KWH, pue: float = DEFAULT_PUE) -> Footprint:
    """GPU-hours, kWh and kg CO2e of ``seconds`` of single-GPU time drawing ``power_w`` watts."""
    _check("seconds", seconds, allow_zero=True)
    _check("power_w", power_w)
    _check("grid_kg_per_kwh", grid_kg_per_kwh, allow_zero=True)
    _check("pue", pue)
    if pue < 1:
        raise EnergyError(f"pue is total facility power over device power, so at least 1; got {pue}")
    hours = seconds / 3600
    kwh = hours * power_w * pue / 1000
    text = (f"{seconds:,.0f} s on one GPU drawing {power_w:g} W"
            + (f", PUE {pue:g}" if pue != 1 else " (device only, PUE 1)")
            + f"; grid {grid_kg_per_kwh:g} kg CO2e/kWh")
    return Footprint(seconds, hours, kwh, kwh * grid_kg_per_kwh, text)


def _check(name: str, value, allow_zero: bool = False) -> None:
    ok = (not isinstance(value, bool) and isinstance(value, (int, float)) and math.isfinite(value)
          and (value >= 0 if allow_zero else value > 0))
    if not ok:
        bound = "a finite number >= 0" if allow_zero else "a finite number > 0"
        raise EnergyError(f"{name} must be {bound}, got {value!r}")
