"""A real multi-node Ray cluster on 127.0.0.1 for tests, owned by one child process.

Ray 2.60 cannot add a second node on 127.0.0.1 with ``ray start``: a worker node rewrites
127.0.0.1 (node and head address) to the machine's routable address, and the variable that stops
the rewrite (RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0) makes ``ray start --address`` refuse to run. So
the child starts the nodes with Ray's own test utility, ``ray.cluster_utils.Cluster``: the same
gcs_server and raylet programs as ``ray start``, one raylet per node with its own resources.
Closing the child's stdin shuts the cluster down. The cluster's processes are found by pid: those
whose environment holds the cluster's random auth token, and their descendants (Ray's agents get
no token), remembered with their start times because a killed raylet leaves its agents orphaned.
"""
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


class LocalCluster:
    def __init__(self, nodes):
        """``nodes``: one dict per node (``num_cpus``, ``resources``); the first is the head."""
        self.nodes = nodes
        self.token = secrets.token_hex(32)
        self.temp = tempfile.mkdtemp(prefix="knas-rayt-")  # short: socket paths live under it
        self.address = None
        self.process = None
        self._known: dict[int, int] = {}  # pid -> start time, of every process seen in the cluster

    def env(self) -> dict:
        """What a driver on this machine needs to reach the cluster (token auth stays on)."""
        return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": self.token,
                "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0", "RAY_USAGE_STATS_ENABLED": "0"}

    def start(self, timeout: float = 180) -> "LocalCluster":
        os.makedirs(os.path.join(self.temp, "ray"))
        env = {**os.environ, **self.env(), "RAY_TMPDIR": self.temp}
        log = open(os.path.join(self.temp, "launcher.log"), "wb")
        self.process = subprocess.Popen([sys.executable, "-m", "tests.ray_local_cluster", json.dumps(self.nodes)],
                                        cwd=REPO, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=log)
        log.close()
        line = _read_line(self.process.stdout, timeout)
        if not line:
            self.stop()
            raise RuntimeError(f"the Ray test cluster did not start; see {self.temp}/launcher.log")
        self.address = json.loads(line)["address"]
        return self

    def leftovers(self) -> list[int]:
        """Pids of this cluster's processes still running (zombies excluded), never this one."""
        table = process_table()
        marker = f"RAY_AUTH_TOKEN={self.token}".encode()
        marked = []
        for pid in table:
            try:
                if marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0"):
                    marked.append(pid)
            except OSError:
                continue
        for pid in set(marked) | descendants(marked, table):
            self._known[pid] = table[pid][2]
        return sorted(pid for pid, start in self._known.items()
                      if pid != os.getpid() and pid in table and table[pid][2] == start and table[pid][1] != "Z")

    def kill(self) -> None:
        """The cluster vanishes at once, as in a crash: SIGKILL to each of its processes."""
        for pid in self.leftovers():
            _signal(pid, signal.SIGKILL)
        if self.process is not None:
            self.process.wait(30)

    def stop(self, timeout: float = 60) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(30)
        deadline = time.time() + 20
        while self.leftovers() and time.time() < deadline:
            time.sleep(0.5)
        for pid in self.leftovers():
            _signal(pid, signal.SIGKILL)
        shutil.rmtree(self.temp, ignore_errors=True)


def _read_line(stream, timeout):
    out = []
    reader = threading.Thread(target=lambda: out.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return out[0].decode().strip() if out else ""


def process_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (parent pid, state, start time in clock ticks) for every process."""
    table = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            table[int(entry.name)] = (int(fields[1]), fields[0], int(fields[19]))
    return table


def descendants(roots, table) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), list(roots)
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _signal(pid, sig):
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass


def _serve(nodes) -> None:
    """The child: start the nodes, print the address, hold the cluster until stdin closes."""
    from ray.cluster_utils import Cluster

    temp = os.path.join(os.environ["RAY_TMPDIR"], "ray")
    common = {"temp_dir": temp, "node_ip_address": "127.0.0.1"}
    cluster = Cluster(initialize_head=True, shutdown_at_exit=True,
                      head_node_args={**nodes[0], **common, "include_dashboard": False})
    for node in nodes[1:]:
        cluster.add_node(**node, **common)
    cluster.wait_for_nodes()
    print(json.dumps({"address": cluster.address}), flush=True)
    sys.stdin.read()
    cluster.shutdown()


if __name__ == "__main__":
    _serve(json.loads(sys.argv[1]))
