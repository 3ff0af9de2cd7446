"""Short real training (KNAS's fine-grained stage) of a real cell on the shared CIFAR-10 subset."""
from dataclasses import replace

import pytest
import torch

from knas.data import readers, samples
from knas.spaces.nb201 import cells as space
from knas.search import train
from knas.errors import KnasError
from knas.search.train import TrainError, TrainingCancelled, TrainSettings
from tests.conftest import NB201

# A cheap cell (1x1 convs, pooling and skips) so a few epochs fit a CPU test budget.
CHEAP = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny CPU batches gain little from a second thread, and stall badly when the cores are
    shared (a 7x slowdown seen here): train on one."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def cifar(shared_data):
    """5000 real CIFAR-10 training images."""
    return readers.load("npz", shared_data / "cifar10" / "cifar10_small.npz")


def _recording_steps(monkeypatch):
    """Record each training batch's images while still training on them."""
    batches = []
    real_step = train._train_step

    def step(net, optimizer, x, y):
        batches.append(x.clone())
        return real_step(net, optimizer, x, y)

    monkeypatch.setattr(train, "_train_step", step)
    return batches


def _image_bytes(x):
    return {image.numpy().tobytes() for image in x}


def test_same_seed_same_result_and_another_seed_differs(cifar):
    settings = TrainSettings(epochs=1, train_samples=128, val_fraction=0.02, seed=3)
    first = train.train_and_evaluate(NB201, CHEAP, cifar, settings)
    again = train.train_and_evaluate(NB201, space.parse(CHEAP), cifar, settings)
    assert (again.history, again.val_accuracy) == (first.history, first.val_accuracy)
    assert (first.arch_str, first.epochs, first.train_size, first.val_size) == (CHEAP, 1, 128, 100)
    other = train.train_and_evaluate(NB201, CHEAP, cifar, replace(settings, seed=4))
    assert other.history != first.history


def test_trains_only_outside_the_validation_split(cifar, monkeypatch):
    settings = TrainSettings(epochs=1, train_samples=300, val_fraction=0.02, augment=False, seed=1)
    batches = _recording_steps(monkeypatch)
    result = train.train_and_evaluate(NB201, CHEAP, cifar, settings)
    train_idx, val_idx = samples.split_train_val(cifar, 0.02, seed=1)
    seen = _image_bytes(torch.cat(batches))
    assert (result.train_size, result.val_size) == (300, len(val_idx)) == (300, 100)
    assert len(seen) == 300
    assert seen <= _image_bytes(samples.to_tensors(cifar, train_idx)[0])
    assert not seen & _image_bytes(samples.to_tensors(cifar, val_idx)[0])


def test_learns_and_reports_each_epoch(cifar):
    """1000 images, 2 epochs: the loss falls and validation accuracy clears chance (10%) well.

    Seeds 0-3 reach 22-26% on their 250 validation images (chance: 10 +- 1.9%)."""
    calls = []
    settings = TrainSettings(epochs=2, train_samples=1000, val_fraction=0.05, seed=0)
    result = train.train_and_evaluate(NB201, CHEAP, cifar, settings, on_epoch=lambda *a: calls.append(a))
    assert [c[0] for c in calls] == [1, 2]
    assert tuple(c[1:] for c in calls) == result.history
    (first_loss, _), (last_loss, _) = result.history
    assert last_loss < first_loss - 0.05
    assert result.val_accuracy == result.history[-1][1] > 17
    assert result.seconds > 0


def test_should_stop_cancels_within_a_batch(cifar, monkeypatch):
    batches = _recording_steps(monkeypatch)
    polls = []

    def should_stop():
        polls.append(1)
        return len(polls) > 2

    settings = TrainSettings(epochs=2, batch_size=32, train_samples=256)
    with pytest.raises(TrainingCancelled):
        train.train_and_evaluate(NB201, CHEAP, cifar, settings, should_stop=should_stop,
                                 on_epoch=lambda *a: pytest.fail("an epoch ended"))
    assert len(batches) == 2


def test_gpu_out_of_memory_suggests_a_smaller_batch(cifar, monkeypatch):
    def out_of_memory(*args):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    monkeypatch.setattr(train, "_train_step", out_of_memory)
    settings = TrainSettings(epochs=1, batch_size=512, train_samples=64)
    with pytest.raises(TrainError, match="out of memory .*batch size 512.*smaller batch size"):
        train.train_and_evaluate(NB201, CHEAP, cifar, settings)


def _crop(image, dy, dx, flip):
    crop = image[:, dy:dy + 32, dx:dx + 32]
    return crop.flip(2) if flip else crop


def test_augmentation_is_a_padded_crop_and_maybe_a_flip(cifar):
    x, _ = samples.to_tensors(cifar, range(32))
    pad_value = torch.tensor([-1.0, -2.0, -3.0]).view(1, 3, 1, 1)
    out = train._augment(x, torch.Generator().manual_seed(0), pad_value)
    padded = pad_value.expand(32, 3, 40, 40).clone()
    padded[:, :, 4:36, 4:36] = x
    found = [[(dy, dx, flip) for dy in range(9) for dx in range(9) for flip in (False, True)
              if torch.equal(out[i], _crop(padded[i], dy, dx, flip))] for i in range(32)]
    assert all(len(f) == 1 for f in found)  # each image is exactly one crop of itself
    found = [f[0] for f in found]
    assert {flip for _, _, flip in found} == {False, True}
    assert len({(dy, dx) for dy, dx, _ in found}) > 10  # offsets drawn per image


@pytest.mark.parametrize("field, value", [
    ("epochs", 0), ("epochs", 1.5), ("batch_size", 0), ("lr", 0), ("lr", float("nan")),
    ("momentum", 0), ("momentum", 1), ("weight_decay", -1e-4), ("train_samples", 0),
    ("val_fraction", 0), ("val_fraction", 1), ("augment", "yes"), ("seed", -1), ("seed", True),
])
def test_settings_name_the_bad_field(field, value):
    with pytest.raises(TrainError, match=f"^{field} must be"):
        TrainSettings(**{"epochs": 1, field: value})
    assert issubclass(TrainError, KnasError)


def test_budgets_the_dataset_cannot_meet(cifar):
    too_many = TrainSettings(epochs=1, train_samples=4501)  # 5000 images less 500 for validation
    message = "train_samples is 4501 but the training split has only 4500 "
    with pytest.raises(TrainError, match=message):
        train.train_and_evaluate(NB201, CHEAP, cifar, too_many)
    tiny = readers.Dataset("tiny", cifar.images[:4], cifar.labels[:4], 10, cifar.mean, cifar.std)
    with pytest.raises(TrainError, match="0 to validate on"):
        train.train_and_evaluate(NB201, CHEAP, tiny, TrainSettings(epochs=1, val_fraction=0.1))
