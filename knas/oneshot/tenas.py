"""TE-NAS's search: prune the supernet op by op, by trainability and expressivity, at
initialisation (no training).

Chen, Gong & Wang, "Neural Architecture Search on ImageNet in Four GPU Hours: A Theoretically
Inspired Perspective", ICLR 2021; official code github.com/VITA-Group/TENAS, prune_tenas.py
(``prune_func_rank``) for NAS-Bench-201. The ``none`` op is removed first. Each round, for every
edge with more than one op left and every op on it, the op's removal is measured twice against the
supernet before the round, each averaged over ``repeat`` initialisations:
- trainability, the relative drop of the NTK's condition number, (k_before - k_after) / k_before
  (``knas.proxies.ntk``; on the supernet of 3 channels and one cell per stage, one batch);
- expressivity, the relative drop of the thin cell's linear-region count, (R_before - R_after) /
  R_before (``knas.proxies.linear_regions``; one channel, 3,000 3x3 crops of training images).
Each draw's drop is rounded to 3 decimals (their ``--precision 3``), then averaged. All candidates are ranked by each
measure (a larger NTK drop first, a smaller region drop first; equal values share a rank), the
two ranks are added, and on every edge the op with the smallest sum is pruned (the first in
edge-then-op order on ties). Rounds repeat until one op per edge is left. An edge mixes its
remaining ops equally (their softmax of equal parameters).

Ours differs in one deliberate way: within a round, every candidate is measured on the same
``repeat`` initialisations and batches (theirs draws new ones per candidate), which makes the
round reproducible from its seed and measures each "before" once.
"""
from __future__ import annotations

import math
import time

import numpy as np
import torch
from torch import nn

from knas.oneshot.common import (Cancelled, OneShotError, OneShotResult, OneShotSettings, Progress,
                                 check_space, data_id, load_checkpoint, save_checkpoint)
from knas.proxies import linear_regions, ntk
from knas.proxies._grads import condition_number
from knas.proxies._patterns import count_distinct, pack_rows, relu_codes

PRECISION = 3
CROPS, CROP_BATCH = 3000, 1000  # linear regions: 3 batches of 1,000 crops, as theirs


def search(space, dataset, settings: OneShotSettings, device="cpu", should_stop=None,
           checkpoint=None):
    """Prune ``space``'s supernet to one cell; a generator of one ``Progress`` per round."""
    check_space(space)
    if settings.method != "tenas":
        raise OneShotError(f"{settings.method} is not TE-NAS's pruning search")
    height, width = dataset.images.shape[1:3]
    needed = max(settings.batch_size,
                 math.ceil(CROPS / (dataset.images.shape[3] * max(height - 2, 0) * max(width - 2, 0) or 1)))
    if len(dataset) < needed or min(height, width) < linear_regions.CROP:
        raise OneShotError(f"TE-NAS needs {needed} images of at least 3x3 (an NTK batch of "
                           f"{settings.batch_size} and {CROPS:,} crops); the data has "
                           f"{len(dataset)} of {height}x{width}")
    should_stop = should_stop or (lambda: False)
    data, start = data_id(dataset), time.perf_counter()
    ops = space.supernet_ops
    mask = np.ones((len(space.decisions()), len(ops)), dtype=bool)
    if "none" in ops:
        mask[:, ops.index("none")] = False
    rounds, spent, history = 0, 0.0, []
    state = load_checkpoint(checkpoint, settings, data)
    if state is not None:
        mask = np.array(state["mask"], dtype=bool)
        rounds, spent, history = state["rounds"], state["seconds"], list(state["history"])
    total = rounds + int(mask.sum(axis=1).max()) - 1
    while mask.sum(axis=1).max() > 1:
        if should_stop():
            raise Cancelled(f"tenas cancelled after round {rounds} of {total}; a rerun resumes "
                            "from the checkpoint")
        candidates = _measure(space, dataset, settings, mask, rounds, device)
        pruned = choose(candidates)
        for edge, op in pruned:
            mask[edge, op] = False
        rounds += 1
        history.append({"pruned": [[e, ops[o]] for e, o in pruned],
                        "candidates": [[e, ops[o], k, r] for (e, o), (k, r) in candidates.items()]})
        save_checkpoint(checkpoint, settings, data, {
            "mask": mask.tolist(), "rounds": rounds, "history": history,
            "seconds": spent + time.perf_counter() - start})
        yield Progress("tenas", rounds, total, math.nan, space.format(_cell(space, mask)),
                       spent + time.perf_counter() - start)
    arch = _cell(space, mask)
    return OneShotResult("tenas", space.index_of(arch), space.format(arch),
                         spent + time.perf_counter() - start, rounds,
                         mask.astype(int).tolist(), tuple(history))


def choose(candidates: dict) -> list[tuple[int, int]]:
    """The op to prune on each edge: ``candidates`` maps (edge, op) to (NTK drop, region drop)."""
    ntk_rank = _dense_rank({c: -k for c, (k, _) in candidates.items()})
    region_rank = _dense_rank({c: r for c, (_, r) in candidates.items()})
    best: dict[int, tuple[int, int]] = {}
    for edge, op in sorted(candidates):  # edge-then-op order breaks ties
        total = ntk_rank[(edge, op)] + region_rank[(edge, op)]
        if edge not in best or total < best[edge][0]:
            best[edge] = (total, op)
    return [(edge, op) for edge, (_, op) in sorted(best.items())]


def _dense_rank(values: dict) -> dict:
    ordered = sorted(set(values.values()))
    return {key: ordered.index(value) for key, value in values.items()}


def _measure(space, dataset, settings, mask, round_no, device) -> dict:
    """(edge, op) -> (mean NTK drop, mean region drop) of removing that op."""
    trials = {(e, o): _without(mask, e, o) for e in range(len(mask)) if mask[e].sum() > 1
              for o in np.flatnonzero(mask[e])}
    drops = {key: ([], []) for key in trials}
    gen = torch.Generator().manual_seed(settings.seed * 1000 + round_no)
    for _ in range(settings.repeat):
        pick = torch.randperm(len(dataset), generator=gen)[:settings.batch_size].numpy()
        x, _ = dataset.tensors(pick, device)
        net = space.build_supernet(dataset.num_classes, settings.channels, settings.n_cells)
        _kaiming(net, gen, fan_in=False)  # for the backward pass, as theirs
        net = net.to(device)
        net.mix = _mix(mask).to(device)
        before = condition_number(ntk.ntk_matrix(net, x))
        thin = net.thin_cell()
        _kaiming(thin, gen, fan_in=True)  # for the forward pass
        thin = thin.to(device).train()
        crops = linear_regions.random_crops(_crop_images(dataset, gen, device), CROPS, gen)
        regions_before = _regions(thin, _mix(mask).to(device), crops)
        for key, trial in trials.items():
            net.mix = _mix(trial).to(device)
            drops[key][0].append(_drop(before, condition_number(ntk.ntk_matrix(net, x))))
            drops[key][1].append(_drop(regions_before, _regions(thin, _mix(trial).to(device), crops)))
    return {key: (float(np.mean(k)), float(np.mean(r))) for key, (k, r) in drops.items()}


def _crop_images(dataset, gen: torch.Generator, device) -> torch.Tensor:
    """Enough images of the data set to cut ``CROPS`` distinct crops from."""
    height, width = dataset.images.shape[1:3]
    per_image = dataset.images.shape[3] * (height - linear_regions.CROP + 1) * (width - linear_regions.CROP + 1)
    pick = torch.randperm(len(dataset), generator=gen)[:math.ceil(CROPS / per_image)].numpy()
    return dataset.tensors(pick, device)[0]


def _without(mask: np.ndarray, edge: int, op: int) -> np.ndarray:
    trial = mask.copy()
    trial[edge, op] = False
    return trial


def _mix(mask: np.ndarray) -> torch.Tensor:
    m = torch.tensor(mask, dtype=torch.float32)
    return m / m.sum(dim=1, keepdim=True)


def _drop(before: float, after: float) -> float:
    """The relative drop; 0 where either is not finite (a singular NTK)."""
    value = (before - after) / before if before else 0.0
    return round(value, PRECISION) if math.isfinite(value) else 0.0


def _regions(thin: nn.Module, mix: torch.Tensor, crops: torch.Tensor) -> int:
    thin[0].mix = mix
    with torch.no_grad():
        codes = [torch.cat(relu_codes(thin, part), dim=1) for part in crops.split(CROP_BATCH)]
    return count_distinct(pack_rows(torch.cat(codes)))


def _kaiming(net: nn.Module, gen: torch.Generator, fan_in: bool) -> None:
    """Kaiming-normal convolution and linear weights (ReLU gain), from ``gen``."""
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan = m.weight[0].numel() if fan_in else m.weight.shape[0] * m.weight[0, 0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan))
                if m.bias is not None:
                    m.bias.zero_()


def _cell(space, mask: np.ndarray) -> tuple:
    """The first op left on every edge (the cell once one is left per edge)."""
    return space.validate(tuple(space.supernet_ops[int(np.flatnonzero(row)[0])] for row in mask))
