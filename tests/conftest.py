import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared real test data; skipped when absent unless KNAS_REQUIRE_SHARED=1 (CI)."""
    root = Path(os.environ.get("KNAS_SHARED_DATA", REPO.parent / "shared" / "data"))
    if not (root / "nb201").is_dir() or not (root / "cifar10").is_dir():
        if os.environ.get("KNAS_REQUIRE_SHARED") == "1":
            pytest.fail(f"shared test data not found at {root} (KNAS_REQUIRE_SHARED=1)")
        pytest.skip(f"shared test data not found at {root}")
    return root


def wait_for_job(store, job_id, until=None, timeout=240):
    """Poll a job's state until ``until(state)`` holds (default: the job has ended)."""
    import time

    from knas import jobs

    until = until or (lambda state: state["status"] not in jobs.ACTIVE)
    deadline = time.time() + timeout
    while time.time() < deadline:
        state = store.state(job_id)
        if until(state):
            return state
        time.sleep(0.3)
    raise AssertionError(f"job {job_id} never reached the state; last: {store.state(job_id)}")
