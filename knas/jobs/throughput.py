"""How fast this machine really is, measured by the jobs it ran: seconds per network for each
proxy pass, device and batch size n, the fixed cost of starting a scoring stage, the worker's
start-up (from Start to data and tables loaded) and training seconds per image and epoch.

The worker records a finished job's figures into one small JSON file under the cache root
(``paths.root()``), and the work estimate reads them, so estimates follow this machine rather
than constants measured elsewhere. Torch-free.
"""
from __future__ import annotations

import json
import os
import statistics

from knas import paths, proxies
from knas.search.events import MethodDone, Scored, Started, Trained
from knas.search.specs import STRATEGIES, Method

KEEP = 5  # the newest measurements kept per key; the estimate takes their median


def path():
    return paths.root() / "throughput.json"


def load() -> dict:
    """Everything measured so far ({} on a fresh machine or an unreadable file)."""
    try:
        saved = json.loads(path().read_text())
    except (OSError, ValueError):
        return {}
    return saved if isinstance(saved, dict) else {}


def on(config, device: str) -> str:
    """Where scoring and training speeds were measured: the space and the device (a text cell
    trains a sample a hundred times faster than a NAS-Bench-201 network)."""
    return f"{config.search_space.name}:{device}"


def pass_key(method: str) -> str:
    """The proxy passes a method's scoring runs ("mgm", "az_nas", "mgm+synflow"): entries that
    share one pass (AZ-NAS's scores) cost one pass."""
    return "+".join(sorted({proxies.info(m).function_name for m in Method.parse(method).members}))


def _median(saved: dict, key: str) -> float | None:
    values = saved.get(key)
    return statistics.median(values) if values else None


def scoring(saved: dict, passes: str, device: str, n: int) -> tuple[float, float, int] | None:
    """(seconds per network, fixed seconds of the stage, the n it was measured at) for a pass
    key on a device, from the measurement at the nearest n; None when never measured."""
    prefix = f"score|{passes}|{device}|"
    measured = [int(k[len(prefix):]) for k in saved if k.startswith(prefix)]
    if not measured:
        return None
    near = min(measured, key=lambda m: (abs(m - n), m))
    per_network, fixed = zip(*saved[f"{prefix}{near}"])
    return statistics.median(per_network), statistics.median(fixed), near


def startup(saved: dict, device: str) -> float | None:
    return _median(saved, f"startup|{device}")


def training(saved: dict, device: str) -> float | None:
    """Seconds per training image per epoch (validation included)."""
    return _median(saved, f"train|{device}")


# --- measuring a finished job --------------------------------------------------------------------


def stage_speed(events, method: str, repeat: int) -> tuple[float, float, int] | None:
    """(seconds per network built, fixed seconds, networks built) of one method's scoring.

    The speed is the marginal one between the first and the last scored cell (``rate`` in each
    event is cells done per second since the stage began), so a process pool's start-up and the
    first network's set-up land in the fixed part; None when too few networks were built to
    tell (a stage served by the cache)."""
    scored = [e for e in events if isinstance(e, Scored) and e.method == method
              and e.repeat == repeat and e.rate]
    done = next((e.result for e in events if isinstance(e, MethodDone)
                 and e.result.method == method and e.result.repeat == repeat), None)
    if len(scored) < 3 or done is None:
        return None
    built_after_first = sum(e.built for e in scored[1:])
    if built_after_first < 2:
        return None
    elapsed = [e.done / e.rate for e in scored]
    per_network = max(elapsed[-1] - elapsed[0], 0.0) / built_after_first
    built = sum(e.built for e in scored)
    fixed = max(float(done.coarse_seconds) - per_network * built, 0.0)
    return per_network, fixed, built


def measure(config, state: dict, events, device: str) -> dict:
    """The figures a finished job yields: key -> one new measurement."""
    out = {}
    started = next((e for e in events if isinstance(e, Started)), Started())
    if started.at and state.queued:
        out[f"startup|{device}"] = started.at - state.queued
    for repeat in range(config.repeats):
        for method in config.methods:
            if method in STRATEGIES or not Method.parse(method).members:
                continue
            speed = stage_speed(events, method, repeat)
            if speed is not None:
                out[f"score|{pass_key(method)}|{on(config, device)}|{config.n}"] = list(speed[:2])
    trained = [e for e in events if isinstance(e, Trained)]
    if trained and config.fine_stage.kind == "train":
        images = _training_images(config, started)
        if images:
            seconds = statistics.median(e.seconds for e in trained)
            out[f"train|{on(config, device)}"] = seconds / (images * config.fine_stage.epochs)
    return out


def _training_images(config, started: dict) -> int:
    """Images one candidate trains on: ``train_samples`` or the split the worker loaded."""
    return int(config.train_samples or started.train_images or 0)


def record(config, state: dict, events, device: str) -> dict:
    """Add a finished job's figures to the file (newest ``KEEP`` per key); returns them."""
    new = measure(config, state, events, device)
    if not new:
        return new
    saved = load()
    for key, value in new.items():
        saved[key] = (saved.get(key) or [])[-(KEEP - 1):] + [value]
    path().parent.mkdir(parents=True, exist_ok=True)
    tmp = path().with_suffix(f".{os.getpid()}.tmp")  # two workers never share one
    tmp.write_text(json.dumps(saved, indent=1, sort_keys=True))
    tmp.replace(path())
    return new
