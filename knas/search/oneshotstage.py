"""A one-shot search (``knas.oneshot``: DARTS, GDAS, TE-NAS) as one method of a search: it runs on
the search's own training data and device, checkpoints under the cache root per job, method and
repeat (a cancelled or killed job resumes where it stopped), reports each step as an ``Evaluated``
event (the cell it would derive now and that cell's test accuracy, for the anytime plot), and
then puts its derived cell through the fine stage: a lookup where a table exists, else training.
Its cost is measured: the supernet's seconds on this device, plus the fine stage's training.
"""
from __future__ import annotations

import time

from knas import paths
from knas.errors import Cancelled
from knas.search.events import Evaluated, MethodResult
from knas.search.specs import Method


def run(search, method: str, spec: Method, repeat: int, seed: int, stage):
    """Yield the search's events; return its ``MethodResult``. ``search`` is the running
    ``knas.search.pipeline.Search`` (its space, data, device, truth and fine stage)."""
    import knas.oneshot as oneshot
    from knas.oneshot.common import settings_for
    from knas.scoring import scorer

    space, cfg = search.space, search.config
    settings = settings_for(spec.oneshot, len(search.dataset), spec.epochs, seed)
    device = scorer.resolve_device(cfg.device)
    checkpoint = paths.root() / "oneshot" / f"{cfg.key()}-{method.replace(':', '-')}-{repeat}.pt"
    steps = oneshot.search(space, search.dataset, settings, device, search.should_stop, checkpoint)
    while True:
        try:
            progress = next(steps)
        except StopIteration as stop:
            result = stop.value
            break
        except oneshot.Cancelled:
            raise Cancelled() from None
        index = space.index_of(space.parse(progress.arch))
        yield Evaluated(method=method, repeat=repeat, step=progress.step, index=index,
                        seconds=progress.seconds, clock=progress.seconds, best_index=index,
                        best_test=search._test_accuracy(index), steps_total=progress.steps)
    fine_start = time.time()
    fine_scores, trained = yield from search._fine(stage, [result.index], method, repeat, seed)
    fine_seconds = time.time() - fine_start
    return MethodResult(  # the supernet's seconds are training too: measured, on this device
        method=method, repeat=repeat, seed=seed, chosen=result.index, arch_str=result.arch,
        test_accuracy=search._test_accuracy(result.index), fine_score=fine_scores[result.index],
        topk=[result.index], fine_seconds=result.seconds + fine_seconds, networks_trained=trained,
        search_seconds=result.seconds + (fine_seconds if trained else 0.0),
        **search._deployed(result.index, fine_scores))
