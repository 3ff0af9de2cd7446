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
