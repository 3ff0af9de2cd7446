"""Job events -> the tables the live page draws (pure, torch-free)."""
from __future__ import annotations

import pandas as pd

from . import space


def scores_frame(events, method: str | None = None, repeat: int | None = None) -> pd.DataFrame:
    """One row per scored cell (index, arch_str, method, repeat, one column per proxy value)."""
    rows = [{"index": e["index"], "method": e["method"], "repeat": e["repeat"], **e["values"]}
            for e in events if e["kind"] == "scored"
            and (method is None or e["method"] == method) and (repeat is None or e["repeat"] == repeat)]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return pd.DataFrame(columns=["index", "arch_str", "method", "repeat"])
    frame.insert(1, "arch_str", [space.to_str(space.arch_at(int(i))) for i in frame["index"]])
    return frame


def latest_topk(events, method: str | None = None, repeat: int | None = None) -> list[int]:
    """The most recent top-k the search announced (for the method and repeat, if given)."""
    for e in reversed(events):
        if e["kind"] == "topk" and (method is None or e["method"] == method) \
                and (repeat is None or e["repeat"] == repeat):
            return list(e["indices"])
    return []


def results_frame(events) -> pd.DataFrame:
    """One row per finished (method, repeat): the chosen cell, its accuracy and the costs."""
    rows = [e["result"] for e in events if e["kind"] == "method_done"]
    columns = ["method", "repeat", "seed", "chosen", "arch_str", "test_accuracy", "fine_score",
               "coarse_seconds", "fine_seconds", "networks_scored", "networks_trained"]
    return pd.DataFrame(rows, columns=columns + ["topk"])[columns] if rows else pd.DataFrame(columns=columns)


def training_frame(events) -> pd.DataFrame:
    """The fine stage's trained candidates so far."""
    rows = [{"method": e["method"], "repeat": e["repeat"], "index": e["index"],
             "val_accuracy": e["val_accuracy"], "seconds": e["seconds"]}
            for e in events if e["kind"] == "trained"]
    return pd.DataFrame(rows, columns=["method", "repeat", "index", "val_accuracy", "seconds"])


def started(events) -> dict:
    return next((e for e in events if e["kind"] == "started"), {})


def summary(events) -> list[dict]:
    return next((e["summary"] for e in reversed(events) if e["kind"] == "finished"), [])
