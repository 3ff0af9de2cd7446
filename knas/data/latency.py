"""Latency tables: how long one forward pass of each cell takes on a device.

A latency table is a table of the space (``knas.data.benchmark``: ``index``, ``arch_str``, checked
against the space row by row) whose value columns are ``latency_ms_<device>``, milliseconds for
one forward pass. NAS-Bench-201's (HW-NAS-Bench and BRP-NAS, as the HELP project collected them)
covers every one of its cells on 27 devices. ``here`` is this machine, measured on demand
(``knas.scoring.latency``) rather than read. Device names are shown as people say them
(``label``). Torch-free.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from knas.data import benchmark
from knas.errors import KnasError

PREFIX = "latency_ms_"
HERE = "here"  # this machine: measured, cached, never read from a table

# How people name the devices of NAS-Bench-201's table (HW-NAS-Bench, BRP-NAS); a GPU name with
# a batch suffix gets it spelled out by ``label``.
_NAMES = {
    "raspi4": "Raspberry Pi 4", "pixel3": "Pixel 3", "pixel2": "Pixel 2",
    "eyeriss": "Eyeriss (ASIC, simulated)", "fpga": "FPGA (compiled)",
    "essential_ph": "Essential Phone", "samsung_a50": "Samsung A50", "samsung_s7": "Samsung S7",
    "gold_6226": "Xeon Gold 6226", "gold_6240": "Xeon Gold 6240",
    "silver_4114": "Xeon Silver 4114", "silver_4210r": "Xeon Silver 4210R",
    "1080ti": "GTX 1080 Ti", "2080ti": "RTX 2080 Ti", "titan_rtx": "Titan RTX",
    "titanx": "Titan X", "titanxp": "Titan Xp", HERE: "this machine",
}


class LatencyError(KnasError):
    """A latency table or a device that cannot be used; the message says which and why."""


def label(device: str) -> str:
    """``titan_rtx_1`` -> "Titan RTX (batch 1)", ``pixel3`` -> "Pixel 3"; unknown names as given."""
    if device in _NAMES:
        return _NAMES[device]
    base, _, batch = device.rpartition("_")
    if base in _NAMES and batch.isdigit():
        return f"{_NAMES[base]} (batch {batch})"
    return device


@dataclass(frozen=True, eq=False)
class LatencyTable:
    """A loaded latency table: per device, milliseconds by cell index (NaN: not measured)."""
    frame: pd.DataFrame
    source: str = ""

    @property
    def devices(self) -> list[str]:
        return [c[len(PREFIX):] for c in self.frame.columns if c.startswith(PREFIX)]

    def check_device(self, device: str) -> None:
        if device not in self.devices:
            from knas.spaces.base import did_you_mean

            raise LatencyError(f"no device {device!r} in the latency table{did_you_mean(device, self.devices)}; "
                               f"it has: {', '.join(self.devices)}")

    def column(self, device: str) -> pd.Series:
        self.check_device(device)
        return self.frame[PREFIX + device]

    def array(self, device: str, size: int) -> np.ndarray:
        """Milliseconds in index order over the whole space (NaN where the table has no row)."""
        return self.column(device).reindex(range(size)).to_numpy(dtype=float)

    def percentile(self, device: str, q: float) -> float:
        return float(np.nanpercentile(self.column(device).to_numpy(dtype=float), q))

    def row(self, index: int) -> dict[str, float]:
        """One cell's latency on every device (NaN where unmeasured); {} if not in the table."""
        if index not in self.frame.index:
            return {}
        return {d: float(self.frame.at[index, PREFIX + d]) for d in self.devices}

    def rank(self, index: int, device: str) -> tuple[int, int] | None:
        """(position, of how many) among the cells measured on ``device``, 1 the fastest."""
        values = self.column(device).dropna()
        if index not in values.index:
            return None
        return int((values < values[index]).sum()) + 1, len(values)


def load(path, space) -> LatencyTable:
    """Read and check a latency table of ``space``: a table of the space with at least one
    ``latency_ms_<device>`` column, every latency positive where given."""
    frame = benchmark.load_table(path, space)
    devices = [c for c in frame.columns if c.startswith(PREFIX)]
    if not devices:
        raise LatencyError(f"{path}: not a latency table: no {PREFIX}<device> column (columns: "
                           f"{', '.join(map(str, frame.columns))})")
    for name in devices:
        values = frame[name].to_numpy(dtype=float)
        bad = np.isfinite(values) & (values <= 0) | np.isinf(values)
        if bad.any():
            at = int(np.flatnonzero(bad)[0])
            raise LatencyError(f"{path}: {name}: cell {int(frame.index[at])} has latency "
                               f"{values[at]:g} ms; a latency is a positive number of milliseconds")
    return LatencyTable(frame, str(path))


def milliseconds(text: str, what: str) -> float:
    """A latency budget as typed: a positive, finite number of milliseconds."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise LatencyError(f"{what}: {text!r} is not a number of milliseconds") from None
    if not math.isfinite(value) or value <= 0:
        raise LatencyError(f"{what}: a budget is a positive number of milliseconds, got {text}")
    return value
