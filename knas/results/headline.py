"""A finished run in one line, for the top of every view of it: what the search picked, how it
compares with random selection and with the best cell in the space, what it cost, and the KNAS
paper's published figure for the same dataset beside it. Built from the job's events only, so
the Live page, Compare, Home and the HTML report say exactly the same thing. Torch-free.
"""
from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

from knas import fmt
from knas.results import references, runview
from knas.search.specs import RANDOM, REFERENCE


@dataclass(frozen=True)
class Headline:
    method: str  # the searched method (a proxy or an ensemble)
    accuracy: float  # test accuracy of its chosen cell (mean over repeats)
    accuracy_std: float  # 0 for one repeat
    repeats: int
    chosen: int | None  # the chosen cell's index when there is one search
    vs_random: float | None  # accuracy minus the random baseline's (same pools), if it ran
    gap: float | None  # best accuracy in the truth table minus ours, with a truth table
    cells: int  # how many cells the truth table's best is over
    seconds: float  # wall seconds of scoring plus the fine stage (mean per search)
    networks: float  # networks scored (mean per search)
    published: references.Reference | None  # the KNAS paper's figure for this dataset
    constraints: str = ""  # the limits the search kept to ("" : none); gap is to the best that fits
    trained: float = 0.0  # networks trained by the fine stage (mean per search)
    vs_reference: float | None = None  # accuracy minus the space's reference network's, if run

    @property
    def text(self) -> str:
        """The line, plain text (escape it for markdown or HTML where it is shown)."""
        if self.repeats > 1:
            picked = (f"picked cells with {self.accuracy:.2f} ± {self.accuracy_std:.2f}% "
                      f"over {self.repeats} repeats")
        else:
            picked = f"picked cell {self.chosen} with {self.accuracy:.2f}%"
        versus = []
        if self.vs_reference is not None:
            versus.append(f"{self.vs_reference:+.2f} over the standard head")
        if self.vs_random is not None:
            versus.append(f"{self.vs_random:+.2f} over random")
        if self.gap is not None:
            of = f"the {self.cells:,} that fit" if self.constraints else f"{self.cells:,}"
            versus.append(f"{self.gap:.2f} below the best of {of}")
        middle = f" — {', '.join(versus)} —" if versus else ""
        cost = f"in {fmt.seconds(self.seconds)} scoring {self.networks:,.0f} networks"
        if self.repeats > 1:
            cost += " per search"
        if not self.trained:
            cost += ", no training"
        line = f"{method_label(self.method)} {picked}{middle} {cost}"
        return f"Under {self.constraints}: {line}" if self.constraints else line

    @property
    def published_text(self) -> str:
        """The KNAS paper's figure, for beside the line ("" when the dataset has none)."""
        if self.published is None:
            return ""
        return f"KNAS paper: {self.published.test_mean:.2f}% ({self.published.dataset})"


def method_label(method: str) -> str:
    return f"KNAS ({method})"


def headline(events, space, dataset: str = "") -> Headline | None:
    """The line for a run's searched method (the first method the run started with) on a space;
    None until that method has finished at least once or when it has no accuracy (no truth
    table)."""
    methods = runview.started(events).methods
    results = runview.results_frame(events)
    if not methods or results.empty:
        return None
    mine = results[results["method"] == methods[0]]
    accuracies = [float(a) for a in mine["test_accuracy"] if not math.isnan(float(a))]
    if not accuracies:
        return None
    mean = statistics.fmean(accuracies)
    random_rows = results[results["method"] == RANDOM]["test_accuracy"].astype(float).dropna()
    head_rows = results[results["method"] == REFERENCE]["test_accuracy"].astype(float).dropna()
    start = runview.started(events)
    best = (start.best_possible or {}).get("value")
    published = references.find(space, "KNAS", dataset) if dataset else []
    return Headline(
        method=methods[0], accuracy=mean,
        accuracy_std=statistics.pstdev(accuracies) if len(accuracies) > 1 else 0.0,
        repeats=len(accuracies), chosen=int(mine["chosen"].iloc[0]) if len(mine) == 1 else None,
        vs_random=mean - float(random_rows.mean()) if len(random_rows) else None,
        gap=best - mean if best is not None else None,
        cells=int((start.feasible_cells if start.constraints else None) or start.truth_cells
                  or space.size),
        seconds=float((mine["coarse_seconds"] + mine["fine_seconds"]).mean()),
        networks=float(mine["networks_scored"].mean()),
        published=published[0] if published else None, constraints=start.constraints,
        trained=float(mine["networks_trained"].mean()),
        vs_reference=mean - float(head_rows.mean()) if len(head_rows) else None)
