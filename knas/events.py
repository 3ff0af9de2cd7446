"""The named types of a search's life: the kinds of event its pipeline emits and the states a
background job goes through. Both are string enums, so stored events and states stay plain
strings (``EventKind.SCORED == "scored"``) and read back the same in any process. Torch-free."""
from __future__ import annotations

from enum import StrEnum


class EventKind(StrEnum):
    STARTED = "started"  # data and tables loaded: methods, repeats, pool size, best possible
    SCORED = "scored"  # one cell of the pool scored by a method's proxies
    TOPK = "topk"  # the current (or, with final=True, the kept) top-k of a method and repeat
    TRAINED = "trained"  # one top-k candidate trained by the fine stage
    EVALUATED = "evaluated"  # one simulated 12-epoch training of a classic strategy
    RETRY = "retry"  # cells sent to the Ray cluster again because the process running them died
    METHOD_DONE = "method_done"  # a method's search of one repeat ended: its MethodResult
    FINISHED = "finished"  # every method and repeat ended: the summary


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


class Cancelled(Exception):
    """The user asked a search (and whatever it runs, locally or on Ray) to stop."""
