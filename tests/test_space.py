import pytest

from knas.spaces.nb201 import cells as space
from knas.spaces.nb201.cells import ArchError

ARCH0 = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"


def test_space_size_and_round_trip():
    archs = space.all_archs()
    assert len(archs) == space.N_ARCHS == 15625
    assert len(set(archs)) == 15625
    for i in (0, 1, 777, 15624):
        arch = space.arch_at(i)
        assert space.index_of(space.to_str(arch)) == i
        assert space.parse(space.to_str(arch)) == arch


def test_benchmark_order_fixed_points():
    # The asserts NAS-Bench-201's generate_meta_info makes about its own shuffle.
    assert space.to_str(space.arch_at(0)) == ARCH0
    assert space.to_str(space.arch_at(9)) == (
        "|avg_pool_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    assert space.to_str(space.arch_at(123)) == (
        "|avg_pool_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|avg_pool_3x3~1|nor_conv_3x3~2|")


def test_index_order_matches_shared_truth(shared_data):
    import csv

    with open(shared_data / "nb201" / "nb201_accuracies.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 15625
    mismatches = [r["index"] for r in rows if space.to_str(space.arch_at(int(r["index"]))) != r["arch_str"]]
    assert mismatches == []


@pytest.mark.parametrize("text, message", [
    ("", "empty"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|", "expected 3 nodes"),
    ("|conv_5x5~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "unknown op 'conv_5x5'"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "node 2 must have 2 incoming"),
    ("|nor_conv_3x3~1|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "input node must be 0, got '1'"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~2|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "input node must be 1, got '2'"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|x", "stray characters"),
    ("|nor_conv_3x3|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "lacks '~"),
    ("|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~a|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|", "got 'a'"),
])
def test_malformed_strings_have_specific_errors(text, message):
    with pytest.raises(ArchError, match=message.replace("|", r"\|").replace("(", r"\(")):
        space.parse(text)


def test_bad_index_and_tuple():
    with pytest.raises(ArchError, match="out of range"):
        space.arch_at(15625)
    with pytest.raises(ArchError, match="6 edges"):
        space.validate(("none",) * 5)
    with pytest.raises(ArchError, match="unknown op"):
        space.validate(("none",) * 5 + ("max_pool",))


def test_sample_is_seeded_and_without_replacement():
    a = space.sample(500, seed=3)
    assert a == space.sample(500, seed=3)
    assert a != space.sample(500, seed=4)
    assert len(set(a)) == 500 and all(0 <= i < 15625 for i in a)
    assert sorted(space.sample(15625, seed=0)) == list(range(15625))
    with pytest.raises(ValueError, match="cannot sample 15626"):
        space.sample(15626, seed=0)


def test_neighbours_differ_on_exactly_one_edge():
    arch = space.parse(ARCH0)
    nbrs = space.neighbours(arch)
    assert len(nbrs) == 24 and len(set(nbrs)) == 24 and arch not in nbrs
    assert all(sum(a != b for a, b in zip(arch, n)) == 1 for n in nbrs)


def test_canonical_merges_equivalent_cells():
    # Node 2 does not reach the output: what sits on its edges cannot matter.
    a = ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "none")
    b = ("nor_conv_3x3", "none", "skip_connect", "skip_connect", "nor_conv_3x3", "none")
    assert space.canonical(a) == space.canonical(b)
    # conv(x) reached through a skip edge equals conv(x) taken directly.
    c = ("skip_connect", "none", "none", "none", "nor_conv_3x3", "none")
    d = ("none", "none", "none", "nor_conv_3x3", "none", "none")
    assert space.canonical(c) == space.canonical(d)
    # Cells whose output never sees the input all compute zero.
    assert space.canonical(("none",) * 6) == space.canonical(
        ("nor_conv_3x3", "none", "none", "none", "none", "none")) == "zero"
    # Different ops stay different; two parallel convs are not one conv.
    assert space.canonical(d) != space.canonical(("none", "none", "none", "nor_conv_1x1", "none", "none"))
    e = ("skip_connect", "none", "none", "nor_conv_3x3", "nor_conv_3x3", "none")
    assert space.canonical(e) != space.canonical(d)


def test_unique_function_counts():
    assert space.count_unique() == 5273
    groups = space.canonical_groups()
    assert sum(len(v) for v in groups.values()) == 15625
    # NAS-Bench-201's looser key gives the 6,466 it reports.
    assert len({space.benchmark_isomorphism_key(a) for a in space.all_archs()}) == 6466


def test_live_edges():
    arch = ("nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3", "skip_connect", "nor_conv_3x3", "none")
    assert space.live_edges(arch) == (True, False, False, True, True, False)
    assert space.live_edges(("none",) * 6) == (False,) * 6


@pytest.mark.parametrize("typed, meant", [("conv3x3", "nor_conv_3x3"), ("conv1x1", "nor_conv_1x1"),
                                          ("pool", "avg_pool_3x3"), ("skip", "skip_connect"),
                                          ("Nor-Conv-3x3", "nor_conv_3x3")])
def test_a_mistyped_op_gets_a_hint(typed, meant):
    text = CELL_6111_TEMPLATE.format(typed)
    with pytest.raises(space.ArchError, match=f"did you mean {meant}\\?"):
        space.parse(text)
    with pytest.raises(space.ArchError, match=f"did you mean {meant}\\?"):
        space.validate((typed,) + ("none",) * 5)
    assert space.did_you_mean("identity") == "" and space.did_you_mean("conv") == ""


CELL_6111_TEMPLATE = "|{}~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|"
