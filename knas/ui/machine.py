"""What this machine offers (GPU, datasets, tables, cache), found without importing torch here:
the UI process stays light, so the device check runs in a short child process, once per boot
(its answer is kept on disk, keyed by the boot and the Python that ran it) and in the background,
so no page waits for it."""
from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from knas.data import readers
from knas import paths

PENDING = {"device": "cpu", "name": "checking…", "pending": True}
_probe_lock = threading.Lock()
_probing: list = []  # the background probe thread of this process, while it runs

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


def boot_key() -> str:
    """This boot of this machine and the Python in use: a GPU appears or goes only across a
    reboot or another environment, so the probe's answer holds while both stay the same."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:  # not Linux: the boot time (the monotonic clock counts from boot) stands in
        boot = str(round(time.time() - time.monotonic(), -1))
    return f"{boot}|{sys.executable}"


def _device_file() -> Path:
    return paths.root() / "device.json"


def remembered_device() -> dict | None:
    """The probe's answer for this boot, or None."""
    try:
        saved = json.loads(_device_file().read_text())
    except (OSError, ValueError):
        return None
    return saved.get("info") if isinstance(saved, dict) and saved.get("key") == boot_key() else None


def _probe_and_remember() -> dict:
    info = device_info()
    if info.get("error") != "device check timed out":  # a slow moment is not the machine's answer
        target = _device_file()
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"key": boot_key(), "info": info}))
        tmp.replace(target)
    return info


def device_info_now(wait: bool = False) -> dict:
    """The device, without waiting: this boot's remembered answer, else ``PENDING`` while a
    background probe (one per process) finds it; ``wait=True`` probes in the foreground."""
    known = remembered_device()
    if known is not None:
        return known
    if wait:
        return _probe_and_remember()
    with _probe_lock:
        if not any(t.is_alive() for t in _probing):
            _probing[:] = [threading.Thread(target=_probe_and_remember, daemon=True,
                                            name="knas-device-probe")]
            _probing[0].start()
    return dict(PENDING)


def usual_data_roots() -> list[Path]:
    """Where datasets usually are: the app's data folder ($KNAS_DATA_DIR), the working
    directory's data/, ~/data and ~/.torch (torchvision's old default)."""
    home = Path.home()
    roots = [paths.data_root(), Path.cwd() / "data", home / "data", home / ".torch",
             home / ".torch" / "datasets"]
    return list(dict.fromkeys(r.resolve() for r in roots))


SCAN_FOLDERS = 256  # sub-folders of a root looked into: a home with thousands is scanned in a moment


def _candidate_folders(roots):
    """Each existing root and (at most ``SCAN_FOLDERS`` of) its sub-folders, where a data set
    may sit."""
    for root in roots or [paths.data_root()]:
        root = Path(root)
        if root.is_dir():
            folders = itertools.islice((p for p in root.iterdir() if p.is_dir()), SCAN_FOLDERS)
            yield from [root, *sorted(folders)]


def find_datasets(roots=None) -> dict[str, str]:
    """Dataset name -> path for every benchmark dataset found in its official layout under the
    given folders (default: the app's data folder)."""
    found = {}
    for candidate in _candidate_folders(roots):
        kind = readers.detect(candidate)
        if kind in readers.BENCHMARK_DATASETS and kind not in found:
            found[kind] = str(candidate)
    return found


def find_text_datasets(roots=None) -> dict[str, str]:
    """Text data set name -> folder for each catalogued text data set under the given folders
    (default: the app's data folder), found by file names (``knas.data.text.text_kinds``)."""
    from knas.data import text

    found = {}
    for candidate in _candidate_folders(roots):
        for kind in text.text_kinds(candidate):
            if kind in text.CATALOG and kind not in found:
                inner = candidate / kind
                found[kind] = str(inner if inner.is_dir() else candidate)
    return found


def folder_size(path) -> int:
    """Bytes under ``path``; files that workers rename or delete mid-scan are skipped."""
    total = 0
    for root, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += os.stat(os.path.join(root, name), follow_symlinks=False).st_size
            except OSError:
                continue
    return total

