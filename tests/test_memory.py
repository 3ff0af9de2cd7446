"""Scoring that will not fit in memory is said before any work (#23), from the measured model
and the images' headers alone."""
import os

import numpy as np
import pytest
from PIL import Image

from knas.__main__ import main
from knas.search import memory
from knas.search.config import SearchConfig

GIB = 1 << 30


def _npz(path, side, n=2):
    np.savez(path, x=np.zeros((n, side, side, 3), np.uint8), y=np.arange(n) % 2)
    return str(path)


def test_the_image_side_is_read_from_headers_only(tmp_path, shared_data):
    assert memory.image_side("cifar10", shared_data / "cifar10" / "cifar10_small.npz") == 32
    assert memory.image_side("cifar10", _npz(tmp_path / "big.npz", 512)) == 512
    for label in ("cat", "dog"):
        (tmp_path / "folder" / label).mkdir(parents=True)
        for i, size in enumerate([(100, 80), (120, 90), (300, 300)]):
            Image.new("RGB", size).save(tmp_path / "folder" / label / f"{i}.png")
    os.mkfifo(tmp_path / "folder" / "cat" / "9.png")  # never opened: it would block
    assert memory.image_side("cifar10", tmp_path / "folder") == 90  # the median side
    assert memory.image_side("cifar10", tmp_path / "nothing-here") is None
    (tmp_path / "broken.npz").write_bytes(b"PK not a zip")
    assert memory.image_side("cifar10", tmp_path / "broken.npz") is None


def test_the_model_is_measured_for_the_proxies_a_search_uses():
    model = memory.load_model()
    assert model["space"] == "nb201" and model["process_bytes"] > 0
    mgm = model["proxies"]["mgm"]
    assert mgm["bytes_per_sample_pixel"] > 0  # MGM holds every sample's activations
    need, proxy = memory.peak_bytes(["params", "mgm"], 16, 512, model)
    assert proxy == "mgm" and need > 4 * GIB  # the 16 images of 512x512 took 7.4 GB


def test_a_search_that_will_not_fit_is_warned_about(tmp_path, shared_data):
    config = SearchConfig(dataset="cifar10", data=_npz(tmp_path / "big.npz", 512), proxy="mgm",
                          n=16, fine="train:1")
    text = memory.warning(config, total=8 * GIB)
    assert "16 samples of 512×512 with mgm" in text and "8.0 GB" in text
    cifar = SearchConfig(dataset="cifar10", proxy="mgm", n=16, fine="train:1",
                         data=str(shared_data / "cifar10" / "cifar10_small.npz"))
    assert memory.warning(cifar, total=8 * GIB) is None
    closed_form = SearchConfig(dataset="cifar10", data=config.data, proxy="params", fine="train:1")
    assert memory.warning(closed_form, total=8 * GIB) is None  # nothing measured: nothing said
    text_search = SearchConfig(space="text", dataset="trec", data=str(tmp_path), fine="train:1")
    assert memory.warning(text_search, total=1) is None  # another space: no model to say it


@pytest.mark.parametrize("command", ["search", "score"])
def test_the_cli_says_it_before_any_work(cli_env, capsys, monkeypatch, command):
    monkeypatch.setattr(memory, "machine_bytes", lambda: 64 << 20)  # a 64 MB machine
    argv = {"search": ["search", "--truth", cli_env["truth"], "--proxy", "mgm", "--pool",
                       "random:2", "--k", "1", "--quiet"],
            "score": ["score", "--dataset", "cifar10", "--proxies", "mgm", "--pool", "range:0:2",
                      "--out", str(cli_env["tmp"] / "s.csv")]}[command]
    assert main([*argv, "--data", cli_env["data"], "--n", "4", "--workers", "1"]) == 0
    lines = capsys.readouterr().err.splitlines()
    said = [i for i, line in enumerate(lines)
            if line.startswith("warning: Scoring 4 samples of 32×32 with mgm needs about")]
    assert said and not any(line.startswith("scoring ") for line in lines[:said[0]])
