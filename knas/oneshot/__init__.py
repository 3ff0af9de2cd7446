"""One-shot searches: one supernet (every op on every edge, ``SearchSpace.build_supernet``) stands
in for all cells, and one run derives one cell. DARTS and GDAS train it by weight sharing
(``knas.oneshot.gradient``); TE-NAS prunes it at initialisation (``knas.oneshot.tenas``). Each
checks its settings and the space before any work, yields ``Progress`` events, checkpoints, and
returns a ``OneShotResult`` with its measured seconds.
"""
from __future__ import annotations

from knas.oneshot.common import (METHODS, PUBLISHED_EPOCHS, Cancelled, OneShotError,
                                 OneShotResult, OneShotSettings, Progress)

__all__ = ["METHODS", "PUBLISHED_EPOCHS", "Cancelled", "OneShotError", "OneShotResult",
           "OneShotSettings", "Progress", "search"]


def search(space, dataset, settings: OneShotSettings, device="cpu", should_stop=None,
           checkpoint=None):
    """The generator of ``settings.method``'s run (see its module)."""
    if settings.method == "tenas":
        from knas.oneshot import tenas as module
    else:
        from knas.oneshot import gradient as module
    return module.search(space, dataset, settings, device, should_stop, checkpoint)
