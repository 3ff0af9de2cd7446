"""A job in one line and its progress caption (pure, torch-free): what the sidebar, Home, Compare
and Live say about a job from its stored state."""
from __future__ import annotations

import time

from knas import fmt
from knas.search.events import JobState, JobStatus


# --- a job in one line ---------------------------------------------------------------------------


def job_label(job_id: str, config, state: JobState | None = None) -> str:
    """One line per job: id prefix, methods, pool, dataset, k and repeats; with ``state`` also its
    status, progress and start time (leave ``state`` out where the label must not change while the
    job runs, such as a select box's options)."""
    if config is None:
        what = "unknown config"
    else:
        repeats = f" · {config.repeats} repeats" if config.repeats > 1 else ""
        what = (f"{' vs '.join(config.methods)} on {config.pool} ({config.dataset}) · "
                f"k={config.k}{repeats}")
    if state is None:
        return f"{job_id[:8]} · {what}"
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(state.created or 0))
    done = ""
    if state.status.is_active:
        done = f" {short_progress(state)}"
    return f"{job_id[:8]} · {state.status}{done} · {what} · {when}"


def _elapsed(state: JobState, now: float | None) -> str:
    since = state.queued or state.created
    return fmt.seconds(max((now or time.time()) - since, 0.0)) if since else "?"


def whole_fraction(progress: dict) -> float | None:
    """How much of the whole job is done (0..1): finished methods × repeats plus the current
    one's share (``knas.jobs``); None before the job has said how many parts it has."""
    parts = progress.get("parts")
    if not parts:
        return None
    return min(1.0, (progress.get("parts_done", 0) + progress.get("part", 0.0)) / parts)


def short_progress(state: JobState, now: float | None = None) -> str:
    """A job's progress in a few characters, for the sidebar: ``37%`` of the whole job (it counts
    up across methods, repeats and stages), or ``starting 12 s`` before the worker has started."""
    p = state.progress
    whole = whole_fraction(p)
    if whole is not None and p.get("stage"):
        return f"{whole:.0%}"
    if p.get("total"):  # a job stored before it counted its parts
        return f"{p.get('done', 0):,}/{p['total']:,}"
    return f"starting {_elapsed(state, now)}"


def progress_view(state: JobState, now: float | None = None) -> tuple[float, str]:
    """(fraction 0..1 of the whole job, a caption with stage, method, repeat, speed and the
    job's ETA). Before the first result it counts the seconds since Start; once a stage has
    scored every cell it names the step that follows; a stopped job shows where it stopped,
    without an ETA."""
    p = state.progress
    status = state.status
    total, done = p.get("total") or 0, p.get("done") or 0
    whole = whole_fraction(p)
    fraction = whole if whole is not None else min(1.0, done / total) if total else 0.0
    if status == JobStatus.FINISHED:
        return 1.0, "finished"
    if not p.get("stage"):
        if status.is_active:
            return 0.0, (f"starting: the worker loads torch, the data and the tables · "
                         f"{_elapsed(state, now)}")
        return 0.0, f"{status} before the first result"
    stage = {"coarse": "coarse stage (scoring)", "fine": "fine stage (training)",
             "simulated": "classic search (seconds of its budget)",
             "one-shot": "one-shot search (steps)"}.get(
        p.get("stage"), p.get("stage", ""))
    text = f"{stage} · {p.get('method', '')} · repeat {p.get('repeat', 0) + 1} · {done:,}/{total:,}"
    if whole is not None:
        text = f"{whole:.0%} of the job · part {min(p.get('parts_done', 0) + 1, p['parts'])} of " \
               f"{p['parts']} · {text}"
    if not status.is_active:
        return fraction, f"{status} at {text}"
    if p.get("stage") == "coarse" and total and done >= total:
        return fraction, f"{text} scored · picking among the top-k"
    if p.get("rate"):
        text += f" · {p['rate']:.1f} archs/s"
    started = state.started or state.queued
    if whole is None and p.get("rate"):  # a job stored before it counted its parts
        text += f" · ETA {fmt.seconds(p.get('eta'))}"
    elif whole and whole >= 0.02 and started:
        spent = max((now or time.time()) - started, 0.0)
        text += f" · job ETA {fmt.seconds(spent * (1 - whole) / whole)}"
    return fraction, text
