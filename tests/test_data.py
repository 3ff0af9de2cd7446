"""Dataset readers: official-format files written here from the real shared CIFAR-10 subset."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from knas.data import datasets, readers, samples
from knas.data.readers import DataError
from knas.errors import KnasError
from tests.official_files import (downsample16, dump, fine_labels, imagenet_labels,
                                  write_cifar10, write_cifar100, write_imagenet16)

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def cifar10_parent(cifar10_arrays, tmp_path_factory) -> Path:
    parent = tmp_path_factory.mktemp("cifar")
    a = cifar10_arrays
    write_cifar10(parent / "cifar-10-batches-py",
                  a["x_train"], a["y_train"], a["x_test"], a["y_test"])
    return parent


@pytest.fixture(scope="module")
def cifar10_train(cifar10_parent) -> readers.Dataset:
    return readers.load("cifar10", cifar10_parent)


# --- readers return the very pixels and labels --------------------------------------------------


def test_module_imports_without_torch():
    code = "import sys, knas.data.readers; assert 'torch' not in sys.modules, 'knas.data.readers imported torch'"
    subprocess.run([sys.executable, "-c", code], cwd=REPO, check=True)


def test_cifar10_reads_official_batches(cifar10_arrays, cifar10_parent, cifar10_train):
    ds = cifar10_train
    np.testing.assert_array_equal(ds.images, cifar10_arrays["x_train"])
    np.testing.assert_array_equal(ds.labels, cifar10_arrays["y_train"])
    assert (ds.name, ds.num_classes, ds.classes) == ("cifar10", 10, readers.CIFAR10_CLASSES)
    assert ds.images.dtype == np.uint8 and ds.labels.dtype == np.int64
    assert (ds.mean, ds.std) == (datasets.info("cifar10").mean, datasets.info("cifar10").std)
    test = readers.load("cifar10", cifar10_parent / "cifar-10-batches-py", "test")  # the folder itself
    np.testing.assert_array_equal(test.images, cifar10_arrays["x_test"])
    np.testing.assert_array_equal(test.labels, cifar10_arrays["y_test"])


def test_cifar100_reads_fine_labels(cifar10_arrays, tmp_path):
    write_cifar100(tmp_path / "cifar-100-python", cifar10_arrays)
    for split in ("train", "test"):
        ds = readers.load("cifar100", tmp_path, split)
        np.testing.assert_array_equal(ds.images, cifar10_arrays[f"x_{split}"])
        np.testing.assert_array_equal(ds.labels, fine_labels(cifar10_arrays[f"y_{split}"]))
        assert ds.num_classes == 100 and ds.classes[7] == "c7"
        assert (ds.mean, ds.std) == (datasets.info("cifar100").mean, datasets.info("cifar100").std)


def test_imagenet16_keeps_first_120_classes_zero_based(cifar10_arrays, tmp_path):
    folder = write_imagenet16(tmp_path / "ImageNet16", cifar10_arrays)
    x, y = downsample16(cifar10_arrays["x_train"][:1200]), imagenet_labels(1200)
    keep = y <= 120
    ds = readers.load("imagenet16-120", folder)
    np.testing.assert_array_equal(ds.images, x[keep])
    np.testing.assert_array_equal(ds.labels, y[keep] - 1)
    assert ds.images.shape[1:] == (16, 16, 3) and 0 < len(ds) < 1200
    assert ds.labels.min() == 0 and ds.labels.max() == 119 and ds.num_classes == 120
    assert (ds.mean, ds.std) == (datasets.info("imagenet16-120").mean, datasets.info("imagenet16-120").std)
    val = readers.load("imagenet16-120", tmp_path, split="test")  # the parent folder
    assert len(val) == int((imagenet_labels(300) <= 120).sum())


def _png_folder(root: Path, images: np.ndarray, labels: np.ndarray) -> None:
    from PIL import Image

    for i, (img, label) in enumerate(zip(images, labels)):
        folder = root / readers.CIFAR10_CLASSES[label]
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(folder / f"{i:05d}.png")


def test_image_folder_reads_png_per_class(cifar10_arrays, tmp_path):
    pytest.importorskip("PIL", reason="Pillow is needed to write and read the PNG files")
    for split, n in (("train", 100), ("test", 50)):
        x, y = cifar10_arrays[f"x_{split}"][:n], cifar10_arrays[f"y_{split}"][:n]
        _png_folder(tmp_path / split, x, y)
    # class by class, then file name
    order = np.argsort(cifar10_arrays["y_test"][:50], kind="stable")
    ds = readers.load("folder", tmp_path, split="test")
    np.testing.assert_array_equal(ds.images, cifar10_arrays["x_test"][:50][order])
    np.testing.assert_array_equal(ds.labels, cifar10_arrays["y_test"][:50][order])
    assert ds.classes == readers.CIFAR10_CLASSES and (ds.mean, ds.std) == (datasets.info("cifar10").mean, datasets.info("cifar10").std)
    assert len(readers.load("folder", tmp_path, split="train")) == 100


def test_image_folder_makes_square_rgb(tmp_path):
    Image = pytest.importorskip("PIL.Image", reason="Pillow is needed to write and read the images")
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    Image.new("RGBA", (48, 32), (10, 20, 30, 128)).save(tmp_path / "a" / "wide.png")
    Image.new("L", (24, 24), 200).save(tmp_path / "b" / "grey.jpg")
    ds = readers.load("folder", tmp_path)
    assert ds.images.shape == (2, 32, 32, 3) and ds.labels.tolist() == [0, 1]
    assert ds.classes == ("a", "b") and ds.num_classes == 2
    assert ds.images[0, 5, 5].tolist() == [10, 20, 30]
    assert ds.std[0] > 0  # statistics of these two images, not CIFAR's


def test_npz_shared_layout_and_plain_xy(cifar10_arrays, shared_data, tmp_path):
    shared = shared_data / "cifar10" / "cifar10_small.npz"
    for split in ("train", "test"):
        ds = readers.load("npz", shared, split)
        np.testing.assert_array_equal(ds.images, cifar10_arrays[f"x_{split}"])
        np.testing.assert_array_equal(ds.labels, cifar10_arrays[f"y_{split}"])
        assert ds.classes == readers.CIFAR10_CLASSES and (ds.mean, ds.std) == (datasets.info("cifar10").mean, datasets.info("cifar10").std)
    x = downsample16(cifar10_arrays["x_test"][:200])
    y = cifar10_arrays["y_test"][:200] % 5
    np.savez(tmp_path / "small.npz", x=x, y=y)
    ds = readers.load("npz", tmp_path / "small.npz", split="test")
    np.testing.assert_array_equal(ds.images, x)
    assert ds.num_classes == 5 and ds.name == "small"
    pixels = x.reshape(-1, 3) / 255.0
    np.testing.assert_allclose(ds.mean, pixels.mean(axis=0), atol=1e-9)
    np.testing.assert_allclose(ds.std, pixels.std(axis=0), atol=1e-9)


def test_detect(cifar10_parent, cifar10_arrays, shared_data, tmp_path):
    write_imagenet16(tmp_path / "in16", cifar10_arrays)
    write_cifar100(tmp_path / "c100" / "cifar-100-python", cifar10_arrays)
    (tmp_path / "flat" / "cat").mkdir(parents=True)
    (tmp_path / "flat" / "cat" / "a.png").write_bytes(b"")
    (tmp_path / "empty").mkdir()
    assert readers.detect(cifar10_parent) == "cifar10"
    assert readers.detect(cifar10_parent / "cifar-10-batches-py") == "cifar10"
    assert readers.detect(tmp_path / "c100") == "cifar100"
    assert readers.detect(tmp_path / "c100" / "cifar-100-python") == "cifar100"
    assert readers.detect(tmp_path / "in16") == "imagenet16-120"
    assert readers.detect(tmp_path / "flat") == "folder"
    assert readers.detect(shared_data / "cifar10" / "cifar10_small.npz") == "npz"
    assert readers.detect(tmp_path / "empty") is None
    assert readers.detect(tmp_path / "nowhere") is None
    assert readers.detect(cifar10_parent / "cifar-10-batches-py" / "test_batch") is None


def test_arrays_are_read_only(cifar10_train):
    with pytest.raises(ValueError):
        cifar10_train.images[0, 0, 0, 0] = 1


# --- clear errors for missing and corrupt files -------------------------------------------------


@pytest.fixture
def small_cifar10(cifar10_arrays, tmp_path) -> Path:
    x, y = cifar10_arrays["x_test"][:100], cifar10_arrays["y_test"][:100]
    return write_cifar10(tmp_path / "cifar-10-batches-py", x, y, x[:20], y[:20])


def test_missing_folder_names_path_and_layout(tmp_path):
    assert issubclass(DataError, KnasError)  # front ends show KnasError messages, not tracebacks
    layout = r"cifar-10-batches-py/ holding data_batch_1"
    with pytest.raises(DataError, match=rf"missing folder .*nowhere.*{layout}"):
        readers.load("cifar10", tmp_path / "nowhere")


def test_missing_file(small_cifar10):
    (small_cifar10 / "data_batch_3").unlink()
    with pytest.raises(DataError, match=r"missing file .*data_batch_3"):
        readers.load("cifar10", small_cifar10)
    assert len(readers.load("cifar10", small_cifar10, split="test")) == 20


@pytest.mark.parametrize(
    "entry, message",
    [
        (b"\x80\x02}q\x00(X\x04\x00\x00\x00data", r"cannot unpickle .*test_batch"),
        ([1, 2, 3], r"holds a list"),
        ({b"data": np.zeros((2, 3072), np.uint8)}, r"lacks key\(s\) \['labels'\]"),
        ({b"data": np.zeros((2, 3000), np.uint8), b"labels": [0, 1]},
         r"'data' is uint8 \(2, 3000\)"),
        ({b"data": np.zeros((2, 3072), np.float32), b"labels": [0, 1]}, r"'data' is float32"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0]}, r"for 2 images"),
        ({b"data": np.zeros((2, 3072), np.uint8), b"labels": [0, 10]},
         r"labels span 0..10; expected 0..9"),
    ],
    ids=["truncated-pickle", "not-a-dict", "missing-key", "wrong-shape", "wrong-dtype",
         "length-mismatch", "label-range"],
)
def test_corrupt_batch(small_cifar10, entry, message):
    file = small_cifar10 / "test_batch"
    if isinstance(entry, bytes):
        file.write_bytes(entry)
    else:
        dump(file, entry)
    with pytest.raises(DataError, match=message):
        readers.load("cifar10", small_cifar10, split="test")


def test_imagenet16_labels_must_be_1_based(cifar10_arrays, tmp_path):
    folder = write_imagenet16(tmp_path / "ImageNet16", cifar10_arrays)
    dump(folder / "val_data", {"data": np.zeros((1, 768), np.uint8), "labels": [0]})
    with pytest.raises(DataError, match=r"val_data: labels span 0..0; expected 1..1000"):
        readers.load("imagenet16-120", folder, split="test")


def test_npz_errors(cifar10_arrays, tmp_path):
    good = tmp_path / "good.npz"
    np.savez(good, x=cifar10_arrays["x_test"][:50], y=cifar10_arrays["y_test"][:50])
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(DataError, match=r"truncated.npz is not a complete .npz \(zip\) archive"):
        readers.load("npz", truncated)
    flipped = bytearray(good.read_bytes())
    flipped[len(flipped) // 2] ^= 0xFF  # inside x's pixels: the zip index is intact, the CRC is not
    (tmp_path / "flipped.npz").write_bytes(bytes(flipped))
    with pytest.raises(DataError, match=r"cannot read .*flipped.npz \(BadZipFile"):
        readers.load("npz", tmp_path / "flipped.npz")
    np.savez(tmp_path / "keys.npz", images=cifar10_arrays["x_test"][:5])
    with pytest.raises(DataError, match=r"holds \['images'\]; expected an .npz with 'x'"):
        readers.load("npz", tmp_path / "keys.npz")
    np.savez(tmp_path / "grey.npz", x=cifar10_arrays["x_test"][:5, ..., 0], y=cifar10_arrays["y_test"][:5])
    with pytest.raises(DataError, match=r"'x' is uint8 \(5, 32, 32\)"):
        readers.load("npz", tmp_path / "grey.npz")
    np.savez(tmp_path / "short.npz", x=cifar10_arrays["x_test"][:5], y=cifar10_arrays["y_test"][:4])
    with pytest.raises(DataError, match=r"for 5 images"):
        readers.load("npz", tmp_path / "short.npz")
    with pytest.raises(DataError, match=r"missing file .*absent.npz"):
        readers.load("npz", tmp_path / "absent.npz")


def test_folder_errors(tmp_path):
    pytest.importorskip("PIL", reason="Pillow is needed to read image folders")
    (tmp_path / "cat").mkdir()
    with pytest.raises(DataError, match=r"no images in .*one sub-folder per class"):
        readers.load("folder", tmp_path)
    (tmp_path / "cat" / "broken.png").write_bytes(b"not a png")
    with pytest.raises(DataError, match=r"cannot read image .*broken.png"):
        readers.load("folder", tmp_path)


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="unknown dataset kind"):
        readers.load("mnist", tmp_path)
    with pytest.raises(ValueError, match="unknown split"):
        readers.load("cifar10", tmp_path, split="val")


# --- tensors and subsets ------------------------------------------------------------------------


def test_tensors_are_normalised_nchw(cifar10_train):
    import torch

    x, y = samples.to_tensors(cifar10_train)
    assert x.shape == (5000, 3, 32, 32) and x.dtype == torch.float32 and x.is_contiguous()
    assert y.dtype == torch.int64 and y.tolist() == cifar10_train.labels.tolist()
    assert x.mean(dim=(0, 2, 3)).abs().max() < 0.05
    assert (x.std(dim=(0, 2, 3)) - 1).abs().max() < 0.05
    xs, ys = samples.to_tensors(cifar10_train, indices=[3, 1])
    assert torch.equal(xs, x[[3, 1]]) and ys.tolist() == y[[3, 1]].tolist()


def test_subset_is_seeded(cifar10_train):
    a = samples.subset(cifar10_train, 500, seed=1)
    assert np.array_equal(a, samples.subset(cifar10_train, 500, seed=1))
    assert not np.array_equal(a, samples.subset(cifar10_train, 500, seed=2))
    assert len(set(a.tolist())) == 500
    with pytest.raises(ValueError):
        samples.subset(cifar10_train, 5001, seed=1)


def test_balanced_subset(cifar10_train):
    idx = samples.subset(cifar10_train, 205, seed=3, balanced=True)
    assert np.array_equal(idx, samples.subset(cifar10_train, 205, seed=3, balanced=True))
    counts = np.bincount(cifar10_train.labels[idx], minlength=10)
    assert counts.sum() == 205 and set(counts.tolist()) == {20, 21}
    assert len(set(idx.tolist())) == 205


def test_balanced_subset_with_a_short_class():
    labels = np.array([0] * 3 + [1] * 50 + [2] * 50)
    images = np.zeros((len(labels), 2, 2, 3), np.uint8)
    ds = readers.Dataset("toy", images, labels, 3, (0.5,) * 3, (0.2,) * 3)
    counts = np.bincount(labels[samples.subset(ds, 30, seed=0, balanced=True)], minlength=3)
    assert counts.tolist()[0] == 3 and sorted(counts.tolist()[1:]) == [13, 14]


def test_split_train_val(cifar10_train):
    train, val = samples.split_train_val(cifar10_train, 0.2, seed=0)
    assert len(val) == 1000 and len(train) == 4000
    assert sorted(np.concatenate([train, val]).tolist()) == list(range(5000))
    again = samples.split_train_val(cifar10_train, 0.2, seed=0)
    assert np.array_equal(again[0], train) and np.array_equal(again[1], val)
    with pytest.raises(ValueError):
        samples.split_train_val(cifar10_train, 1.0, seed=0)
