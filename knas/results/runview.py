"""A job's events -> the tables and lines the pages, the report and the CLI show (pure, torch-free).

Everything that reads a search's event stream (``events.EventKind``) to draw something lives
here: the scores so far, the current top-k, the fine stage's progress, the finished results, the
summary in the KNAS paper's table form. A job's one-line label and progress caption are
``knas.results.jobprogress``.
"""
from __future__ import annotations

import math
import threading
import time
from dataclasses import asdict

import pandas as pd

from knas.results import energy, stats
from knas.search.events import (Evaluated, Finished, JobState, MethodDone, Scored, Started, TopK,
                                Trained)
from knas.search.specs import Method

RESULT_COLUMNS = ["method", "repeat", "seed", "chosen", "arch_str", "test_accuracy", "fine_score",
                  "coarse_seconds", "fine_seconds", "networks_scored", "networks_trained",
                  "search_seconds", "device", "simulated", "cost_estimated"]
META_COLUMNS = ("index", "arch_str", "method", "repeat")  # the columns of a scores frame not scores


# --- reading the stream --------------------------------------------------------------------------


class EventFeed:
    """One job's events for every page that watches it: each new event is read from the store
    once, and what the pages draw is a snapshot that moves on at most every ``every`` seconds, so
    ten viewers draw (and cache) the same few snapshots instead of ten streams. A restarted job
    (its events cleared) is read afresh. Thread-safe: the server runs sessions in threads."""

    def __init__(self):
        self._lock = threading.Lock()
        self._stamp, self._events, self._shown, self._at = None, [], 0, -math.inf

    def snapshot(self, store, job_id: str, state: JobState, every: float = 0.0) -> list:
        """The events up to the latest snapshot (a new list; the events themselves are shared
        and must not be changed)."""
        stamp = [job_id, state.attempts, state.created]
        with self._lock:
            if stamp != self._stamp:
                self._stamp, self._events, self._shown, self._at = stamp, [], 0, -math.inf
            now = time.monotonic()
            if now - self._at >= every:
                self._events.extend(store.events(job_id, since=len(self._events)))
                self._shown, self._at = len(self._events), now
            return self._events[:self._shown]


def started(events) -> Started:
    """The run's start (an empty record before the worker has loaded data and tables)."""
    return next((e for e in events if isinstance(e, Started)), Started())


def summary(events) -> list[dict]:
    return next((e.summary for e in reversed(events) if isinstance(e, Finished)), [])


def _mine(event, method, repeat) -> bool:
    return (method is None or event.method == method) and (repeat is None or event.repeat == repeat)


# --- the coarse stage ----------------------------------------------------------------------------


def scores_frame(events, space, method: str | None = None,
                 repeat: int | None = None) -> pd.DataFrame:
    """One row per scored cell (index, arch_str, method, repeat, one column per proxy value)."""
    rows = [{"index": e.index, "method": e.method, "repeat": e.repeat, **e.values}
            for e in events if isinstance(e, Scored) and _mine(e, method, repeat)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=list(META_COLUMNS))
    frame.insert(1, "arch_str", [space.format(space.arch_at(int(i))) for i in frame["index"]])
    return frame


def job_scores(events, space, repeat: int = 0) -> pd.DataFrame:
    """Every proxy value a job computed for one repeat's pool, one row per cell, in the scores-CSV
    layout. All methods of a repeat score the same pool, so their columns line up; a value
    seen by several methods (an ensemble member that is also a baseline) is the same number."""
    frame = scores_frame(events, space, repeat=repeat)
    if frame.empty:
        return pd.DataFrame(columns=["index", "arch_str"])
    values = frame.drop(columns=["method", "repeat"]).groupby("index", sort=False).first()
    values = values.reset_index()
    columns = ["index", "arch_str"] + [c for c in values.columns if c not in ("index", "arch_str")]
    return values[columns]


def with_ensembles(frame: pd.DataFrame, methods) -> pd.DataFrame:
    """A scores frame with each ensemble method's aggregate rank as a column of its own, so the
    ensemble is compared beside its members."""
    out = frame.copy()
    for method in methods:
        spec = Method.parse(method)
        if spec.aggregation and len(out) and set(spec.members) <= set(out.columns):
            out[str(spec)] = stats.aggregate(out, spec).to_numpy()
    return out


def latest_topk(events, method: str | None = None, repeat: int | None = None) -> list[int]:
    """The most recent top-k the search announced (for the method and repeat, if given)."""
    for e in reversed(events):
        if isinstance(e, TopK) and _mine(e, method, repeat):
            return list(e.indices)
    return []


def is_final_topk(events, method: str, repeat: int) -> bool:
    """Whether the coarse stage of this method and repeat has ended (its top-k is the kept one)."""
    return any(isinstance(e, TopK) and e.final and _mine(e, method, repeat)
               for e in events)


def members(method: str) -> list[str]:
    """The proxies a method's scores are stored under ([] for the random baseline)."""
    return list(Method.parse(method).members)


def ranking_column(method: str) -> str:
    """The column a method ranks cells by: its proxy, or for an ensemble its aggregate rank
    (named after the method itself)."""
    spec = Method.parse(method)
    return str(spec) if spec.aggregation else (spec.members[0] if spec.members else "")


def live_frame(events, space, method: str, repeat: int, accuracy: pd.Series | None = None,
               accuracy_name: str = "accuracy") -> pd.DataFrame:
    """The scores of one method and repeat so far, with an ensemble's aggregate rank (what it
    ranks by, ``stats.aggregate``) and the truth column joined on index."""
    frame = scores_frame(events, space, method, repeat)
    spec = Method.parse(method)
    if spec.aggregation and len(frame) and set(spec.members) <= set(frame.columns):
        frame[str(spec)] = stats.aggregate(frame, spec).to_numpy()
    if accuracy is not None:
        frame[accuracy_name] = frame["index"].astype(int).map(accuracy).astype(float) \
            if len(frame) else pd.Series(dtype=float)
    return frame


def topk_table(frame: pd.DataFrame, topk, proxy: str, space, accuracy_name: str | None = None,
               accuracy: pd.Series | None = None, chosen: int | None = None) -> pd.DataFrame:
    """The current top-k in rank order: rank, a ★ on the ``chosen`` cell, index, score,
    accuracy and the arch string."""
    by_index = frame.set_index("index") if len(frame) else None
    rows = []
    for rank, index in enumerate(topk, start=1):
        index = int(index)
        row = {"rank": rank, "picked": "★" if chosen is not None and index == int(chosen) else "",
               "index": index}
        if proxy:
            row[proxy] = float(by_index.at[index, proxy]) \
                if by_index is not None and index in by_index.index else math.nan
        if accuracy_name and accuracy is not None:
            row[accuracy_name] = float(accuracy.get(int(index), math.nan))
        row["arch_str"] = space.format(space.arch_at(index))
        rows.append(row)
    return pd.DataFrame(rows)


def chosen_cell(events, method: str, repeat: int) -> int | None:
    """The cell a finished method and repeat picked, or None while it runs."""
    for e in events:
        if isinstance(e, MethodDone) and e.result.method == method and e.result.repeat == repeat:
            return int(e.result.chosen)
    return None


def point_details(index: int, accuracy: pd.Series | None, frame: pd.DataFrame, space) -> dict:
    """A clicked point's numbers: its scores in this run and its accuracy."""
    out = {"index": int(index), "arch_str": space.format(space.arch_at(int(index)))}
    rows = frame[frame["index"] == index]
    if len(rows):
        out.update({k: v for k, v in rows.iloc[0].items() if k not in META_COLUMNS})
    if accuracy is not None and "accuracy" not in out:
        out["accuracy"] = float(accuracy.get(int(index), math.nan))
    return out


# --- the fine stage and the results --------------------------------------------------------------


def training_frame(events) -> pd.DataFrame:
    """The fine stage's trained candidates so far."""
    rows = [{"method": e.method, "repeat": e.repeat, "index": e.index,
             "val_accuracy": e.val_accuracy, "seconds": e.seconds}
            for e in events if isinstance(e, Trained)]
    return pd.DataFrame(rows, columns=["method", "repeat", "index", "val_accuracy", "seconds"])


def fine_progress(config, events) -> tuple[int, int]:
    """(candidates trained so far, candidates the whole job trains) for a training fine stage."""
    total = config.k * len(config.two_stage_methods) * config.repeats
    return len(training_frame(events)), total


def results_frame(events) -> pd.DataFrame:
    """One row per finished (method, repeat): the chosen cell, its accuracy and the costs."""
    rows = [asdict(e.result) for e in events if isinstance(e, MethodDone)]
    if not rows:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    return pd.DataFrame(rows, columns=RESULT_COLUMNS + ["topk"])[RESULT_COLUMNS]


def anytime_frame(events) -> pd.DataFrame:
    """The classic strategies' incumbents over time: one row per evaluation with the simulated
    clock and the test accuracy of the best cell so far (by reward)."""
    rows = [{"method": e.method, "repeat": e.repeat, "clock": e.clock,
             "best_test": e.best_test, "best_index": e.best_index}
            for e in events if isinstance(e, Evaluated)]
    return pd.DataFrame(rows, columns=["method", "repeat", "clock", "best_test", "best_index"])


def runs_frames(events_by_run: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``anytime_frame`` and ``results_frame`` of several runs for one plot: with more than one
    run, each method is named after its run ("1a2b3c4d · REA"), so two runs' REA stay apart."""
    curves, points = [], []
    for label, events in events_by_run.items():
        mine_curves, mine_points = anytime_frame(events), results_frame(events)
        if len(events_by_run) > 1:
            mine_curves = mine_curves.assign(method=[f"{label} · {m}" for m in mine_curves["method"]])
            mine_points = mine_points.assign(method=[f"{label} · {m}" for m in mine_points["method"]])
        curves.append(mine_curves)
        points.append(mine_points)
    if not curves:
        return anytime_frame([]), results_frame([])
    return pd.concat(curves, ignore_index=True), pd.concat(points, ignore_index=True)


def result_card(events, method: str, repeat: int = 0) -> dict | None:
    """The finished result of a method and repeat, with the best accuracy in the space."""
    results = results_frame(events)
    mine = results[(results["method"] == method) & (results["repeat"] == repeat)]
    if mine.empty:
        return None
    row = mine.iloc[0].to_dict()
    best = started(events).best_possible or {}
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


def paper_table(runs: dict, power_w: float = energy.DEFAULT_POWER_W,
                grid_kg_per_kwh: float = energy.DEFAULT_GRID_KG_PER_KWH) -> pd.DataFrame:
    """The KNAS paper's table form for several runs: ``runs`` maps a run label to its
    ``summary(events)``. One row per (run, method): mean ± std test accuracy, the mean cost per
    search in parts that are never added across devices (scoring measured on the run's device;
    training measured there, or recorded in a table), the recorded GPU training as GPU-hours, kWh
    and kg CO2e (``energy_note`` states the assumptions), and the shared cost axis the plots
    use (``search_s``)."""
    rows = []
    for label, run_summary in runs.items():
        for row in run_summary:
            mean, std = _float(row.get("test_accuracy_mean")), _float(row.get("test_accuracy_std"))
            coarse, fine = _float(row.get("coarse_seconds_mean")), _float(row.get("fine_seconds_mean"))
            search = _float(row.get("search_seconds_mean"))
            training = search - coarse
            recorded = bool(row.get("simulated", False))
            spent = energy.footprint(max(training, 0.0), power_w, grid_kg_per_kwh) \
                if recorded and math.isfinite(training) else None
            rows.append({
                "run": label, "method": row["method"], "runs": int(row["runs"]),
                "test accuracy": _pm(mean, std, int(row["runs"])), "test_accuracy_mean": mean,
                "test_accuracy_std": std, "coarse_s": coarse, "fine_s": fine,
                "total_s": coarse + fine,
                "networks_scored": _float(row.get("networks_scored_mean")),
                "networks_trained": _float(row.get("networks_trained_mean")),
                "training_s": training, "training_basis": "recorded" if recorded else "measured",
                "search_s": search,
                "gpu_hours": spent.gpu_hours if spent else math.nan,
                "kwh": spent.kwh if spent else math.nan,
                "kg_co2": spent.kg_co2 if spent else math.nan,
                "cost_estimated": bool(row.get("cost_estimated", False)),
                "below_best": _float(row.get("gap_mean")),
                "hypervolume": _float(row.get("hypervolume_mean")),
                "igd": _float(row.get("igd_mean")),
            })
    table = pd.DataFrame(rows, columns=PAPER_COLUMNS)
    return _without_empty(table)


def paper_table_shown(table: pd.DataFrame, one_run: bool = False) -> pd.DataFrame:
    """What a page or the report shows of ``paper_table``: the accuracy as "mean ± std" text,
    the cost in its parts (not the plots' mixed ``search_s``), and no run label for one run."""
    hidden = ["test_accuracy_mean", "test_accuracy_std", "search_s"] + (["run"] if one_run else [])
    return table.drop(columns=[c for c in hidden if c in table.columns])


def _without_empty(table: pd.DataFrame) -> pd.DataFrame:
    """Drop the device columns a run without limits or front has no value for."""
    empty = [c for c in DEVICE_COLUMNS if table[c].isna().all()]
    return table.drop(columns=empty)


PAPER_COLUMNS = ["run", "method", "runs", "test accuracy", "test_accuracy_mean", "test_accuracy_std",
                 "coarse_s", "fine_s", "total_s", "networks_scored", "networks_trained",
                 "training_s", "training_basis", "search_s",
                 "gpu_hours", "kwh", "kg_co2", "cost_estimated", "below_best",
                 "hypervolume", "igd"]
# Columns only some runs fill: below the best cell (that fits the limits), the Pareto indicators
DEVICE_COLUMNS = ["below_best", "hypervolume", "igd"]


def energy_note(power_w: float = energy.DEFAULT_POWER_W,
                grid_kg_per_kwh: float = energy.DEFAULT_GRID_KG_PER_KWH) -> str:
    """The assumptions under a paper table's cost columns, in one sentence."""
    return ("Scoring s: the coarse stage as measured on the run's device. Training s: the "
            "training of the fine stage's k candidates (or a classic strategy's evaluations), "
            "recorded in the benchmark's tables for the looked-up epochs (NAS-Bench-201: on its "
            "GPUs) or measured here; the two are never added. GPU-hours, kWh and kg CO2e are of "
            f"the recorded training only, for one GPU drawing {power_w:g} W (device only) on a "
            f"grid of {grid_kg_per_kwh:g} kg CO2e/kWh. Search s (the plots' cost axis) is their "
            "sum, as the KNAS paper's tables add them.")


def _float(value) -> float:
    return math.nan if value is None else float(value)


def _pm(mean: float, std: float, runs: int = 2) -> str:
    """``93.41 ± 0.20``; one run has no spread to show, so no "± 0.00"."""
    if math.isnan(mean):
        return "n/a (no ground truth)"
    return f"{mean:.2f} ± {std:.2f}" if not math.isnan(std) and runs > 1 else f"{mean:.2f}"
