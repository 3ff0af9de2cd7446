"""The named types of a search's life: one frozen record per kind of event its pipeline emits,
the record of a finished method, and a background job's state with its statuses.

Like Optuna's ``FrozenTrial``, each record is written in one place (the pipeline makes events,
the job store makes states) and read everywhere through its fields, never as a loose dict. They
are stored as JSON (``to_dict``) and read back with ``event_from_dict`` / ``JobState.from_dict``;
kinds and statuses are string enums, so what is stored stays plain strings
(``EventKind.SCORED == "scored"``) and reads back the same in any process. Records stored by an
older version read back too: a field it did not write takes its default. Torch-free.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, fields
from enum import StrEnum
from typing import ClassVar


class EventKind(StrEnum):
    STARTED = "started"  # data and tables loaded: methods, repeats, pool size, best possible
    SCORED = "scored"  # one cell of the pool scored by a method's proxies
    TOPK = "topk"  # the current (or, with final=True, the kept) top-k of a method and repeat
    TRAINED = "trained"  # one top-k candidate trained by the fine stage
    EVALUATED = "evaluated"  # one evaluation of a classic strategy (simulated or trained)
    MEASURED = "measured"  # the limited measures (latency, size) of a repeat's candidates
    RETRY = "retry"  # cells sent to the Ray cluster again because the process running them died
    METHOD_DONE = "method_done"  # a method's search of one repeat ended: its MethodResult
    FINISHED = "finished"  # every method and repeat ended: the summary


@dataclass(frozen=True)
class MethodResult:
    """What one method found in one repeat, and what it cost."""
    method: str
    repeat: int
    seed: int
    chosen: int
    arch_str: str
    # From the truth table; without one, as measured on the test split by the training that
    # picked it (fine stage or a strategy's real training); NaN when neither exists.
    test_accuracy: float
    fine_score: float  # what the fine stage picked by (lookup value or trained val accuracy)
    topk: list = field(default_factory=list)
    coarse_seconds: float = 0.0
    fine_seconds: float = 0.0
    networks_scored: int = 0
    networks_trained: int = 0  # a strategy's simulated trainings count here too
    search_seconds: float = 0.0  # the cost axis shared by every method (knas.search.pipeline)
    device: str = ""  # where the coarse stage ran ("" when nothing was scored)
    simulated: bool = False  # some of search_seconds is recorded training time, not measured
    cost_estimated: bool = False  # ... and it came from an estimate (no costs table)
    gap: float = math.nan  # the best cell that fits (truth table) minus test_accuracy
    measures: dict = field(default_factory=dict)  # the chosen cell's limited measures (ms, M)
    # Pareto mode: the cells returned (not dominated by what the method knows of accuracy,
    # and latency), their hypervolume (fraction of the true front's) and IGD (knas.search.pareto)
    front: list = field(default_factory=list)
    hypervolume: float = math.nan
    igd: float = math.nan

    @classmethod
    def from_dict(cls, values: dict) -> "MethodResult":
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in values.items() if k in known}
        for name in ("test_accuracy", "gap", "hypervolume", "igd"):
            if values.get(name, 0) is None or name == "test_accuracy" and name not in values:
                values[name] = math.nan  # JSON has no NaN in some writers
        return cls(**values)


@dataclass(frozen=True)
class Event:
    """The base of every event: ``seq`` is its position in the job's stream (-1 until stored)."""
    kind: ClassVar[EventKind]
    seq: int = field(default=-1, kw_only=True)

    def to_dict(self) -> dict:
        values = asdict(self)
        values.pop("seq")
        return {"kind": str(self.kind), **values}


@dataclass(frozen=True)
class Started(Event):
    kind: ClassVar[EventKind] = EventKind.STARTED
    methods: tuple = ()
    repeats: int = 1
    pool_size: int = 0
    k: int = 0
    best_possible: dict | None = None  # {index, value, column} of the truth table's best cell
    at: float | None = None  # when data and tables were loaded (time.time())
    train_images: int = 0
    space: str = ""  # the space's spec ("" : written before spaces were a setting)
    truth_cells: int | None = None  # how many cells the truth table reports on
    constraints: str = ""  # the limits every method keeps to ("" : none); best_possible fits them
    feasible_cells: int | None = None  # cells of the space that fit (None: unknown or no limits)
    pareto: str = ""  # the Pareto mode's device ("" : one cell per method)
    feasible_pool: int | None = None  # cells of the first repeat's pool that fit
    data_note: str = ""  # what reading the data changed, for people ("" : nothing)


@dataclass(frozen=True)
class Scored(Event):
    kind: ClassVar[EventKind] = EventKind.SCORED
    method: str = ""
    repeat: int = 0
    index: int = 0
    values: dict = field(default_factory=dict)  # proxy -> score
    built: int = 0  # networks built for it (0: every score came from the cache)
    done: int = 0
    total: int = 0
    rate: float = 0.0  # cells per second since the stage began


@dataclass(frozen=True)
class TopK(Event):
    kind: ClassVar[EventKind] = EventKind.TOPK
    method: str = ""
    repeat: int = 0
    indices: list = field(default_factory=list)
    final: bool = False


@dataclass(frozen=True)
class Trained(Event):
    kind: ClassVar[EventKind] = EventKind.TRAINED
    method: str = ""
    repeat: int = 0
    index: int = 0
    val_accuracy: float = math.nan
    seconds: float = 0.0
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class Evaluated(Event):
    kind: ClassVar[EventKind] = EventKind.EVALUATED
    method: str = ""
    repeat: int = 0
    step: int = 0
    index: int = 0
    reward: float = math.nan
    seconds: float = 0.0
    clock: float = 0.0
    budget: float = 0.0
    best_index: int = -1
    best_reward: float = math.nan
    best_test: float = math.nan
    steps_total: int = 0  # a one-shot search's steps: its progress counts steps, not seconds


@dataclass(frozen=True)
class Measured(Event):
    """What each cell a repeat's methods choose among measures: its pool's cells that fit, then
    every cell a classic strategy trained. ``rows`` are ``[index, value per measure]``."""
    kind: ClassVar[EventKind] = EventKind.MEASURED
    repeat: int = 0
    measures: list = field(default_factory=list)  # knas.search.constraints measure names
    rows: list = field(default_factory=list)


@dataclass(frozen=True)
class Retry(Event):
    kind: ClassVar[EventKind] = EventKind.RETRY
    cells: list = field(default_factory=list)
    attempt: int = 2
    limit: int = 0
    reason: str = ""
    method: str = ""
    repeat: int = 0

    @classmethod
    def of(cls, notice, method: str, repeat: int) -> "Retry":
        """The event for cells a backend sent again (``raybackend.RetryNotice``)."""
        return cls(list(notice.cells), notice.attempt, notice.limit, notice.reason, method, repeat)


@dataclass(frozen=True)
class MethodDone(Event):
    kind: ClassVar[EventKind] = EventKind.METHOD_DONE
    result: MethodResult | None = None


@dataclass(frozen=True)
class Finished(Event):
    kind: ClassVar[EventKind] = EventKind.FINISHED
    summary: list = field(default_factory=list)  # one row per method (pipeline.summarise)
    seconds: float = 0.0


_BY_KIND = {cls.kind: cls for cls in (Started, Scored, TopK, Trained, Evaluated, Measured,
                                      Retry, MethodDone, Finished)}


def event_from_dict(values: dict, seq: int = -1) -> Event:
    """A stored event back as its record (fields it lacks take their defaults)."""
    cls = _BY_KIND[EventKind(values["kind"])]
    known = {f.name for f in fields(cls)} - {"seq"}
    kept = {k: v for k, v in values.items() if k in known}
    if cls is MethodDone and kept.get("result") is not None:
        kept["result"] = MethodResult.from_dict(kept["result"])
    if cls is Started:
        kept["methods"] = tuple(kept.get("methods") or ())
    return cls(**kept, seq=seq)


# --- a background job ----------------------------------------------------------------------------


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    FINISHED = "finished"
    FAILED = "failed"
    CANCELLED = "cancelled"

    @property
    def is_active(self) -> bool:
        """A worker is (or should be) working on it."""
        return self in (JobStatus.QUEUED, JobStatus.RUNNING)

    @property
    def is_finished(self) -> bool:
        """It ran to its end: results and summary are complete."""
        return self is JobStatus.FINISHED

    @property
    def can_resume(self) -> bool:
        """It stopped early; starting it again continues from the cached scores."""
        return self in (JobStatus.FAILED, JobStatus.CANCELLED)


@dataclass(frozen=True)
class JobState:
    """A job as the store holds it (``knas.jobs``); times are ``time.time()`` seconds."""
    status: JobStatus = JobStatus.QUEUED
    created: float = 0.0
    queued: float | None = None  # when this attempt was queued (Start)
    updated: float = 0.0
    events: int = 0  # events written so far
    attempts: int = 0
    pid: int | None = None  # the worker's process
    heartbeat: float = 0.0
    error: str | None = None
    progress: dict = field(default_factory=dict)  # the latest progress (knas.jobs)
    summary: list | None = None
    owner: str | None = None  # the token of the worker allowed to write
    started: float | None = None
    finished: float | None = None
    device: str = ""
    estimate: dict | None = None  # knas.search.estimate.Estimate.to_dict() before the run

    def to_dict(self) -> dict:
        return {**asdict(self), "status": str(self.status)}

    @classmethod
    def from_dict(cls, values: dict) -> "JobState":
        known = {f.name for f in fields(cls)}
        kept = {k: v for k, v in values.items() if k in known}
        kept["status"] = JobStatus(values.get("status", JobStatus.QUEUED))
        kept["progress"] = dict(values.get("progress") or {})
        return cls(**kept)

    def with_(self, **changes) -> "JobState":
        values = {**self.to_dict(), **changes}
        return JobState.from_dict(values)
