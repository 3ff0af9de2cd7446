"""This machine as a device: the measured forward latency of a space's networks, cached.

Protocol, stated with every figure (``Protocol.text``): the network in eval mode under
``torch.inference_mode`` on the search's device, input one real sample of the data set (batch
1, what a deployed classifier sees), ``warmup`` untimed passes, then ``repeats`` timed passes
(``torch.cuda.synchronize`` around each on a GPU); the latency is their median in
milliseconds. On the CPU the thread count is torch's as the process runs (recorded; it changes
the figure). A figure is cached per machine (CPU model, GPU name, torch version), protocol,
space, data shape and cell in its own store under ``<cache root>/latency``, so a later search
constrained to ``here`` measures nothing twice.
"""
from __future__ import annotations

import hashlib
import json
import platform
import statistics
import time
from dataclasses import asdict, dataclass

import torch

from knas import paths, stores


@dataclass(frozen=True)
class Protocol:
    warmup: int = 5
    repeats: int = 20
    threads: int = 0  # 0: torch's current setting, filled in by ``resolved``

    def resolved(self) -> "Protocol":
        return self if self.threads else Protocol(self.warmup, self.repeats, torch.get_num_threads())

    @property
    def text(self) -> str:
        return (f"batch 1, eval mode, {self.warmup} warm-up passes, median of {self.repeats} "
                f"timed passes, {self.threads} CPU thread(s)")


def machine(device: str) -> str:
    """What a figure depends on besides the protocol: the processor (or GPU) and torch."""
    if device.startswith("cuda"):
        chip = torch.cuda.get_device_name(torch.device(device))
    else:
        chip = _cpu_model()
    return f"{chip} ({device}), torch {torch.__version__}"


def _cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


class LatencyMeter:
    """Measures cells of one space on one device with one protocol, reusing cached figures."""

    def __init__(self, space, sample: torch.Tensor, num_classes: int, device: str = "cpu",
                 protocol: Protocol | None = None, directory=None):
        self.space, self.num_classes, self.device = space, num_classes, device
        self.protocol = (protocol or Protocol()).resolved()
        self.x = sample[:1].to(device)
        self.machine = machine(device)
        context = json.dumps({"machine": self.machine, "protocol": asdict(self.protocol),
                              "shape": list(self.x.shape), "classes": num_classes}, sort_keys=True)
        self._prefix = f"{hashlib.sha256(context.encode()).hexdigest()[:16]}|{space.cache_id}/"
        self._store = stores.open_store(directory or paths.root() / "latency", "latency cache")

    def __call__(self, index: int) -> float:
        key = self._prefix + self.space.format(self.space.arch_at(index))
        cached = self._store.get(key)
        if cached is not None:
            return float(cached)
        value = self._measure(index)
        self._store.set(key, value)
        return value

    def _measure(self, index: int) -> float:
        torch.manual_seed(0)
        net = self.space.build(self.space.arch_at(index), self.num_classes).to(self.device).eval()
        cuda = self.device.startswith("cuda")
        timings = []
        with torch.inference_mode():
            for step in range(self.protocol.warmup + self.protocol.repeats):
                if cuda:
                    torch.cuda.synchronize(self.device)
                start = time.perf_counter()
                net(self.x)
                if cuda:
                    torch.cuda.synchronize(self.device)
                if step >= self.protocol.warmup:
                    timings.append(time.perf_counter() - start)
        return statistics.median(timings) * 1000.0

    def close(self) -> None:
        self._store.close()
