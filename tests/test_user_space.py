"""Bring your own space and your own network: the example space (examples/tinycnn.py) end to end
from the command line, and ``knas.score_model`` on networks built here."""
import json
import os
import subprocess
import sys

import pandas as pd
import pytest
import torch
from torch import nn

import knas
from knas import proxies, spaces
from knas.errors import KnasError
from tests.conftest import REPO

EXAMPLE = f"{REPO / 'examples' / 'tinycnn.py'}:TinyCNN"


def _cli(*args, cache):
    env = {**os.environ, "KNAS_CACHE_DIR": str(cache)}
    return subprocess.run([sys.executable, "-m", "knas", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=600, env=env)


@pytest.fixture(scope="module")
def npz(shared_data):
    return str(shared_data / "cifar10" / "cifar10_small.npz")


def test_the_example_space_is_what_its_file_says():
    space = spaces.get(EXAMPLE)
    assert space.name == "tinycnn" and space.size == 3 ** 3 * 2 ** 3 * 2 ** 3
    torch.manual_seed(0)
    for index in (0, 777, space.size - 1):
        net = space.build(space.arch_at(index), 10)
        assert space.count_params(space.arch_at(index), 10) == sum(p.numel() for p in net.parameters())
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_score_truth_correlate_and_search_from_the_command_line(npz, tmp_path):
    cache = tmp_path / "cache"
    scores, table = tmp_path / "scores.csv", tmp_path / "truth.csv"
    out = _cli("score", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--pool",
               "random:12", "--n", "8", "--proxies", "mgm,meco,synflow,az_expressivity,recommended",
               "--out", str(scores), cache=cache)
    assert out.returncode == 0, out.stderr
    frame = pd.read_csv(scores)
    assert len(frame) == 12 and frame[["mgm", "meco", "synflow", "recommended"]].notna().all().all()
    space = spaces.get(EXAMPLE)
    assert all(space.format(space.arch_at(i)) == s for i, s in zip(frame["index"], frame["arch_str"]))

    truth_args = ("truth", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--cells", "5",
                  "--train-samples", "300", "--seeds", "2", "--out", str(table))
    out = _cli(*truth_args, cache=cache)
    assert out.returncode == 0, out.stderr
    truth = pd.read_csv(table)
    assert len(truth) == 5 and {"cifar10_valid", "cifar10_test", "train_seconds_cifar10",
                                "cifar10_test_seed0", "cifar10_test_seed1"} <= set(truth.columns)
    assert (truth["n_seeds_cifar10"] == 2).all() and truth["cifar10_test"].between(0, 100).all()
    again = _cli(*truth_args, cache=cache)  # every training is read back from the store
    assert again.returncode == 0 and "(5 from the store)" in again.stderr
    pd.testing.assert_frame_equal(pd.read_csv(table), truth)

    out = _cli("score", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--pool",
               "random:5", "--n", "8", "--proxies", "mgm", "--out", str(scores), cache=cache)
    assert out.returncode == 0, out.stderr
    out = _cli("correlate", "--space", EXAMPLE, str(scores), "--truth", str(table), cache=cache)
    assert out.returncode == 0, out.stderr
    assert "against cifar10_test" in out.stdout and "mgm" in out.stdout

    out = _cli("search", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--pool",
               "random:10", "--n", "8", "--k", "2", "--fine", "train:1", "--train-samples", "200",
               "--baselines", "random,rea,tpe", "--budget", "3", "--json", "--quiet", cache=cache)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert set(result["methods"]) == {"mgm", "random", "rea", "tpe"}
    for method, found in result["methods"].items():
        assert 0 <= found["chosen"][0] < space.size
        assert found["test_accuracy"][0] is not None  # measured on the test split
    assert result["methods"]["rea"]["networks_trained"][0] >= 1


def test_a_truth_build_shared_out_among_worker_processes_stores_every_run(npz, tmp_path):
    cache, table = tmp_path / "cache", tmp_path / "truth.csv"
    args = ("truth", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--cells", "4",
            "--train-samples", "200", "--seeds", "2", "--out", str(table))
    out = _cli(*args, "--workers", "2", cache=cache)
    assert out.returncode == 0, out.stderr
    built = pd.read_csv(table)
    assert len(built) == 4 and built[["cifar10_test_seed0", "cifar10_test_seed1"]].notna().all().all()
    assert (built["n_seeds_cifar10"] == 2).all() and built["cifar10_test"].between(0, 100).all()
    again = _cli(*args, cache=cache)  # one process reads all 8 runs back: same keys, same table
    assert again.returncode == 0 and "(4 from the store)" in again.stderr, again.stderr
    pd.testing.assert_frame_equal(pd.read_csv(table), built)
    refused = _cli(*args, "--workers", "0", cache=cache)
    assert refused.returncode == 2 and "Traceback" not in refused.stderr
    assert "--workers must be a whole number >= 1" in refused.stderr


def _cmdline(pid: str) -> str:
    try:
        return open(f"/proc/{pid}/cmdline").read().replace("\0", " ")
    except OSError:  # gone meanwhile
        return ""


def test_a_truth_worker_that_dies_is_explained_and_the_build_resumes(npz, tmp_path):
    import signal
    import time

    cache, table = tmp_path / "cache", tmp_path / "truth.csv"
    args = ["truth", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--cells", "8",
            "--train-samples", "300", "--seeds", "2", "--out", str(table)]
    env = {**os.environ, "KNAS_CACHE_DIR": str(cache)}
    build = subprocess.Popen([sys.executable, "-m", "knas", *args, "--workers", "2"], cwd=REPO,
                             env=env, stderr=subprocess.PIPE, text=True)
    workers = []
    for _ in range(600):  # the spawned training processes, once both run
        children = subprocess.run(["pgrep", "-P", str(build.pid)], capture_output=True,
                                  text=True).stdout.split()
        workers = [int(c) for c in children if "spawn_main" in _cmdline(c)]
        if len(workers) == 2 or build.poll() is not None:
            break
        time.sleep(0.1)
    assert len(workers) == 2
    time.sleep(0.5)  # starting up or training: either way its pool breaks
    os.kill(workers[0], signal.SIGKILL)
    _, stderr = build.communicate(timeout=600)
    assert build.returncode == 2 and "Traceback" not in stderr
    assert "a training worker process died" in stderr and "run the same command again" in stderr
    again = _cli(*args, cache=cache)  # resumes: what finished was stored
    assert again.returncode == 0, again.stderr
    assert len(pd.read_csv(table)) == 8


def test_proxies_a_space_cannot_support_are_refused_before_any_work(npz, tmp_path):
    out = _cli("score", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--proxies",
               "te_linear_regions", cache=tmp_path)
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert "te_linear_regions needs its cell alone with one channel" in out.stderr
    out = _cli("search", "--space", EXAMPLE, "--dataset", "cifar10", "--data", npz, "--fine",
               "train:1", "--baselines", "rea", cache=tmp_path)
    assert out.returncode == 2 and "give their budget in seconds" in out.stderr
    out = _cli("score", "--space", "examples/nowhere.py:Space", "--dataset", "cifar10", "--data",
               npz, cache=tmp_path)
    assert out.returncode == 2 and "no such file" in out.stderr


# --- any network -----------------------------------------------------------------------------


class BasicBlock(nn.Module):
    """torchvision's ResNet basic block, written out (torchvision is not a dependency)."""

    def __init__(self, c_in, c_out, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = None if stride == 1 and c_in == c_out else nn.Sequential(
            nn.Conv2d(c_in, c_out, 1, stride, bias=False), nn.BatchNorm2d(c_out))

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        return self.relu(self.bn2(self.conv2(self.relu(self.bn1(self.conv1(x))))) + identity)


class ResNet(nn.Module):
    def __init__(self, num_classes=10):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        self.relu = nn.ReLU(inplace=True)
        self.layer1 = BasicBlock(16, 16, 1)
        self.layer2 = BasicBlock(16, 32, 2)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(32, num_classes)

    def forward(self, x):
        x = self.layer2(self.layer1(self.relu(self.bn1(self.conv1(x)))))
        return self.fc(torch.flatten(self.avgpool(x), 1))


def test_score_model_scores_a_torchvision_style_resnet(cifar16):
    x, y = cifar16
    torch.manual_seed(0)
    model = ResNet()
    names = ["mgm", "grad_norm", "snip", "synflow", "naswot", "meco", "jacob_cov", "zico",
             "gram_trace", "params", "flops"]
    scores = knas.score_model(model, (x, y), names)
    assert set(scores) == set(names) and all(isinstance(v, float) for v in scores.values())
    assert scores["params"] == sum(p.numel() for p in model.parameters())
    # MGM is exact: the mean of the Gram matrix of single-sample gradients, computed n times
    from knas.proxies import mgm
    torch.manual_seed(0)
    assert scores["mgm"] == pytest.approx(mgm.mgm_literal(ResNet(), x, y), rel=1e-6)
    # one conv layer: 3x3x3 x 16 MACs per output position, 32x32 positions
    assert scores["flops"] > 27 * 16 * 32 * 32


def test_score_model_refuses_with_the_reason(cifar16):
    x, y = cifar16
    model = ResNet()
    with pytest.raises(proxies.ProxyNotApplicable, match="zen needs its feature map before global"):
        knas.score_model(model, (x, y), ["zen"])
    with pytest.raises(proxies.UnknownProxyError):
        knas.score_model(model, (x, y), ["mgm", "nope"])
    with pytest.raises(KnasError, match="batch has 16 inputs and 3 labels"):
        knas.score_model(model, (x, y[:3]))
    flat_bn = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 8), nn.BatchNorm1d(8), nn.ReLU(),
                            nn.Linear(8, 10))
    with pytest.raises(proxies.ProxyNotApplicable, match="BatchNorm1d over flat features"):
        knas.score_model(flat_bn, (x, y), ["mgm"])
    embedded = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 10))
    embedded.table = nn.Parameter(torch.randn(4, 4))  # a trainable matrix no layer type covers
    with pytest.raises(proxies.ProxyNotApplicable, match="grad_norm needs trained weight matrices "
                       "in convolution, linear and attention layers only"):
        knas.score_model(embedded, (x, y), ["grad_norm"])  # refused before any pass
    with pytest.raises(proxies.ProxyNotApplicable, match=r"also trains table \(4, 4\)"):
        proxies.get("grad_norm")(embedded, x, y)  # and by the proxy itself, naming the matrix


def test_conv1d_and_attention_weights_are_scored_not_skipped(cifar16):
    x, y = cifar16
    tokens = x.flatten(2)[:, :, :16]  # (n, 3 channels, 16 positions)

    class Sequence(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv1d(3, 8, 3, padding=1)
            self.attention = nn.MultiheadAttention(8, 2, batch_first=True)
            self.head = nn.Linear(8, 10)

        def forward(self, t):
            h = torch.relu(self.conv(t)).transpose(1, 2)
            h, _ = self.attention(h, h, h)
            return self.head(h.mean(1))

    torch.manual_seed(0)
    model = Sequence()
    from knas.proxies._grads import scored_weights
    weights = {id(w) for w in scored_weights(model)}
    assert {id(model.conv.weight), id(model.attention.in_proj_weight),
            id(model.attention.out_proj.weight), id(model.head.weight)} == weights
    assert knas.score_model(model, (tokens, y), ["snip"])["snip"] > 0
