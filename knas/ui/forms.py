"""What the Home and New search pages ask before a search exists (pure, torch-free, testable
without a UI): what this machine still lacks, the quick demo's config, the columns a form can
offer (the work estimate is ``knas.search.estimate``). The live view of a running job is ``knas.results.runview``.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from knas import fmt, paths, proxies, spaces
from knas.data import benchmark, datasets, latency, readers
from knas.errors import KnasError
from knas.search import constraints, strategies
from knas.search.config import SearchConfig
from knas.search.specs import ONESHOT, RANDOM, REFERENCE, STRATEGIES

# A search that finishes in about a minute on a 2-core CPU: ~50 distinct cells at n = 16, on the
# default space (its ground truth is what the Data page loads).
DEMO_FIELDS = {"dataset": "cifar10", "pool": "random:100", "proxy": "mgm", "n": 16, "k": 10,
               "fine": f"lookup:{spaces.get().truth_columns('cifar10').valid}",
               "baselines": (RANDOM,), "repeats": 1, "seed": 0, "device": "auto", "params": "all"}
NOT_COLUMNS = ("index", "arch_str")


# --- what this machine has ------------------------------------------------------------------


def csv_columns(path: str) -> list[str]:
    """The value columns of a CSV table, read from its header only ([] if unreadable or .pth)."""
    return [c for c in benchmark.csv_header(path) if c not in NOT_COLUMNS]


def data_path_help(dataset: str) -> str:
    """What the dataset path field takes, for images or for text."""
    if datasets.is_text(dataset):
        return ("A folder holding the data set's official files (e.g. sst2/ with stsa.binary.*, "
                "or its parent), or your own .csv/.tsv with the columns text, optional text_b, "
                "label. The frozen encoder's features are computed once and cached.")
    return ("A folder in the official layout (e.g. the one holding cifar-10-batches-py/), an "
            "image folder with one sub-folder per class, or an .npz with x (uint8 NHWC) and y. "
            "Prefilled from the Data page.")


def missing(settings, dataset: str = "cifar10") -> list[str]:
    """What the quick demo (and most searches) still need, one sentence each; [] when ready."""
    out = []
    path, info = settings.dataset_path(dataset), datasets.info(dataset)
    if not path:
        out.append(f"No {info.label} dataset is set: download it or point to a folder / .npz "
                   "on the Data page.")
    elif not Path(path).exists():
        out.append(f"The {info.label} path {path} does not exist any more: set it again on "
                   "the Data page.")
    elif readers.detect(path) is None:
        out.append(f"{path} holds no dataset in a known layout: point to the folder that holds "
                   f"{info.folder}/, an image folder or an .npz on the Data page.")
    space = spaces.get()
    if not settings.truth:
        out.append(f"No ground-truth table is set: load {space.label} accuracies (CSV or the "
                   "official .pth) on the Data page, so searches can pick and report accuracy.")
    elif not Path(settings.truth).is_file():
        out.append(f"The ground-truth table {settings.truth} does not exist any more: set it "
                   "again on the Data page.")
    else:
        columns, wanted = csv_columns(settings.truth), space.truth_columns(dataset).valid
        if columns and wanted not in columns:
            out.append(f"The ground-truth table {Path(settings.truth).name} has no {wanted} "
                       "column, which the demo's fine stage looks up.")
    return out


def demo_config(settings) -> SearchConfig | None:
    """The quick demo search for this machine's settings, or None while something is missing."""
    if missing(settings):
        return None
    config = SearchConfig(data=settings.dataset_path("cifar10"), truth=settings.truth,
                          **DEMO_FIELDS)
    return None if config.errors() else config


# --- New search ---------------------------------------------------------------------------------


def report_options(space, dataset: str, truth: str) -> list[str]:
    """Columns the chosen cell's accuracy can be reported from, the dataset's default first:
    the table's accuracy columns (not its seed counts or parameter sizes), or every column of a
    table whose names say nothing of accuracy."""
    from knas.results import columns as labels

    default = space.truth_columns(dataset).test if dataset in datasets.CATALOG else ""
    found = csv_columns(truth)
    accuracies = [c for c in found if labels.spec(c).format == labels.ACC]
    return list(dict.fromkeys([c for c in [default] if c] + (accuracies or found)))


def latency_devices(path: str) -> list[str]:
    """The devices a latency table names (from its header only), then ``here``."""
    found = [c[len(latency.PREFIX):] for c in benchmark.csv_header(path)
             if c.startswith(latency.PREFIX)]
    return found + [latency.HERE]


def device_label(device: str) -> str:
    return f"{latency.label(device)} ({device})" if device != latency.HERE else \
        "this machine (here: measured, batch 1)"


def percentiles_note(path: str, space, device: str) -> str:
    """"10th/25th/50th percentile: 3.27 / 6.44 / 10.7 ms" for a table's device ("" if unknown)."""
    if device == latency.HERE or not path:
        return ""
    try:
        table = constraints.load_table(path, space)
        values = [table.percentile(device, q) for q in (10, 25, 50)]
    except (KnasError, OSError):
        return ""
    return "10th / 25th / 50th percentile of the space: " + " / ".join(fmt.num(v) for v in values) + " ms"


def applicable_methods(space) -> list[str]:
    """The ranking methods a form offers for a space: the named rankings whose members all
    apply, then every proxy that applies (all of them when the space does not declare what its
    networks offer)."""
    def applies(name):
        return space.capabilities is None or proxies.unmet(name, space.capabilities) is None

    names = [name for name, named in proxies.RANKINGS.items()
             if all(applies(m) for m in named.members)]
    return names + [name for name in proxies.CATALOG if applies(name)]


def reference_methods(space) -> list[str]:
    """The space's reference network as a baseline, when it has one (the text space's standard
    head)."""
    return [REFERENCE] if hasattr(space, "build_reference") else []


def oneshot_methods(space) -> list[str]:
    """The one-shot searches, on a space with a supernet: TE-NAS, DARTS and GDAS for one epoch
    (minutes on a CPU) and at NAS-Bench-201's published 50 and 250 epochs (hours on a CPU)."""
    return ["tenas", "darts:1", "gdas:1", "darts", "gdas"] if space.supernet_ops else []


def takes_params(methods) -> bool:
    """Whether any of these methods (proxies, ensembles, baselines) uses a proxy that takes the
    weight selection ``params`` (MGM and its Gram peers); "" and strategies take none."""
    from knas.search.specs import Method, SpecError

    for text in methods:
        if not text or text == RANDOM or text in STRATEGIES:
            continue
        try:
            members = Method.parse(text).members
        except SpecError:
            continue
        if any("params" in proxies.info(m).options for m in members):
            return True
    return False


def proxy_label(name: str, space=None) -> str:
    """A method as the New search form lists it, with what it was measured to be worth on the
    space (when a study measured it there)."""
    space = space or spaces.get()
    if name == RANDOM:
        return "random (pick k at random, the fine stage picks among them)"
    if name == REFERENCE:
        return f"{name} — {space.reference_label}, trained like the candidates"
    if name in STRATEGIES:
        how = "real training" if strategies.trains_for_real(name, space) else "simulated"
        return f"{name} — {strategies.info(name).title} ({how}, train-then-test)"
    if name.partition(":")[0] in ONESHOT:
        return f"{name} — {oneshot_label(name)}"
    if name in proxies.RANKINGS:
        named = proxies.RANKINGS[name]
        title = f"{named.good_at} ({named.aggregation} of {', '.join(named.members)})"
    else:
        title = proxies.info(name).title
    return f"{name} — {title}{measured_note(name, space)}"


def oneshot_label(name: str) -> str:
    from knas.oneshot.common import PUBLISHED_EPOCHS
    from knas.search.specs import Method

    spec = Method.parse(name)
    if spec.oneshot == "tenas":
        return f"{ONESHOT['tenas']} (prunes the supernet at initialisation, no training)"
    epochs = spec.epochs or PUBLISHED_EPOCHS[spec.oneshot]
    published = "" if spec.epochs else ", NAS-Bench-201's schedule"
    return (f"{ONESHOT[spec.oneshot]} (weight sharing, {epochs} epoch{'s' * (epochs != 1)}"
            f"{published}; measured on this machine)")


def trained_strategies_note(baselines, space) -> str:
    """What New search says when a strategy that needs accuracies after each epoch (bohb) is
    chosen on a space whose tables hold only final ones: it trains for real ("" otherwise)."""
    names = [b for b in baselines if b in STRATEGIES and strategies.info(b).trains]
    if not names or space.short_epochs is None:
        return ""
    return (f"{', '.join(names)} needs accuracies after each epoch (its budgets), which "
            f"{space.label}'s tables do not hold (final accuracies only): it really trains each "
            f"cell it tries, for up to {space.short_epochs} epochs with the fine stage's recipe, "
            "and its budget is seconds of real training on this machine.")


def measured_note(name: str, space) -> str:
    """`` · ρ 0.79 (1,000 cells), 0.11 s/network`` from the committed study, or ""."""
    facts = proxies.measured(space.name).get(name)
    if not facts or facts.get("spearman_test") is None:
        return ""
    note = f" · ρ {facts['spearman_test']:.2f} ({facts['cells']:,} cells)"
    if facts.get("seconds_per_network") is not None:
        note += f", {facts['seconds_per_network']:.2f} s/network"
    return note


def measured_table(names, space) -> pd.DataFrame:
    """The committed study's figures for some proxies on a space, for people (Compare page)."""
    rows = []
    for name in names:
        facts = proxies.measured(space.name).get(name)
        if facts:
            rows.append({"proxy": name, "Spearman ρ (CIFAR-10 test)": facts.get("spearman_test"),
                         "Kendall τ": facts.get("kendall_test"),
                         "top-10% overlap": facts.get("top10_test"), "cells": facts.get("cells"),
                         "s / network (CPU)": facts.get("seconds_per_network")})
    return pd.DataFrame(rows)


def cluster_info(address: str, timeout: float = 60.0) -> dict:
    """Nodes, CPUs and GPUs of a Ray cluster, asked in a child process (the UI never imports
    ray); ``{"ok": False, "error": ...}`` when it cannot be reached."""
    import json
    import subprocess
    import sys

    try:
        out = subprocess.run([sys.executable, "-m", "knas.scoring.raycluster", "info", "--address", address],
                             capture_output=True, text=True, timeout=timeout, cwd=paths.REPO)
    except subprocess.TimeoutExpired:
        return {"ok": False, "error": f"no answer from {address} within {timeout:.0f} s"}
    lines = out.stdout.strip().splitlines()
    try:
        return json.loads(lines[-1])
    except (IndexError, ValueError):
        return {"ok": False, "error": (out.stderr.strip().splitlines() or ["Ray is not usable"])[-1]}


def resolve_device(config_device: str, machine_device: str) -> str:
    """The device an ``auto`` config will use, for the estimate."""
    return machine_device if config_device == "auto" else config_device


# --- the Explorer's Gram matrix ------------------------------------------------------------------


def gram_view(space, index: int, dataset: str, data_path: str, n: int = 16, seed: int = 0,
              timeout: float = 300.0) -> dict:
    """One cell's Gram matrix of per-sample gradients and its statistics, computed once in a child
    process (``python -m knas gram``; the UI never imports torch) and kept under the cache root.
    ``{"error": ...}`` when it cannot be computed."""
    import hashlib
    import json
    import subprocess
    import sys

    where = f"{space.cache_id}|{dataset}|{Path(data_path).resolve()}"
    digest = hashlib.sha256(where.encode()).hexdigest()[:12]
    saved = paths.root() / "gram" / f"{index}-n{n}-s{seed}-{digest}.json"
    if saved.is_file():
        try:
            return json.loads(saved.read_text())
        except ValueError:
            saved.unlink()
    command = [sys.executable, "-m", "knas", "gram", "--space", space.spec, "--arch", str(index),
               "--dataset", dataset, "--data", str(data_path), "--n", str(n), "--seed", str(seed)]
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=timeout, cwd=paths.REPO)
    except subprocess.TimeoutExpired:
        return {"error": f"no result within {timeout:.0f} s"}
    if out.returncode != 0:
        lines = [line for line in out.stderr.strip().splitlines() if line.strip()]
        return {"error": (lines[-1] if lines else "the computation failed").removeprefix("error: ")}
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(out.stdout)
    return json.loads(out.stdout)
