"""``python -m knas oneshot``: check every input, load the data, run one one-shot search with
progress on stderr, and print the derived cell (with its accuracy when a truth table is given).
Torch is imported only after the checks."""
from __future__ import annotations

import math
import sys
from pathlib import Path

from knas.oneshot.common import METHODS, OneShotError, OneShotSettings, check_space, settings_for


def settings_from(args, train_images: int) -> OneShotSettings:
    """The run's settings: the method's published budget unless ``--steps`` or ``--epochs``."""
    if args.method == "tenas":
        return settings_for("tenas", train_images, seed=args.seed, repeat=args.repeat,
                            **({"batch_size": args.batch_size} if args.batch_size else {}))
    if args.steps and args.epochs:
        raise OneShotError("give --steps or --epochs, not both")
    fields = {"batch_size": args.batch_size or 64, "channels": args.channels, "n_cells": args.cells}
    if args.steps:
        return OneShotSettings(args.method, steps=args.steps, seed=args.seed, **fields)
    return settings_for(args.method, train_images, args.epochs, args.seed, **fields)


def main(args, space) -> int:
    from knas.search.config import ScoreConfig

    if args.method not in METHODS:
        raise OneShotError(f"unknown --method {args.method!r}; known: {', '.join(METHODS)}")
    check_space(space)
    settings_from(args, 2)  # every value checked before the data are read
    ScoreConfig(dataset=args.dataset, data=args.data, space=space.spec,
                device=args.device).validate()
    truth = None
    if args.truth:
        from knas.data import benchmark

        truth = benchmark.load_table(args.truth, space)
        column = args.column or space.truth_columns(args.dataset).test
        benchmark.numeric_column(truth, column)
    if args.checkpoint and Path(args.checkpoint).is_dir():
        raise OneShotError(f"--checkpoint {args.checkpoint} is a folder; give a file name")
    dataset = space.load_data(args.dataset, args.data)
    settings = settings_from(args, len(dataset))

    import knas.oneshot as oneshot
    from knas.scoring import scorer

    device = scorer.resolve_device(args.device)
    print(f"{METHODS[settings.method]} on {args.dataset} ({len(dataset):,} images), {device}: "
          f"{settings}", file=sys.stderr)
    run = oneshot.search(space, dataset, settings, device, checkpoint=args.checkpoint)
    while True:
        try:
            event = next(run)
        except StopIteration as stop:
            result = stop.value
            break
        loss = "" if math.isnan(event.loss) else f" loss {event.loss:.3f}"
        print(f"{event.method} {event.step}/{event.steps}{loss} {event.arch}", file=sys.stderr)
    print(f"cell {result.arch} (index {result.index}); {result.seconds:.1f} s on {device}")
    if truth is not None:
        value = truth[column].get(result.index)
        print(f"{column}: " + ("not in the table" if value is None or math.isnan(value) else f"{value:.2f}"))
    return 0
