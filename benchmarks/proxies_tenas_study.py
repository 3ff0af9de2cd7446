"""TE-NAS, SWAP, Zen-score and the Gram-matrix scores on random NAS-Bench-201 cells: CPU seconds per
network (one torch thread) and Spearman rho against NAS-Bench-201 accuracy.

    python -m benchmarks.proxies_tenas_study --data ../shared/data/cifar10/cifar10_small.npz \\
        --truth ../shared/data/nb201/nb201_accuracies.csv --archs 100 --seed 0 --n 32

Each cell's own network is built after ``torch.manual_seed(seed)`` and scored on the batch the
scorer would use (``scorer.make_batch``). A function that serves several entries (``gram``) runs
once per network. Smaller-is-better scores are negated before rho, so a useful proxy has rho > 0.
"""
import argparse
import time

import numpy as np
import pandas as pd
import torch

from knas.data import readers
from knas.spaces.nb201 import nets, cells as space
from knas import proxies
from knas.scoring import scorer
from knas.results import stats
from knas import spaces

NB201 = spaces.get("nb201")

ENTRIES = ["te_ntk_cond", "te_linear_regions", "swap", "swap_reg", "zen",
           "gram_trace", "gram_cond", "gram_coherence", "mgm"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--truth", required=True)
    parser.add_argument("--archs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--column", default="cifar10_test")
    parser.add_argument("--out", default=None, help="CSV of every score and time")
    args = parser.parse_args()

    torch.set_num_threads(1)
    batch = scorer.make_batch(readers.load_named("cifar10", args.data), args.n, args.seed, NB201)
    functions: dict[str, list[str]] = {}
    for name in ENTRIES:
        functions.setdefault(proxies.info(name).function, []).append(name)
    rows = []
    for i, index in enumerate(space.sample(args.archs, args.seed)):
        row = {"index": index}
        for function, names in functions.items():
            torch.manual_seed(args.seed)
            net = nets.build(space.arch_at(index), batch.num_classes)
            start = time.process_time()
            value = proxies.shared_function(names[0])(net, batch.x, batch.y)
            row[f"cpu_s:{function}"] = time.process_time() - start
            row.update(value if isinstance(value, dict) else {names[0]: value})
        rows.append(row)
        print(f"{i + 1}/{args.archs} cell {index}: "
              + ", ".join(f"{k}={row[k]:.4g}" for k in ENTRIES), flush=True)
    frame = pd.DataFrame(rows).set_index("index")
    if args.out:
        frame.to_csv(args.out)
    truth = pd.read_csv(args.truth).set_index("index")[args.column].reindex(frame.index)
    print(f"\n{len(frame)} cells (space.sample({args.archs}, {args.seed})), n={args.n}, "
          f"seed {args.seed}, one torch thread; rho against {args.column}")
    print(f"{'entry':18s} {'direction':9s} {'rho':>7s} {'non-finite':>10s}   cpu s/network (mean, median, max)")
    for function, names in functions.items():
        seconds = frame[f"cpu_s:{function}"]
        for name in names:
            sign = 1 if proxies.info(name).bigger_is_better else -1
            scores = sign * frame[name].astype(float)
            rho = stats.spearman(scores, truth)
            print(f"{name:18s} {'bigger' if sign > 0 else 'smaller':9s} {rho:7.3f} "
                  f"{int((~np.isfinite(scores)).sum()):10d}   {function}: {seconds.mean():.2f}, "
                  f"{seconds.median():.2f}, {seconds.max():.2f}")


if __name__ == "__main__":
    main()
