"""What this machine offers (GPU, datasets, tables, cache), found without importing torch here:
the UI process stays light, so the device check runs once in a short child process."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from . import data, paths

_PROBE = """
import json, torch
info = {"torch": torch.__version__, "device": "cpu", "name": "CPU"}
if torch.cuda.is_available():
    info.update(device="cuda", name=torch.cuda.get_device_name(0),
                memory_gb=round(torch.cuda.get_device_properties(0).total_memory / 2**30, 1))
elif getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
    info.update(device="mps", name="Apple GPU (Metal)")
print(json.dumps(info))
"""


def device_info(timeout: float = 60.0) -> dict:
    """``{"device": cuda|mps|cpu, "name": ..., "torch": version}`` or an ``error``."""
    try:
        out = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True,
                             timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"device": "cpu", "name": "unknown", "error": "device check timed out"}
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["unknown error"])[-1]
        return {"device": "cpu", "name": "unknown", "error": f"torch not usable: {last}"}
    return json.loads(out.stdout)


def find_datasets(roots=None) -> dict[str, str]:
    """Dataset name -> path for every benchmark dataset found in its official layout under the
    given folders (default: the app's data folder)."""
    found = {}
    for root in roots or [paths.data_root()]:
        root = Path(root)
        if not root.is_dir():
            continue
        for candidate in [root, *sorted(p for p in root.iterdir() if p.is_dir())]:
            kind = data.detect(candidate)
            if kind in data.BENCHMARK_DATASETS and kind not in found:
                found[kind] = str(candidate)
    return found


def folder_size(path) -> int:
    path = Path(path)
    if not path.exists():
        return 0
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def human_bytes(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GB"
