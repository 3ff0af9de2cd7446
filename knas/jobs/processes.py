"""A job's worker and its scoring processes as operating-system processes: whether one is alive
(a zombie is not), killing a replaced worker's process group only if the pid still is that
worker, and scoring processes that end with their parent. Torch-free.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path


def alive(pid: int) -> bool:
    try:  # reap it if it is our own exited child (else it lingers as a zombie)
        finished, _ = os.waitpid(pid, os.WNOHANG)
        if finished == pid:
            return False
    except ChildProcessError:
        pass
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():  # Linux: a zombie still answers kill(0)
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (OSError, IndexError):
            return True
    return True


def kill_worker(pid: int | None, job_id: str) -> None:
    """Kill a previous worker of ``job_id`` and its scoring processes (its process group: a worker
    leads its own session), but only if ``pid`` still is that worker, not a reused pid. Waits
    (a few seconds at most) until it is gone, so the locks it held are free on return."""
    if not pid or not alive(pid) or not is_worker_of(pid, job_id):
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        return
    deadline = time.monotonic() + 5
    while alive(pid) and time.monotonic() < deadline:  # reaps it if it is our own child
        time.sleep(0.02)


def is_worker_of(pid: int, job_id: str) -> bool:
    try:
        if Path("/proc").is_dir():
            args = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            args = [a.decode(errors="replace") for a in args]
        else:
            out = subprocess.run(["ps", "-o", "command=", "-p", str(pid)], capture_output=True,
                                 text=True, timeout=10, check=False)
            args = out.stdout.split()
    except (OSError, subprocess.SubprocessError):
        return False
    return "job-worker" in args and job_id in args


def exit_with_parent(parent: int) -> None:
    """Call in a child process: it ends when ``parent`` dies (killed, out of memory), so it never
    keeps computing for nobody. On Linux the kernel kills it (PR_SET_PDEATHSIG, which follows the
    thread that started the child: start pools from the thread that uses them); everywhere a
    watchdog thread exits once the parent pid is gone."""
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # died before the kernel was told
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="knas-parent-watch", daemon=True).start()
