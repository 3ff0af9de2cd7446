"""Background search jobs: one worker process per job, its state and events in diskcache.

A job's id is its config's hash, so starting the same config twice (two tabs, a double click)
attaches to the job already there. The worker is a separate process in its own session
(``python -m knas job-worker ID``): it keeps running when the browser closes or the Streamlit
server stops, and any later process finds it through the store. Scores live in the score cache,
so a job that was cancelled, failed or killed resumes where it stopped when started again.

Torch-free: the UI imports this module to start, watch and cancel jobs.
"""
from __future__ import annotations

import os
import secrets
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

from knas import paths, stores
from knas.errors import Cancelled, KnasError
from knas.jobs import processes
from knas.search.config import ConfigError, SearchConfig
from knas.search.events import (Evaluated, Event, Finished, JobState, JobStatus, MethodDone,
                                Scored, Started, Trained, event_from_dict)

HEARTBEAT_SECONDS = 2.0
# A worker that has not written its heartbeat for this long is dead (frozen or killed);
# $KNAS_STALE_SECONDS overrides it (tests freeze a worker for a few seconds).
STALE_SECONDS = 60.0


def stale_seconds() -> float:
    return float(os.environ.get("KNAS_STALE_SECONDS") or STALE_SECONDS)


class JobError(KnasError):
    pass


class Fenced(Exception):
    """This worker no longer owns its job (it was declared dead and the job started again)."""


class JobStore:
    """Job configs, states and events. Keys: ``jobs`` (id -> created), ``ID:config``,
    ``ID:state``, ``ID:cancel``, ``ID:event:SEQ``; states and events are stored as their
    records' dicts and read back as ``JobState`` and ``Event`` records.

    Each start of a job writes a new ``owner`` token into its state and hands it to the worker it
    launches; a worker writes only while the state still names its token (``Fenced`` otherwise),
    so a worker that was frozen, declared dead and replaced can never add events again.

    Reading never writes: ``state`` says what the store holds; ``fail_stale`` marks a job whose
    worker has died as failed (``active_ids`` does so for every job it lists)."""

    def __init__(self, directory=None):
        self.directory = Path(directory) if directory else paths.jobs_dir()
        self.db = stores.open_store(self.directory, "job store")

    # -- reading --
    def ids(self) -> list[str]:
        jobs = self.db.get("jobs", {})
        return sorted(jobs, key=jobs.get, reverse=True)  # newest first

    def active_ids(self) -> list[str]:
        """Ids of the jobs that are queued or running (dead workers are found out here)."""
        out = []
        for job_id in self.ids():
            try:
                if self.fail_stale(job_id).status.is_active:
                    out.append(job_id)
            except JobError:
                continue  # deleted while we read
        return out

    def finished(self) -> dict:
        """id -> (config, state) of every job that ran to its end, newest first."""
        out = {}
        for job_id in self.ids():
            try:
                state = self.state(job_id)
                if state.status.is_finished:
                    out[job_id] = (self.config(job_id), state)
            except KnasError:
                continue  # deleted while we read
        return out

    def config(self, job_id: str) -> SearchConfig:
        values = self.db.get(f"{job_id}:config")
        if values is None:
            raise JobError(f"no job {job_id!r} in {self.directory}")
        return SearchConfig.from_dict(values)

    def state(self, job_id: str) -> JobState:
        """The job's state as stored."""
        return JobState.from_dict(self._raw_state(job_id))

    def _raw_state(self, job_id: str) -> dict:
        state = self.db.get(f"{job_id}:state")
        if state is None:
            raise JobError(f"no job {job_id!r} in {self.directory}")
        return state

    def fail_stale(self, job_id: str) -> JobState:
        """The job's state, after marking it failed (owner revoked) if its worker has died; one
        still there is frozen, maybe holding the store's lock mid-write: it is killed first."""
        raw = self._raw_state(job_id)
        state = JobState.from_dict(raw)
        if state.status.is_active:
            reason = death_reason(state)
            if reason:
                processes.kill_worker(state.pid, job_id)
                return self.update(job_id, status=JobStatus.FAILED, error=reason, owner=None,
                                   when=raw)
        return state

    def events(self, job_id: str, since: int = 0) -> list[Event]:
        """Events ``since`` (a sequence number) up to now, each with its ``seq``."""
        count = self.db.get(f"{job_id}:state", {}).get("events", 0)
        out = []
        for seq in range(since, count):
            event = self.db.get(f"{job_id}:event:{seq}")
            if event is not None:
                out.append(event_from_dict(event, seq))
        return out

    def cancel_requested(self, job_id: str) -> bool:
        return bool(self.db.get(f"{job_id}:cancel"))

    # -- writing --
    def update(self, job_id: str, when: dict | None = None, **changes) -> JobState:
        """Change state fields atomically; with ``when`` (a stored state), only if the state is
        still that one."""
        with self.db.transact():
            state = self.db.get(f"{job_id}:state", {})
            if when is not None and state != when:
                return JobState.from_dict(state)
            state = {**state, **_plain(changes), "updated": time.time()}
            self.db.set(f"{job_id}:state", state)
            return JobState.from_dict(state)

    def update_owned(self, job_id: str, owner: str | None, **changes) -> JobState:
        """``update`` by a worker: only while ``owner`` still owns the job (``Fenced`` if not)."""
        with self.db.transact():
            state = self.db.get(f"{job_id}:state", {})
            _check_owner(state, owner, job_id)
            state = {**state, **_plain(changes), "updated": time.time()}
            self.db.set(f"{job_id}:state", state)
            return JobState.from_dict(state)

    def append(self, job_id: str, event: Event, owner: str | None = None) -> None:
        """Add the next event; with ``owner``, only while that worker still owns the job."""
        with self.db.transact():
            state = self.db.get(f"{job_id}:state")
            if owner is not None:
                _check_owner(state, owner, job_id)
            seq = state.get("events", 0)
            self.db.set(f"{job_id}:event:{seq}", event.to_dict())
            progress = _progress(event, state.get("progress", {}))
            self.db.set(f"{job_id}:state", {**state, "events": seq + 1, "progress": progress,
                                              "updated": time.time()})

    def claim(self, config: SearchConfig) -> tuple[str, str | None]:
        """Register a config as a queued job unless it is active or finished already.

        Returns (job id, the new owner token when a worker must be started, else None). One
        transaction, so two callers racing on the same config cannot both start a worker. A
        previous worker of the job that still exists (frozen past its heartbeat) is killed with
        its process group; its token is void either way."""
        job_id = config.key()
        owner = secrets.token_hex(8)
        with self.db.transact():
            raw = self.db.get(f"{job_id}:state")
            state = JobState.from_dict(raw) if raw is not None else None
            if state is not None and (state.status.is_finished
                                      or (state.status.is_active and not death_reason(state))):
                return job_id, None
            previous = state.pid if state else None
            for seq in range(state.events if state else 0):
                self.db.delete(f"{job_id}:event:{seq}")
            self.db.set(f"{job_id}:config", config.to_dict())
            self.db.delete(f"{job_id}:cancel")
            now = time.time()
            fresh = JobState(status=JobStatus.QUEUED, created=state.created if state else now,
                             queued=now, updated=now, attempts=(state.attempts if state else 0) + 1,
                             heartbeat=now, owner=owner)
            self.db.set(f"{job_id}:state", fresh.to_dict())
            jobs = self.db.get("jobs", {})
            jobs.setdefault(job_id, now)
            self.db.set("jobs", jobs)
        processes.kill_worker(previous, job_id)
        return job_id, owner

    def request_cancel(self, job_id: str) -> None:
        self.db.set(f"{job_id}:cancel", True)

    def delete(self, job_id: str) -> None:
        if self.fail_stale(job_id).status.is_active:
            raise JobError(f"job {job_id} is still running; cancel it first")
        with self.db.transact():
            for seq in range(self.db.get(f"{job_id}:state", {}).get("events", 0)):
                self.db.delete(f"{job_id}:event:{seq}")
            for suffix in ("config", "state", "cancel"):
                self.db.delete(f"{job_id}:{suffix}")
            jobs = self.db.get("jobs", {})
            jobs.pop(job_id, None)
            self.db.set("jobs", jobs)


def _plain(changes: dict) -> dict:
    """State changes as stored: a status as its string."""
    return {k: str(v) if isinstance(v, JobStatus) else v for k, v in changes.items()}


def _progress(event: Event, previous: dict) -> dict:
    """The job's progress after ``event``: the current stage's counts, and across the whole job
    the methods × repeats it runs (``parts``) and how many are done (``parts_done``)."""
    progress = _stage(event, previous)
    if isinstance(event, Started):
        return {"parts": len(event.methods) * event.repeats, "parts_done": 0, "part": 0.0}
    if isinstance(event, MethodDone):
        return {**previous, "parts_done": previous.get("parts_done", 0) + 1, "part": 0.0}
    if progress is previous or "parts" not in previous:
        return progress
    total = progress.get("total") or 0
    stage = min(1.0, (progress.get("done") or 0) / total) if total else 0.0
    # one part's stages follow each other (scoring, then training): its share never goes back
    return {**progress, "part": max(previous.get("part", 0.0), stage)}


def _stage(event: Event, previous: dict) -> dict:
    """The current stage's counts after ``event`` (and the whole job's, carried over)."""
    whole = {k: previous[k] for k in ("parts", "parts_done", "part") if k in previous}
    if isinstance(event, Scored):
        remaining = event.total - event.done
        return {**whole, "stage": "coarse", "method": event.method, "repeat": event.repeat,
                "done": event.done, "total": event.total, "rate": event.rate,
                "eta": remaining / event.rate if event.rate > 0 else None}
    if isinstance(event, Evaluated) and event.steps_total:
        return {**whole, "stage": "one-shot", "method": event.method, "repeat": event.repeat,
                "done": event.step, "total": event.steps_total}
    if isinstance(event, Evaluated):
        return {**whole, "stage": "simulated", "method": event.method, "repeat": event.repeat,
                "done": round(event.clock), "total": round(event.budget),
                "evaluations": event.step}
    if isinstance(event, Trained):
        return {**whole, "stage": "fine", "method": event.method, "repeat": event.repeat,
                "done": event.done, "total": event.total}
    if isinstance(event, Finished):
        return {**previous, "stage": "done"}
    return previous


def _check_owner(state: dict | None, owner: str | None, job_id: str) -> None:
    if state is None or state.get("owner") != owner:
        raise Fenced(f"job {job_id} is owned by another worker now")


def death_reason(state: JobState) -> str | None:
    """Why an active job's worker is gone, or None if it looks alive."""
    if state.pid is not None and not processes.alive(state.pid):
        return ("the worker process ended without finishing (killed, out of memory or crashed); "
                "start the job again to resume from the cache")
    stale = stale_seconds()
    if time.time() - (state.heartbeat or 0) > stale:
        return (f"the worker stopped responding (no heartbeat for {stale:.0f} s); "
                "start the job again to resume from the cache")
    return None


# --- starting and stopping ------------------------------------------------------------------


def start(config: SearchConfig, store: JobStore | None = None) -> str:
    """Start a job for ``config`` in the background, or attach to the one already there."""
    config.validate()
    store = store or JobStore()
    job_id, owner = store.claim(config)
    if owner:
        log = open(store.directory / f"{job_id}.log", "ab")
        process = subprocess.Popen(
            [sys.executable, "-m", "knas", "job-worker", job_id, "--jobs", str(store.directory),
             "--owner", owner],
            cwd=paths.REPO, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
            start_new_session=True,  # not killed with the server's terminal or process group
        )
        log.close()
        try:
            store.update_owned(job_id, owner, pid=process.pid)
        except Fenced:
            pass  # the worker is already past its start (it records its own pid)
    return job_id


def cancel(job_id: str, store: JobStore | None = None) -> None:
    """Ask a running job to stop; its worker exits within seconds, keeping every finished score."""
    (store or JobStore()).request_cancel(job_id)


# --- the worker ---------------------------------------------------------------------------------


def run_worker(job_id: str, store: JobStore, score_cache=None,
               owner: str | None = None) -> JobStatus | None:
    """Run a queued job to its end in this process; returns the final status, or None when the
    job turned out to be owned by another worker (this one then stops without writing)."""
    config = store.config(job_id)
    if owner is None:  # run in-process (tests, tools): take the job over as it stands
        owner = store.state(job_id).owner
    lost = threading.Event()
    try:
        store.update_owned(job_id, owner, status=JobStatus.RUNNING, pid=os.getpid(),
                           heartbeat=time.time(), started=time.time())
    except Fenced:
        return None
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, job_id, owner, stop, lost), daemon=True)
    beat.start()  # before torch loads (seconds), so the job never looks dead while it does
    from knas.search.pipeline import Search

    try:
        _plan(store, job_id, owner, config)
        search = Search(config, score_cache,
                        should_stop=lambda: lost.is_set() or store.cancel_requested(job_id))
        for event in search.events():
            store.append(job_id, event, owner)
            if isinstance(event, Finished):
                store.update_owned(job_id, owner, summary=event.summary)
        status, error = JobStatus.FINISHED, None
    except Fenced:
        status, error = None, None
    except Cancelled:
        status, error = (None if lost.is_set() else JobStatus.CANCELLED), None
    except (KnasError, ConfigError) as err:
        status, error = JobStatus.FAILED, str(err)
    except Exception as err:  # keep the reason for the UI; the log has the whole traceback
        traceback.print_exc()
        status, error = JobStatus.FAILED, f"{type(err).__name__}: {err}"
    finally:
        stop.set()
        beat.join()
    if status is None or lost.is_set():
        print(f"job {job_id} is owned by another worker now; this one stops", file=sys.stderr)
        return None
    try:
        state = store.update_owned(job_id, owner, status=status, error=error, finished=time.time())
    except Fenced:
        return None
    if status == JobStatus.FINISHED:
        from knas.jobs import throughput

        throughput.record(config, state, store.events(job_id), state.device or "cpu")
    return status


def _plan(store: JobStore, job_id: str, owner: str | None, config: SearchConfig) -> None:
    """The device and the work estimate as they stand before the run (the Live page sets them
    against what happened; the finished job's speed then updates ``knas.jobs.throughput``)."""
    from knas.search import estimate
    from knas.scoring import scorer

    device = scorer.resolve_device(config.device).split(":")[0]
    store.update_owned(job_id, owner, device=device,
                       estimate=estimate.estimate(config, device).to_dict())


def _heartbeat(store: JobStore, job_id: str, owner: str, stop: threading.Event,
               lost: threading.Event) -> None:
    while not stop.wait(HEARTBEAT_SECONDS):
        try:
            store.update_owned(job_id, owner, heartbeat=time.time())
        except Fenced:
            lost.set()  # the search polls it and stops; nothing more is written
            return
        except KnasError:
            continue  # a busy or full store: the next beat tries again


# --- the score cache, guarded by the jobs that write to it ----------------------------------------

CONFIRM_WORD = "CLEAR"  # typed by the user before the score cache is emptied


def clear_score_cache(confirmation: str, store: JobStore | None = None, cache=None) -> int:
    """Empty the score cache, but only when ``confirmation`` is ``CONFIRM_WORD`` and no job is
    queued or running (a running job writes to it). Returns how many scores were removed."""
    if (confirmation or "").strip() != CONFIRM_WORD:
        raise JobError(f"Not cleared: type {CONFIRM_WORD} to confirm")
    running = (store or JobStore()).active_ids()
    if running:
        raise JobError(f"Not cleared: {len(running)} job(s) are queued or running "
                       f"({', '.join(j[:8] for j in running)}); cancel them or wait until they end")
    if cache is None:
        from knas.scoring.cache import ScoreCache

        cache = ScoreCache()
    return cache.clear()
