"""The dashboard's real server for the browser tests and the page benchmarks: `streamlit run
app.py` as scripts/run.sh starts it (so .streamlit/config.toml applies), on a free 127.0.0.1 port,
waited for until its health check answers, and stopped afterwards."""
import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class App:
    url: str
    port: int
    pid: int  # the server's process (its CPU time is what the benchmarks measure)


@contextlib.contextmanager
def running_app(log_path=None, env=None, timeout: float = 120.0):
    """Yields the running ``App``. The server's output goes to ``log_path`` (quoted when it does not
    start) or nowhere; it is terminated, then killed, on exit."""
    port = free_port()
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115 (closed below)
    process = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
        cwd=REPO, env=env or os.environ, stdout=log, stderr=subprocess.STDOUT,
        start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + timeout
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                    break
            except OSError:
                if process.poll() is not None or time.time() > deadline:
                    output = Path(log_path).read_text()[-2000:] if log_path else ""
                    raise RuntimeError(f"the app's server did not start on {url}: {output}") from None
                time.sleep(0.3)
        yield App(url, port, process.pid)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
        if log_path:
            log.close()
