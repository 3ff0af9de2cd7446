"""The checks a config runs on its fields, each recording a message per bad field instead of
raising: ranges of the numbers, lengths of the texts, and what the data, device, dataset,
space, proxies and backend must be. Torch-free."""
from __future__ import annotations

from pathlib import Path

from knas import fmt, proxies, spaces
from knas.data import datasets, readers
from knas.errors import KnasError

DEVICES = ("auto", "cpu", "cuda", "mps")  # cuda:N names one GPU
BACKENDS = ("local", "ray")  # where scoring and training run: this machine's processes, or Ray


def record(errors: dict, name: str, fn):
    """Run one check; record its message under ``name`` instead of raising."""
    try:
        return fn()
    except (KnasError, ValueError) as err:
        errors.setdefault(name, str(err))
        return None


# Upper ends of the numeric settings: past them a run never ends, or a seed overflows.
MAX_SEED = 2**31 - 1  # seeds seed..seed+repeats-1 stay valid for numpy and torch
MAX_REPEATS = 1000
MAX_N = 1024  # samples per network: MGM keeps one gradient per sample
MAX_TEXT = 4096  # a path, column or spec (Linux's PATH_MAX)
MAX_BUDGET = 1e6  # seconds of a classic strategy (NAS-Bench-201 gives 12,000 on CIFAR-10)
RANGES = {"n": (2, MAX_N), "k": (1, 10**7), "repeats": (1, MAX_REPEATS), "seed": (0, MAX_SEED),
          "train_samples": (0, 10**8)}


def check_whole(errors: dict, values: dict, minimum: dict) -> None:
    """Integer fields: a whole number (not a bool, not text) at least the field's minimum and at
    most its ``RANGES`` maximum."""
    for name, (least, why) in minimum.items():
        value, most = values[name], RANGES[name][1]
        if not isinstance(value, int) or isinstance(value, bool):
            errors[name] = f"must be a whole number, got {fmt.clip(repr(value), 40)}"
        elif value < least:
            errors[name] = why
        elif value > most:
            errors[name] = f"at most {most:,}, got {fmt.clip(str(value), 40)}"


def check_texts(errors: dict, values: dict, names) -> None:
    """Text fields: text, and no longer than ``MAX_TEXT`` (a path that long makes the OS refuse
    the check itself; a name that long makes every suggestion slow)."""
    for name in names:
        value = values[name]
        if not isinstance(value, str):
            errors[name] = f"must be text, got {fmt.clip(repr(value), 40)}"
        elif len(value) > MAX_TEXT:
            errors[name] = f"at most {MAX_TEXT:,} characters, got {len(value):,}: {fmt.clip(value, 40)}"


def check_data(errors: dict, path: str, dataset: str, space) -> None:
    if not path:
        errors["data"] = "no dataset path given"
    elif not Path(path).exists():
        errors["data"] = f"{path} not found: the path does not exist"
    elif datasets.is_text(dataset):
        check_text_data(errors, path, dataset, space)
    elif readers.detect(path) is None:
        errors["data"] = f"{path} holds no dataset in a known layout"


def check_text_data(errors: dict, path: str, dataset: str, space) -> None:
    """Text data the name's reader finds, and what the space reads it with (a frozen encoder)."""
    from knas.data import text

    found = text.text_kinds(path)
    if dataset not in found and not (dataset == text.USER and text.detect_text(path)):
        what = text.describe_text(dataset) if dataset in text.CATALOG else text.USER_LAYOUT
        held = ", ".join(found) or "no text data set"
        errors["data"] = f"{path} holds {held}, not {dataset} ({what})"
        return
    record(errors, "data", space.check_inputs)


def check_device(errors: dict, device: str) -> None:
    base, _, number = str(device).partition(":")
    if base not in DEVICES or (number and (base != "cuda" or not number.isdigit())):
        errors["device"] = f"unknown device {device!r}; use auto, cpu, cuda, cuda:N or mps"


def check_dataset(errors: dict, name: str, space) -> None:
    """A catalogued data set whose data the space's networks take."""
    if record(errors, "dataset", lambda: datasets.info(name)) is None:
        return
    if space.datasets and name not in space.datasets:
        errors["dataset"] = (f"the {space.label or space.name} space takes "
                             f"{', '.join(space.datasets)}, not {name}")


def check_space(errors: dict, spec: str):
    """The space a config names (a file space is loaded, which runs it: see knas.spaces)."""
    return record(errors, "space", lambda: spaces.get(spec))


def check_applicable(errors: dict, field: str, names, space) -> None:
    """Every proxy must be able to score the space's networks (when the space declares what
    they offer; otherwise the first network built says so)."""
    if space.capabilities is None:
        return
    for name in names:
        why = proxies.unmet(name, space.capabilities) if name in proxies.CATALOG else None
        if why:
            errors.setdefault(field, f"{why}, which the networks of {space.name} do not offer")


def check_backend(errors: dict, backend: str, address: str) -> None:
    """``local`` or ``ray``; a Ray address is ``auto`` or HOST:PORT ("" starts a private instance)."""
    from knas.scoring import raycluster  # torch- and ray-free at import

    if backend not in BACKENDS:
        errors["backend"] = f"unknown backend {backend!r}; use {' or '.join(BACKENDS)}"
    elif address and backend != "ray":
        errors["ray_address"] = "a Ray address needs backend ray"
    elif address and address != "auto":
        record(errors, "ray_address", lambda: raycluster.split_address(address))
