"""knas.ui.explore: the Explorer's facts about a cell."""
from knas import fmt
from knas.spaces.nb201 import costs, cells as space
from knas.ui import explore
from tests.conftest import NB201


def test_neighbour_rows(truth):
    rows = explore.neighbour_rows(NB201, 6111, truth)
    assert len(rows) == 24
    assert list(rows["index"]) == [space.index_of(a) for a in space.neighbours(space.arch_at(6111))]
    assert rows["cifar10_test"].notna().all()
    assert "cifar10_test" not in explore.neighbour_rows(NB201, 6111).columns


def test_recorded_params_agree_within_the_tables_rounding():
    arch = space.arch_at(6111)
    ours = costs.count_params(arch) / 1e6
    assert explore.recorded_params_agree(NB201, round(ours, 6), arch)
    assert not explore.recorded_params_agree(NB201, round(ours, 6) + 2e-6, arch)


def test_rank_in_space_names_6111_the_best_on_cifar10_test(truth):
    assert explore.rank_in_space(truth, "cifar10_test", 6111) == (1, 15625)
    assert explore.rank_text(1, 15625, "CIFAR-10 test") == "the best of 15,625 on CIFAR-10 test"
    worst = int(truth["cifar10_test"].idxmin())
    rank, total = explore.rank_in_space(truth, "cifar10_test", worst)
    assert rank == 1 + int((truth["cifar10_test"] > truth.at[worst, "cifar10_test"]).sum())
    assert explore.rank_text(1203, 15625, "x") == "1,203rd of 15,625 on x (top 7.7%)"
    assert explore.rank_text(3, 15625, "x") == "3rd of 15,625 on x"  # not "top 0.0%"
    assert [fmt.ordinal(n) for n in (2, 11, 12, 13, 21, 22, 111, 1001)] == \
        ["2nd", "11th", "12th", "13th", "21st", "22nd", "111th", "1,001st"]
