"""Build the real PyTorch network for all 15,625 cells and compare parameter counts with a table.

    python -m benchmarks.check_params_all --truth ../shared/data/nb201/nb201_accuracies.csv

Prints the number of built networks whose count differs from the closed form (must be 0), and
the mismatches against the table, split into the benchmark's known isomorphic-copy records and
real mismatches (must be 0). Takes a few minutes on a 2-core CPU.
"""
import argparse
import time

from knas.data import benchmark
from knas.data import check
from knas.spaces.nb201 import costs, nets, cells as space
from knas import spaces

NB201 = spaces.get("nb201")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--truth", required=True)
    args = parser.parse_args()
    table = benchmark.load_table(args.truth)
    start = time.time()
    closed_form_mismatches = 0
    for index in table.index:
        arch = space.arch_at(int(index))
        for num_classes in (10, 100, 120):
            built = sum(p.numel() for p in nets.build(arch, num_classes).parameters())
            closed_form_mismatches += built != costs.count_params(arch, num_classes)
    report = check.check_table(table, NB201)
    print(f"built networks: {len(table)} cells x 3 heads in {time.time() - start:.0f} s")
    print(f"built vs closed-form parameter count mismatches: {closed_form_mismatches}")
    for line in report.lines():
        print(line)
    print(f"real mismatches (not the benchmark's known defect): {len(report.params_mismatches)}")


if __name__ == "__main__":
    main()
