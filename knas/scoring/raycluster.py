"""Where Ray work runs: a private instance on 127.0.0.1, or an existing cluster, token auth on.

Torch-free, and ``ray`` is imported only inside functions: the UI asks for ``python -m
knas.scoring.raycluster info --address HOST:PORT`` in a child process and reads the JSON it prints.

Binding: Ray 2.60 binds its gRPC servers to 127.0.0.1 only when the node address is 127.0.0.1,
but on Linux it rewrites 127.0.0.1 to the machine's routable address unless
``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0`` is set before ``ray`` is imported (it reads the variable
once, at import). So a process that uses a cluster on this machine's loopback pins it first, and
keeps that mode for its lifetime: one process, one kind of cluster.
"""
from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import secrets
import shutil
import socket
import sys
import tempfile
from dataclasses import dataclass

from knas.errors import KnasError

LOCAL_ONLY_VARIABLE = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
PRIVATE_OBJECT_STORE_BYTES = 256 * 1024**2  # plenty for one image batch and the results


class RayBackendError(KnasError):
    pass


class ClusterLost(RayBackendError):
    """The cluster stopped answering while work was running on it."""


def split_address(address: str) -> tuple[str, int]:
    """``host:port`` (``[v6]:port`` too) as a pair; a clear error for anything else."""
    host, sep, port = address.rpartition(":")
    host = host.strip("[]")
    if not sep or not host or not port.isdigit():
        raise RayBackendError(f"Ray address {address!r} is not HOST:PORT (for example 127.0.0.1:6379) or 'auto'")
    return host, int(port)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def answers(host: str, port: int, timeout: float = 2.0) -> bool:
    """Whether something accepts TCP connections there (the cluster's GCS, for a Ray address)."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def import_ray(local_only: bool, private: bool = False):
    """``ray``, imported so that a cluster on this machine's loopback stays on 127.0.0.1 and token
    auth is on: Ray reads both settings from the environment once, when it is imported."""
    if private:
        os.environ["RAY_AUTH_MODE"] = "token"
        if not (os.environ.get("RAY_AUTH_TOKEN") or os.environ.get("RAY_AUTH_TOKEN_PATH")):
            os.environ["RAY_AUTH_TOKEN"] = secrets.token_hex(32)  # never written to ~/.ray
    else:
        os.environ.setdefault("RAY_AUTH_MODE", "token")  # RAY_AUTH_MODE=disabled opts out, knowingly
    if "ray" not in sys.modules:
        if local_only:
            os.environ[LOCAL_ONLY_VARIABLE] = "0"
        try:
            import ray  # noqa: F401
        except ImportError:
            raise RayBackendError(
                "the Ray backend needs the 'ray' package: pip install -r requirements-ray.txt") from None
    import ray
    from ray._private import ray_constants
    from ray._private.authentication.authentication_utils import is_token_auth_enabled

    if local_only and ray_constants.ENABLE_RAY_CLUSTER:
        raise RayBackendError(
            "ray was imported in this process before KNAS could keep it on 127.0.0.1; "
            f"run this in a new process, or set {LOCAL_ONLY_VARIABLE}=0 before starting it")
    if not local_only and not ray_constants.ENABLE_RAY_CLUSTER:
        raise RayBackendError(
            "this process already ran Ray on 127.0.0.1 only, so other machines could not reach it; "
            "connect to a remote cluster from a new process")
    if os.environ["RAY_AUTH_MODE"] == "token" and not is_token_auth_enabled():
        raise RayBackendError("ray was imported in this process before KNAS could turn its token "
                              "authentication on; run this in a new process, or set RAY_AUTH_MODE=token first")
    return ray


@dataclass
class Session:
    """An open connection to Ray: a private instance this process started, or a cluster."""
    address: str
    owned: bool  # this session called ray.init, so it disconnects (or shuts down) at the end
    temp_dir: str | None = None

    def alive(self) -> bool:
        return answers(*split_address(self.address))

    def close(self) -> None:
        if self.owned:
            import ray

            ray.shutdown()  # a private instance stops; a cluster only loses this driver
            self.owned = False
        if self.temp_dir:
            shutil.rmtree(self.temp_dir, ignore_errors=True)
            self.temp_dir = None


def connect(address: str | None = None, num_cpus: int | None = None, num_gpus: int | None = None,
            ship_code: bool = True) -> Session:
    """Start a private instance (``address`` None) or connect to a running cluster.

    A private instance listens on 127.0.0.1 only, has no dashboard and requires a fresh random
    token. A cluster is reached with token auth unless ``RAY_AUTH_MODE`` says otherwise; with
    ``ship_code`` its workers run this process's ``knas`` package (uploaded once per connection),
    so they compute exactly what the local backend would.
    """
    if address is None:
        return _start_private(num_cpus, num_gpus)
    local_only = False
    if address != "auto":
        host, port = split_address(address)
        local_only = is_loopback(host)
        if not answers(host, port):
            raise RayBackendError(
                f"no Ray cluster answers at {address}; start one (ray start --head ...) or check the address")
    ray = import_ray(local_only)
    if ray.is_initialized():
        return Session(_gcs_address(ray), owned=False)
    runtime_env = {"py_modules": [_package_dir()]} if ship_code else None
    try:
        ray.init(address=address, include_dashboard=False, log_to_driver=False,
                 logging_level="warning", runtime_env=runtime_env)
    except ray.exceptions.AuthenticationError as err:
        raise RayBackendError(f"Ray token authentication failed for {address}: {err}. "
                              "Set RAY_AUTH_TOKEN (or RAY_AUTH_TOKEN_PATH) to the cluster's token") from None
    except (ConnectionError, ray.exceptions.RayError) as err:
        raise RayBackendError(
            f"could not connect to the Ray cluster at {address} ({err}); is it running, and does this "
            "process have its token (RAY_AUTH_MODE=token with RAY_AUTH_TOKEN, RAY_AUTH_TOKEN_PATH or "
            "~/.ray/auth_token)?") from None
    return Session(_gcs_address(ray), owned=True)


def _start_private(num_cpus, num_gpus) -> Session:
    ray = import_ray(local_only=True, private=True)
    if ray.is_initialized():
        return Session(_gcs_address(ray), owned=False)
    temp_dir = tempfile.mkdtemp(prefix="knas-ray-")  # short: Ray's socket paths live under it
    try:
        # "local": always a new instance, never one that another program left on this machine.
        ray.init(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False,
                 _node_ip_address="127.0.0.1", _temp_dir=temp_dir,
                 object_store_memory=PRIVATE_OBJECT_STORE_BYTES, log_to_driver=False,
                 logging_level="warning")
    except Exception:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return Session(_gcs_address(ray), owned=True, temp_dir=temp_dir)


@contextlib.contextmanager
def session(address: str | None = None, **options):
    opened = connect(address, **options)
    try:
        yield opened
    finally:
        opened.close()


def _gcs_address(ray) -> str:
    return ray.get_runtime_context().gcs_address


def _package_dir() -> str:
    """The ``knas`` package folder (this file is knas/scoring/raycluster.py)."""
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


# --- what the cluster offers -----------------------------------------------------------------


def resources(ray) -> dict:
    """Alive nodes with their CPUs and GPUs, and the totals (for the UI and for task sizing)."""
    nodes = []
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        res = node.get("Resources", {})
        nodes.append({"id": node["NodeID"], "ip": node.get("NodeManagerAddress"),
                      "cpus": res.get("CPU", 0.0), "gpus": res.get("GPU", 0.0),
                      "head": "node:__internal_head__" in res})
    return {"nodes": nodes, "cpus": sum(n["cpus"] for n in nodes),
            "gpus": sum(n["gpus"] for n in nodes)}


def cluster_info(address: str) -> dict:
    """Nodes, CPUs and GPUs of the cluster at ``address``; call it in a child process (it imports ray)."""
    with session(address, ship_code=False) as opened:
        import ray

        return {"address": opened.address, "ray_version": ray.__version__,
                "auth": os.environ.get("RAY_AUTH_MODE", ""), **resources(ray)}


def task_options(kind: str, cluster_gpus: float, device: str = "auto", gpu_share: float = 0.25) -> dict:
    """Ray resources for one task: a ``score`` task takes ``gpu_share`` of a GPU, a ``train``
    task a whole one; each also takes a CPU. ``device`` cpu keeps tasks off GPUs."""
    if kind not in ("score", "train"):
        raise ValueError(f"unknown task kind {kind!r}")
    if device == "cpu" or (device in ("auto", "mps") and cluster_gpus <= 0):
        return {"num_cpus": 1, "num_gpus": 0}
    if cluster_gpus <= 0:
        raise RayBackendError(f"device {device!r} asked for, but the Ray cluster has no GPU; use --device cpu")
    if not 0 < gpu_share <= 1:
        raise RayBackendError(f"GPU share per scoring task must be in (0, 1], not {gpu_share}")
    return {"num_cpus": 1, "num_gpus": 1 if kind == "train" else gpu_share}


def task_device(options: dict) -> str:
    """The torch device inside a task with these options (Ray sets CUDA_VISIBLE_DEVICES)."""
    return "cuda" if options.get("num_gpus", 0) > 0 else "cpu"


def main(argv=None) -> int:
    """``python -m knas.scoring.raycluster info --address A``: one JSON object on stdout."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m knas.scoring.raycluster")
    parser.add_argument("command", choices=["info"])
    parser.add_argument("--address", required=True, help="HOST:PORT of the cluster's head, or auto")
    args = parser.parse_args(argv)
    try:
        print(json.dumps({"ok": True, **cluster_info(args.address)}))
        return 0
    except KnasError as err:
        print(json.dumps({"ok": False, "error": str(err)}))
        return 2


if __name__ == "__main__":
    sys.exit(main())
