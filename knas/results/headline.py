"""A finished run in one line, for the top of every view of it: what the search picked, how it
compares with random selection and with the best cell in the space, what it cost, and the KNAS
paper's published figure for the same dataset beside it. Built from the job's events only, so
the Live page, Compare, Home and the HTML report say exactly the same thing. Torch-free.
"""
from __future__ import annotations

import html
import math
import statistics
from dataclasses import dataclass

from knas import fmt
from knas.results import references, runview
from knas.search.specs import ONESHOT, RANDOM, REFERENCE, STRATEGIES


def ratio_text(value: float) -> str:
    """A cost ratio for people: 1/8 rather than 0.125×, 2.4× above one."""
    if value <= 2 / 3:
        return f"1/{1 / value:,.0f}"
    return f"{value:.2f}×" if value < 1.5 else f"{value:,.1f}×"


@dataclass(frozen=True)
class Cost:
    """What one search cost (means over its repeats), in parts that are never added across
    units: seconds measured here, on the run's device, and training time looked up in a table
    that recorded it elsewhere (NAS-Bench-201's: on GPUs)."""
    scoring: float  # seconds of proxy scoring, measured on ``device``
    training: float  # seconds of training, measured on ``device``
    recorded: float  # seconds of training looked up in a table, recorded on ``recorded_on``
    device: str  # cpu, cuda, ... ("" : this machine)
    recorded_on: str  # "GPU" for NAS-Bench-201's tables; "" when the table does not say
    networks: float = 0.0  # networks scored
    trained: float = 0.0  # networks (or simulated evaluations) trained

    @property
    def here(self) -> str:
        return self.device.split(":")[0].upper() if self.device else "this machine"

    def parts(self) -> list[str]:
        """Each part with what it counts: "21 s of scoring 83 networks on CPU", "0.40
        GPU-hours of recorded training (10 cells)"."""
        out = []
        if self.networks:
            out.append(f"{fmt.seconds(self.scoring)} of scoring {self.networks:,.0f} networks "
                       f"on {self.here}")
        if self.training and self.trained:
            out.append(f"{fmt.seconds(self.training)} of training {self.trained:,.0f} networks "
                       f"on {self.here}")
        if self.recorded:
            amount = (f"{self.recorded / 3600:,.2f} {self.recorded_on}-hours" if self.recorded_on
                      else fmt.seconds(self.recorded))
            out.append(f"{amount} of recorded training ({self.trained:,.0f} cells)")
        return out or ["nothing: no network scored or trained"]

    @property
    def short(self) -> str:
        """The parts' amounts alone, for a card: "21 s + 0.40 GPU-h"."""
        measured = self.scoring + (self.training if self.trained else 0.0)
        out = [fmt.seconds(measured)] if self.networks or self.trained else []
        if self.recorded:
            out.append(f"{self.recorded / 3600:,.2f} {self.recorded_on}-h" if self.recorded_on
                       else fmt.seconds(self.recorded))
        return " + ".join(out) or "0 s"

    def versus(self, other: "Cost", name: str) -> str | None:
        """This cost as a share of ``other``'s, comparing like with like only: recorded training
        against recorded training (this search's scoring, measured here, stated beside it), or
        time measured on the same device; None when the units differ."""
        if self.recorded and other.recorded and not self.training and not other.training \
                and self.recorded_on == other.recorded_on:
            unit = f"{self.recorded_on}-hours" if self.recorded_on else "time"
            text = f"{ratio_text(self.recorded / other.recorded)} of {name}'s recorded training {unit}"
            return text + (f", plus {fmt.seconds(self.scoring)} of scoring on {self.here}"
                           if self.networks else "")
        mine = self.scoring + (self.training if self.trained else 0.0)
        theirs = other.scoring + (other.training if other.trained else 0.0)
        if not self.recorded and not other.recorded and theirs > 0 and mine > 0 \
                and other.here in (self.here, "this machine"):
            return f"{ratio_text(mine / theirs)} of {name}'s time on {self.here}"
        return None


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
    cost: Cost  # per search
    published: references.Reference | None  # the KNAS paper's figure for this dataset
    constraints: str = ""  # the limits the search kept to ("" : none); gap is to the best that fits
    vs_reference: float | None = None  # accuracy minus the space's reference network's, if run
    best: float | None = None  # the truth table's best accuracy (that fits the limits)
    baseline: str = ""  # the strongest other method of the run, by mean accuracy ("" : none)
    baseline_accuracy: float | None = None
    baseline_cost: Cost | None = None

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
        cost = f"for {' + '.join(self.cost.parts())}" + (" per search" if self.repeats > 1 else "")
        if not self.cost.trained:
            cost += ", no training"
        line = f"{method_label(self.method)} {picked}{middle} {cost}"
        return f"Under {self.constraints}: {line}" if self.constraints else line

    @property
    def published_text(self) -> str:
        """The KNAS paper's figure, for beside the line ("" when the dataset has none)."""
        if self.published is None:
            return ""
        return f"KNAS paper: {self.published.test_mean:.2f}% ({self.published.dataset})"

    def cards(self) -> list[tuple[str, str, str]]:
        """The run at a glance, as (label, value, what the value counts): the accuracy, the gap
        to the best possible and to the strongest baseline, the cost, and the cost against that
        baseline's when the units allow ("1/8 of TPE's recorded training GPU-hours")."""
        mine = (f"{method_label(self.method)}, cell {self.chosen}" if self.repeats == 1 else
                f"{method_label(self.method)}, mean of {self.repeats} repeats ± "
                f"{self.accuracy_std:.2f}")
        out = [("Test accuracy", f"{self.accuracy:.2f}%", mine)]
        if self.gap is not None:
            of = "that fit" if self.constraints else "in the space"
            out.append(("Below the best possible", f"{self.gap:.2f} pts",
                        f"best of the {self.cells:,} cells {of}: {self.best:.2f}%"))
        if self.baseline:
            out.append((f"Against {self.baseline}", f"{self.accuracy - self.baseline_accuracy:+.2f} pts",
                        f"the strongest other method of this run: {self.baseline_accuracy:.2f}%"))
        out.append(("Search cost", self.cost.short, " + ".join(self.cost.parts())
                    + (" (per search)" if self.repeats > 1 else "")))
        versus = self.cost.versus(self.baseline_cost, self.baseline) if self.baseline_cost else None
        if versus:
            out.append((f"Cost against {self.baseline}", versus.split(" of ")[0], versus))
        if self.published is not None:
            out.append(("KNAS paper", f"{self.published.test_mean:.2f}%",
                        f"published on {self.published.dataset} ({self.published.source})"))
        return out


def cards_html(cards) -> str:
    """The cards as one HTML block (every text escaped): a row that wraps, so no value is ever
    cut; the same on Live, Compare and the report. Inline styles, neutral in light and dark."""
    items = "".join(
        "<div style='flex:1 1 12rem;border:1px solid rgba(128,128,128,.45);border-radius:.5rem;"
        "padding:.45rem .7rem'>"
        f"<div style='font-size:.8rem;opacity:.75'>{html.escape(label)}</div>"
        f"<div class='knas-card-value' style='font-size:1.35rem;font-weight:600;"
        f"white-space:nowrap'>{html.escape(value)}</div>"
        f"<div style='font-size:.75rem;opacity:.75'>{html.escape(note)}</div></div>"
        for label, value, note in cards)
    return ("<div class='knas-cards' style='display:flex;flex-wrap:wrap;gap:.5rem;"
            f"margin:.4rem 0 .8rem'>{items}</div>")


def method_label(method: str) -> str:
    return f"KNAS ({method})"


def method_name(method: str) -> str:
    """A baseline as people name it: REA, TPE, random, the standard head, KNAS (params)."""
    if method in STRATEGIES:
        return {"nsga2": "NSGA-II", "reinforce": "REINFORCE"}.get(method, method.upper())
    name, _, epochs = method.partition(":")
    if name in ONESHOT:
        title = {"tenas": "TE-NAS"}.get(name, name.upper())
        return f"{title} ({epochs} epoch{'s' * (epochs != '1')})" if epochs else title
    if method == RANDOM:
        return "random"
    if method == REFERENCE:
        return "the standard head"
    return method_label(method)


def cost_of(rows, space, k: int) -> Cost:
    """The mean cost of one method's results (rows of ``runview.results_frame``); a lookup fine
    stage's recorded training is that of its ``k`` candidates."""
    coarse, fine = rows["coarse_seconds"].astype(float), rows["fine_seconds"].astype(float)
    search, simulated = rows["search_seconds"].astype(float), rows["simulated"].astype(bool)
    recorded = (search - coarse).where(simulated, 0.0)
    training = fine.where(~simulated, 0.0)
    devices = [d for d in rows["device"] if d]
    return Cost(scoring=float(coarse.mean()), training=float(training.mean()),
                recorded=float(recorded.clip(lower=0).mean()), device=devices[0] if devices else "",
                recorded_on=space.recorded_on, networks=float(rows["networks_scored"].mean()),
                trained=float(rows["networks_trained"].where(
                    ~simulated | (rows["networks_trained"] > 0), k).mean()))


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
    others = results[results["method"] != methods[0]].dropna(subset=["test_accuracy"])
    by_method = others.groupby("method", sort=False)["test_accuracy"].mean()
    strongest = str(by_method.idxmax()) if len(by_method) else ""
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
        cost=cost_of(mine, space, start.k),
        published=published[0] if published else None, constraints=start.constraints,
        vs_reference=mean - float(head_rows.mean()) if len(head_rows) else None, best=best,
        baseline=method_name(strongest) if strongest else "",
        baseline_accuracy=float(by_method[strongest]) if strongest else None,
        baseline_cost=cost_of(others[others["method"] == strongest], space, start.k)
        if strongest else None)
