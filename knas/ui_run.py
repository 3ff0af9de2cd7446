"""Logic behind the Home, New search and Live run pages (pure, torch-free, testable without a UI).

The pages only draw: they turn widgets into config fields here, ask here what is missing on this
machine, and get the live page's tables from a job's events here.
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import pandas as pd

from . import data, proxies, runview, space
from .search import DEFAULT_REPORT_COLUMN, RANDOM, SearchConfig, estimate, proxy_members

# A search that finishes in about a minute on a 2-core CPU: ~50 distinct cells at n = 16.
DEMO_FIELDS = {"dataset": "cifar10", "pool": "random:100", "proxy": "mgm", "n": 16, "k": 10,
               "fine": "lookup:cifar10_valid", "baselines": (RANDOM,), "repeats": 1, "seed": 0,
               "device": "auto", "params": "all"}
TABLE12_COLUMN = "cifar10_test_12ep"
FINE_COLUMN = {"cifar10": "cifar10_valid", "cifar100": "cifar100_valid",
               "imagenet16-120": "imagenet16_valid"}  # the lookup a search should pick by
TABLE12_COLUMNS = {"cifar10": "cifar10_test_12ep", "cifar100": "cifar100_test_12ep",
                   "imagenet16-120": "imagenet16_test_12ep"}
DEVICES = ("auto", "cpu", "cuda", "mps")
NOT_COLUMNS = ("index", "arch_str")


# --- what this machine has ------------------------------------------------------------------


def csv_columns(path: str) -> list[str]:
    """The value columns of a CSV table, read from its header only ([] if unreadable or .pth)."""
    if not path or Path(path).suffix.lower() != ".csv" or not Path(path).is_file():
        return []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            header = [c.strip() for c in f.readline().strip().split(",")]
    except OSError:
        return []
    return [c for c in header if c and c not in NOT_COLUMNS]


def missing(settings, dataset: str = "cifar10") -> list[str]:
    """What the quick demo (and most searches) still need, one sentence each; [] when ready."""
    out = []
    path = settings.dataset_path(dataset)
    if not path:
        out.append(f"No {dataset.upper()} dataset is set: download it or point to a folder / .npz "
                   "on the Data page.")
    elif not Path(path).exists():
        out.append(f"The {dataset.upper()} path {path} does not exist any more: set it again on "
                   "the Data page.")
    elif data.detect(path) is None:
        out.append(f"{path} holds no dataset in a known layout: point to the folder that holds "
                   "cifar-10-batches-py/, an image folder or an .npz on the Data page.")
    if not settings.truth:
        out.append("No ground-truth table is set: load NAS-Bench-201 accuracies (CSV or the "
                   "official .pth) on the Data page, so searches can pick and report accuracy.")
    elif not Path(settings.truth).is_file():
        out.append(f"The ground-truth table {settings.truth} does not exist any more: set it "
                   "again on the Data page.")
    else:
        columns = csv_columns(settings.truth)
        if columns and "cifar10_valid" not in columns:
            out.append(f"The ground-truth table {Path(settings.truth).name} has no cifar10_valid "
                       "column, which the demo's fine stage looks up.")
    return out


def demo_config(settings) -> SearchConfig | None:
    """The quick demo search for this machine's settings, or None while something is missing."""
    if missing(settings):
        return None
    config = SearchConfig(data=settings.dataset_path("cifar10"), truth=settings.truth,
                          **DEMO_FIELDS)
    return None if config.errors() else config


# --- New search: widgets -> config fields -------------------------------------------------------


def pool_spec(kind: str, count: int = 1000, start: int = 0, stop: int = space.N_ARCHS) -> str:
    if kind == "random":
        return f"random:{int(count)}"
    if kind == "range":
        return f"range:{int(start)}:{int(stop)}"
    if kind == "all":
        return "all"
    raise ValueError(f"unknown pool kind {kind!r}; use random, range or all")


def proxy_spec(members) -> str:
    """One proxy name, or ``ensemble:a+b`` for several ("" for none)."""
    members = list(members)
    if len(members) == 1:
        return members[0]
    return "ensemble:" + "+".join(members) if members else ""


def fine_spec(kind: str, column: str = "", table: str = "", epochs: int = 1) -> str:
    """``lookup`` (a truth column), ``table12`` (a column of another table) or ``train``."""
    if kind == "lookup":
        return f"lookup:{column}"
    if kind == "table12":
        return f"lookup:{table}:{column}" if table else f"lookup:{column}"
    if kind == "train":
        return f"train:{int(epochs)}"
    raise ValueError(f"unknown fine stage kind {kind!r}; use lookup, table12 or train")


def params_spec(mode: str, layers: int = 1, elements: int = 1) -> str:
    return "all" if mode == "all" else f"first:{int(layers)}:{int(elements)}"


def report_options(dataset: str, truth: str) -> list[str]:
    """Columns the chosen cell's accuracy can be reported from, the dataset's default first."""
    default = DEFAULT_REPORT_COLUMN.get(dataset, "")
    columns = csv_columns(truth)
    return list(dict.fromkeys([c for c in [default] if c] + columns))


def proxy_label(name: str) -> str:
    if name == RANDOM:
        return "random (pick k at random, the fine stage picks among them)"
    return f"{name} — {proxies.info(name).title}"


def resolve_device(config_device: str, machine_device: str) -> str:
    """The device an ``auto`` config will use, for the estimate."""
    return machine_device if config_device == "auto" else config_device


def work_estimate(config: SearchConfig, device: str) -> dict:
    """``search.estimate`` plus a readable sentence; never raises for a config without errors."""
    est = estimate(config, device)
    parts = [f"{est['pool_size']:,} cells in the pool",
             f"{est['networks']:,} networks to score (duplicates of the same function scored once)"]
    if est["trained"]:
        parts.append(f"{est['trained']:,} networks to train for {est['epochs']} epoch(s) "
                     "(not in the time below)")
    text = "; ".join(parts)
    text += f". Scoring takes about {fmt_seconds(est['seconds'])} on {device.upper()}"
    if device != "cpu":
        text += " (GPU time is a rough guess: 20× the CPU reference)"
    return {**est, "text": text + "."}


def fmt_seconds(seconds) -> str:
    if seconds is None or (isinstance(seconds, float) and not math.isfinite(seconds)):
        return "?"
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds // 60:.0f} min {seconds % 60:02.0f} s"
    return f"{seconds // 3600:.0f} h {seconds % 3600 // 60:02.0f} min"


# --- jobs ---------------------------------------------------------------------------------------


def job_label(job_id: str, state: dict, config: SearchConfig | None, static: bool = False) -> str:
    """One line per job for lists; ``static`` leaves out status and progress, which change
    and start time, which change while a job runs or resumes (a select box's options must keep
    their labels across reruns)."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.get("created", 0)))
    what = f"{config.proxy} on {config.pool} ({config.dataset})" if config else "unknown config"
    if static:
        return f"{job_id[:8]} · {what}"
    progress = state.get("progress") or {}
    done = ""
    if state.get("status") in ("queued", "running") and progress.get("total"):
        done = f" {progress.get('done', 0)}/{progress['total']}"
    return f"{job_id[:8]} · {state.get('status', '?')}{done} · {what} · {when}"


def read_events(store, job_id: str, state: dict, cached: dict | None) -> tuple[list, dict]:
    """All of a job's events, reading only the new ones since ``cached`` (a dict the caller keeps
    between reruns). A restarted job (its events cleared) is read afresh."""
    stamp = [job_id, state.get("attempts"), state.get("created")]
    if not cached or cached.get("stamp") != stamp:
        cached = {"stamp": stamp, "events": []}
    events = cached["events"]
    events.extend(store.events(job_id, since=len(events)))
    return events, cached


def progress_view(state: dict) -> tuple[float, str]:
    """(fraction 0..1, a caption with stage, method, repeat, speed and ETA) of a job."""
    p = state.get("progress") or {}
    status = state.get("status", "?")
    total, done = p.get("total") or 0, p.get("done") or 0
    fraction = min(1.0, done / total) if total else (1.0 if status == "finished" else 0.0)
    if status == "finished":
        return 1.0, "finished"
    if not p:
        return 0.0, "queued: waiting for the worker to load the data" if status == "queued" \
            else f"{status}: loading data and tables"
    stage = {"coarse": "coarse stage (scoring)", "fine": "fine stage (training)"}.get(
        p.get("stage"), p.get("stage", ""))
    text = f"{stage} · {p.get('method', '')} · repeat {p.get('repeat', 0) + 1} · {done}/{total}"
    if p.get("rate"):
        text += f" · {p['rate']:.1f} archs/s · ETA {fmt_seconds(p.get('eta'))}"
    return fraction, text


def members(method: str) -> list[str]:
    """The proxies a method's scores are stored under ([] for the random baseline)."""
    return [] if method == RANDOM else proxy_members(method)


def scored_methods(config: SearchConfig) -> list[str]:
    return [m for m in config.methods if m != RANDOM]


def live_frame(events, method: str, repeat: int, accuracy: pd.Series | None = None,
               accuracy_name: str = "accuracy") -> pd.DataFrame:
    """The scores of one method and repeat so far, with the truth column joined on index."""
    frame = runview.scores_frame(events, method, repeat)
    if accuracy is not None:
        frame[accuracy_name] = frame["index"].astype(int).map(accuracy).astype(float) \
            if len(frame) else pd.Series(dtype=float)
    return frame


def topk_table(frame: pd.DataFrame, topk, proxy: str, accuracy_name: str | None = None,
               accuracy: pd.Series | None = None) -> pd.DataFrame:
    """The current top-k in rank order: rank, index, arch string, score and accuracy."""
    by_index = frame.set_index("index") if len(frame) else None
    rows = []
    for rank, index in enumerate(topk, start=1):
        index = int(index)
        row = {"rank": rank, "index": index, "arch_str": space.to_str(space.arch_at(index))}
        if proxy:
            row[proxy] = float(by_index.at[index, proxy]) \
                if by_index is not None and index in by_index.index else math.nan
        if accuracy_name and accuracy is not None:
            row[accuracy_name] = float(accuracy.get(int(index), math.nan))
        rows.append(row)
    return pd.DataFrame(rows)


def result_card(events, method: str, repeat: int = 0) -> dict | None:
    """The finished result of a method and repeat, with the best accuracy in the space."""
    results = runview.results_frame(events)
    mine = results[(results["method"] == method) & (results["repeat"] == repeat)]
    if mine.empty:
        return None
    row = mine.iloc[0].to_dict()
    best = runview.started(events).get("best_possible") or {}
    acc, top = row["test_accuracy"], best.get("value")
    gap = (top - acc) if top is not None and not math.isnan(acc) else None
    return {**row, "best_value": top, "best_index": best.get("index"),
            "column": best.get("column"), "gap": gap,
            "costs": pd.DataFrame([
                {"stage": "coarse (proxy scoring)", "seconds": row["coarse_seconds"],
                 "networks": int(row["networks_scored"]), "what": "networks scored"},
                {"stage": "fine (pick among top-k)", "seconds": row["fine_seconds"],
                 "networks": int(row["networks_trained"]), "what": "networks trained"},
            ])}


def point_details(index: int, accuracy: pd.Series | None, frame: pd.DataFrame) -> dict:
    """A clicked point's numbers: its scores in this run and its accuracy."""
    out = {"index": int(index), "arch_str": space.to_str(space.arch_at(int(index)))}
    rows = frame[frame["index"] == index]
    if len(rows):
        out.update({k: v for k, v in rows.iloc[0].items()
                    if k not in ("index", "arch_str", "method", "repeat")})
    if accuracy is not None and "accuracy" not in out:
        out["accuracy"] = float(accuracy.get(int(index), math.nan))
    return out
