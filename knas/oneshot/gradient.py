"""Differentiable weight-sharing search: DARTS (first order) and GDAS on a space's supernet.

- DARTS: Liu, Simonyan & Yang, "DARTS: Differentiable Architecture Search", ICLR 2019. One
  architecture parameter per edge and op (initialised 1e-3 N(0, 1)); an edge mixes its ops by
  the softmax of its parameters. First order ("DARTS-V1" in NAS-Bench-201): each step updates
  the architecture on a validation batch with the current weights, then the weights on a
  training batch.
- GDAS: Dong & Yang, "Searching for a Robust Neural Architecture in Four GPU Hours", CVPR 2019.
  Each forward samples one op per edge by Gumbel-softmax at temperature tau (straight-through:
  one-hot forward, soft gradient) and runs only that op; tau falls linearly from 10 to 0.1
  over the epochs. Weights and architecture step on the same two batches as DARTS.

Settings follow NAS-Bench-201's runs (Dong & Yang, ICLR 2020; D-X-Y/AutoDL-Projects
configs/nas-benchmark/algos/DARTS.config and GDAS.config, scripts-search/NAS-Bench-201-algos):
the data's training split halved into the weights' and the architecture's halves (the
  weights step first, then the architecture, as in their DARTS-V1.py and GDAS.py), batch 64, SGD
(Nesterov, momentum 0.9, weight decay 5e-4, learning rate 0.025 cosine to 0.001, gradient norm
clipped at 5), architecture Adam (3e-4, betas (0.5, 0.999), weight decay 1e-3), 50 epochs for
DARTS and 250 for GDAS, the benchmark's 16 channels and 5 cells per stage. The derived cell is the
arg-max op of every edge. A CPU run passes a smaller ``steps``, ``channels`` and ``n_cells``.
Augmentation: none (the supernet sees the images as the scorer does).

``search`` is a generator of ``Progress`` events returning a ``OneShotResult``; it checkpoints
to a file every ``checkpoint_every`` steps (and when cancelled) and resumes from it.
"""
from __future__ import annotations

import time

import numpy as np
import torch
import torch.nn.functional as F

from knas.data import samples
from knas.oneshot.common import (Cancelled, OneShotError, OneShotResult, OneShotSettings,
                                 Progress, check_space, data_id, load_checkpoint, save_checkpoint)

GRAD_CLIP = 5.0
TAU_MAX, TAU_MIN = 10.0, 0.1  # GDAS


def search(space, dataset, settings: OneShotSettings, device="cpu", should_stop=None,
           checkpoint=None):
    """Run ``settings.method`` (darts or gdas) on ``dataset`` (a training split)."""
    check_space(space)
    if settings.method not in ("darts", "gdas"):
        raise OneShotError(f"{settings.method} is not a differentiable search")
    if len(dataset) < 2:
        raise OneShotError(f"{len(dataset)} training images cannot be halved into the weights' "
                           "and the architecture's data")
    should_stop = should_stop or (lambda: False)
    data = data_id(dataset)
    start = time.perf_counter()
    torch.manual_seed(settings.seed)
    net = space.build_supernet(dataset.num_classes, settings.channels, settings.n_cells).to(device)
    alphas = (1e-3 * torch.randn(net.mix.shape)).to(device).requires_grad_()
    w_optim = torch.optim.SGD(net.parameters(), lr=settings.lr, momentum=0.9, weight_decay=5e-4,
                              nesterov=True)
    a_optim = torch.optim.Adam([alphas], lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(w_optim, settings.steps, eta_min=1e-3)
    generator = torch.Generator().manual_seed(settings.seed)
    weights_half, arch_half = samples.split_train_val(dataset, 0.5, settings.seed)
    step, spent, history = 0, 0.0, []
    state = load_checkpoint(checkpoint, settings, data)
    if state is not None:
        net.load_state_dict(state["net"])
        with torch.no_grad():
            alphas.copy_(state["alphas"])
        w_optim.load_state_dict(state["w_optim"])
        a_optim.load_state_dict(state["a_optim"])
        schedule.load_state_dict(state["schedule"])
        generator.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        step, spent, history = state["step"], state["seconds"], state["history"]

    def snapshot():
        save_checkpoint(checkpoint, settings, data, {
            "net": net.state_dict(), "alphas": alphas.detach().cpu(), "w_optim": w_optim.state_dict(),
            "a_optim": a_optim.state_dict(), "schedule": schedule.state_dict(),
            "generator": generator.get_state(), "torch_rng": torch.get_rng_state(), "step": step,
            "seconds": spent + time.perf_counter() - start, "history": history})

    while step < settings.steps:
        if should_stop():
            snapshot()
            raise Cancelled(f"{settings.method} cancelled at step {step} of {settings.steps}; "
                            "a rerun resumes from the checkpoint")
        tau = TAU_MAX - (TAU_MAX - TAU_MIN) * step / max(settings.steps - 1, 1)
        x_w, y_w = _batch(dataset, weights_half, settings.batch_size, generator, device)
        x_a, y_a = _batch(dataset, arch_half, settings.batch_size, generator, device)
        net.train()
        w_optim.zero_grad(set_to_none=True)  # the weights first, then the architecture (as theirs)
        _set_mix(net, alphas.detach(), settings.method, tau)
        loss = F.cross_entropy(net(x_w), y_w)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(net.parameters(), GRAD_CLIP)
        w_optim.step()
        schedule.step()
        a_optim.zero_grad(set_to_none=True)
        _set_mix(net, alphas, settings.method, tau)
        F.cross_entropy(net(x_a), y_a).backward()
        a_optim.step()
        step += 1
        history.append(float(loss.detach()))
        if step % settings.checkpoint_every == 0 or step == settings.steps:
            snapshot()
        yield Progress(settings.method, step, settings.steps, history[-1],
                       space.format(derive(space, alphas)), spent + time.perf_counter() - start)
    arch = derive(space, alphas)
    return OneShotResult(settings.method, space.index_of(arch), space.format(arch),
                         spent + time.perf_counter() - start, step,
                         alphas.detach().cpu().numpy().round(6).tolist(), tuple(history))


def _batch(dataset, indices: np.ndarray, size: int, generator: torch.Generator, device):
    pick = torch.randint(0, len(indices), (size,), generator=generator).numpy()
    return samples.to_tensors(dataset, indices[pick], device)


def _set_mix(net, alphas: torch.Tensor, method: str, tau: float) -> None:
    if method == "darts":
        net.mix, net.chosen = alphas.softmax(dim=1), None
        return
    while True:  # GDAS's sample; drawn again in the (float) case of an inf or nan
        gumbels = -torch.empty_like(alphas).exponential_().log()
        probs = ((alphas.log_softmax(dim=1) + gumbels) / tau).softmax(dim=1)
        if torch.isfinite(probs).all():
            break
    chosen = probs.argmax(dim=1)
    one_hot = torch.zeros_like(probs).scatter_(1, chosen[:, None], 1.0)
    net.mix, net.chosen = one_hot - probs.detach() + probs, chosen.tolist()


def derive(space, alphas: torch.Tensor) -> tuple:
    """The arg-max op of every edge (the first on ties)."""
    choices = space.supernet_ops
    return space.validate(tuple(choices[int(k)] for k in alphas.detach().argmax(dim=1)))

