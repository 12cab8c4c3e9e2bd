"""Motif hierarchy (``behavnb.hierarchy``): transition counts per recording (never across sessions, animals or
gaps), probabilities and their convergence, stationary distribution and entropy rate, group means, the graph;
every tree method cut at every depth and number, linkage export and JSON round trip, VAME's merge costs;
bootstrap stability on planted and shuffled structure; community labels and usage; choosing a cut."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy.cluster.hierarchy import is_valid_linkage

from behavnb import hierarchy as h
from behavnb.errors import DataWarning, ParameterError


def table(*recordings, shuffle_seed=None):
    """A labels table from ``(session, individual, motifs[, frames])`` tuples (frames default to 0..n-1)."""
    parts = []
    for rec in recordings:
        s, i, y = rec[:3]
        f = np.arange(len(y)) if len(rec) < 4 else np.asarray(rec[3])
        parts.append(pd.DataFrame({"session": s, "individual": i, "frame": f, "time": f / 30.0,
                                   "motif": np.asarray(y, np.int64)}))
    out = pd.concat(parts, ignore_index=True)
    if shuffle_seed is not None:
        out = out.sample(frac=1.0, random_state=shuffle_seed).reset_index(drop=True)
    return out


def counts_of(labels, k, bout=False):
    """The ``(recording, k, k)`` numpy counts, without the single-motif warning."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        return h.transition_counts(labels, k, self_transitions=not bout).values


def mat(k, *pairs):
    """A k x k count matrix with ``(from, to, count)`` entries."""
    m = np.zeros((k, k), np.int64)
    for a, b, c in pairs:
        m[a, b] += c
    return m


# --------------------------------------------------------------------------------------------------------
# transition counts


def test_counts_frame_and_bout_level_exact():
    """Frame level counts every consecutive pair including self-transitions; bout level only motif changes."""
    lab = table(("A", "a", [0, 0, 1, 1, 1, 2, 0, 0]))
    frame = counts_of(lab, 3)
    assert frame.shape == (1, 3, 3)
    np.testing.assert_array_equal(frame[0], mat(3, (0, 0, 2), (0, 1, 1), (1, 1, 2), (1, 2, 1), (2, 0, 1)))
    bout = counts_of(lab, 3, bout=True)
    np.testing.assert_array_equal(bout[0], mat(3, (0, 1, 1), (1, 2, 1), (2, 0, 1)))
    assert np.trace(bout[0]) == 0
    assert frame.sum() == len(lab) - 1


def test_counts_coords_and_attrs():
    """The DataArray has one recording per session/animal with session and individual coordinates."""
    lab = table(("A", "a", [0, 1]), ("B", "b", [1, 0]))
    c = h.transition_counts(lab, 2, self_transitions=False)
    assert c.dims == ("recording", "from_motif", "to_motif")
    assert list(c["recording"].values) == ["A/a", "B/b"]
    assert list(c["session"].values) == ["A", "B"] and list(c["individual"].values) == ["a", "b"]
    assert c.attrs["self_transitions"] == 0
    assert h.transition_counts(lab, 2).attrs["self_transitions"] == 1


def test_counts_never_cross_sessions():
    """Session A ends in motif 2 and session B starts in motif 0: no 2 -> 0 transition is counted anywhere."""
    lab = table(("A", "a", [0, 1, 2]), ("B", "a", [0, 1, 1]))
    for bout in (False, True):
        c = counts_of(lab, 3, bout)
        assert c.shape == (2, 3, 3)
        assert c[:, 2, 0].sum() == 0
        np.testing.assert_array_equal(c[0], mat(3, (0, 1, 1), (1, 2, 1)))
        np.testing.assert_array_equal(c[1], mat(3, (0, 1, 1)) if bout else mat(3, (0, 1, 1), (1, 1, 1)))


def test_counts_two_individuals_in_one_session():
    """Two animals of one session, rows interleaved by frame: each animal's sequence is counted on its own."""
    a = [0, 0, 1, 1]
    b = [2, 2, 0, 2]
    lab = table(("S", "a", a), ("S", "b", b)).sort_values(["frame", "individual"]).reset_index(drop=True)
    c = counts_of(lab, 3)
    np.testing.assert_array_equal(c[0], mat(3, (0, 0, 1), (0, 1, 1), (1, 1, 1)))
    np.testing.assert_array_equal(c[1], mat(3, (2, 2, 1), (2, 0, 1), (0, 2, 1)))
    cb = counts_of(lab, 3, bout=True)
    np.testing.assert_array_equal(cb[0], mat(3, (0, 1, 1)))
    np.testing.assert_array_equal(cb[1], mat(3, (2, 0, 1), (0, 2, 1)))


def test_counts_independent_of_row_order():
    """Shuffling the rows of the labels table gives identical counts and recording order."""
    rng = np.random.default_rng(3)
    recs = [(s, i, rng.integers(0, 4, 50)) for s in ("s1", "s0") for i in ("b", "a")]
    ref = h.transition_counts(table(*recs), 4)
    for seed in (0, 1):
        for st in (True, False):
            got = h.transition_counts(table(*recs, shuffle_seed=seed), 4, self_transitions=st)
            want = h.transition_counts(table(*recs), 4, self_transitions=st)
            np.testing.assert_array_equal(got.values, want.values)
            assert list(got["recording"].values) == list(ref["recording"].values)


def test_unlabelled_frames_break_the_sequence():
    """Motif -1 frames count nothing into or out of them: x, -1, y gives no x -> y, also at bout level."""
    lab = table(("A", "a", [0, 0, -1, 1, 1, -1, -1, 0, 2]))
    np.testing.assert_array_equal(counts_of(lab, 3)[0], mat(3, (0, 0, 1), (1, 1, 1), (0, 2, 1)))
    np.testing.assert_array_equal(counts_of(lab, 3, bout=True)[0], mat(3, (0, 2, 1)))
    # the same motif on both sides of a -1 is no self-transition at frame level either
    lab = table(("A", "a", [1, -1, 1]))
    assert counts_of(lab, 2).sum() == 0


def test_frame_gaps_break_the_sequence():
    """Missing frame numbers break the sequence: no transition over the gap at frame or bout level."""
    lab = table(("A", "a", [0, 0, 1, 2, 2], [0, 1, 2, 5, 6]))
    np.testing.assert_array_equal(counts_of(lab, 3)[0], mat(3, (0, 0, 1), (0, 1, 1), (2, 2, 1)))
    np.testing.assert_array_equal(counts_of(lab, 3, bout=True)[0], mat(3, (0, 1, 1)))


def test_n_motifs_too_small_raises():
    """n_motifs below the largest label + 1 is a ParameterError; n_motifs above it pads with zero rows; without
    n_motifs, k comes from the labels' metadata and is never guessed from the largest label."""
    lab = table(("A", "a", [0, 1, 3]))
    with pytest.raises(ParameterError, match="n_motifs"):
        h.transition_counts(lab, 3)
    c = h.transition_counts(lab, 6)
    assert c.shape == (1, 6, 6) and c.values[0, 4:].sum() == 0
    with pytest.raises(ParameterError, match="pass n_motifs"):
        h.transition_counts(lab)
    lab.attrs["n_motifs"] = 5
    assert h.transition_counts(lab).shape == (1, 5, 5)
    with pytest.raises(ParameterError, match="labels table"):
        h.transition_counts(lab.drop(columns="frame"), 4)


def test_single_motif_session_warns_and_stays_finite():
    """One motif throughout: a DataWarning, an all-zero bout-level matrix, zero (not NaN) probabilities, and
    stationary / entropy_rate / animal_summary still work."""
    lab = table(("A", "a", [2] * 20))
    with pytest.warns(DataWarning, match="never switch"):
        c = h.transition_counts(lab, 3, self_transitions=False)
    assert (c.values == 0).all()
    p = h.probabilities(c)
    assert np.isfinite(p.values).all() and (p.values == 0).all()
    pi = h.stationary(p.values[0])
    assert np.isfinite(pi).all() and np.isclose(pi.sum(), 1.0)
    assert h.entropy_rate(p.values[0]) == 0.0
    summary = h.animal_summary(c)
    assert len(summary) == 1 and summary["n_transitions"].iloc[0] == 0
    # only the single-motif recording is named; a normal one beside it does not warn on its own
    with pytest.warns(DataWarning, match="A/a"):
        h.transition_counts(table(("A", "a", [2] * 5), ("B", "a", [0, 1, 0])), 3, self_transitions=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error", DataWarning)
        h.transition_counts(table(("B", "a", [0, 1, 0])), 3, self_transitions=False)


def simulate(p, n_bouts, n_sessions, rng):
    """A labels table from a Markov chain over bouts (transition matrix ``p``, no self-transitions), each bout
    1-4 frames long, split into ``n_sessions`` sessions of one animal."""
    cum = np.cumsum(p, axis=1)
    parts = []
    for s, n in enumerate(np.diff(np.linspace(0, n_bouts, n_sessions + 1).astype(int))):
        u = rng.random(n)
        states = np.empty(n, np.int64)
        states[0] = rng.integers(len(p))
        for t in range(1, n):
            states[t] = min(np.searchsorted(cum[states[t - 1]], u[t], side="right"), len(p) - 1)
        parts.append((f"s{s}", "a", np.repeat(states, rng.integers(1, 5, n))))
    return table(*parts)


TRUE_P = np.array([[0.0, 0.6, 0.3, 0.1],
                   [0.2, 0.0, 0.5, 0.3],
                   [0.5, 0.25, 0.0, 0.25],
                   [0.1, 0.1, 0.8, 0.0]])


def test_pooled_probabilities_converge_to_the_truth():
    """Bout-level pooled probabilities of a simulated 4-state chain approach the true matrix as data grow:
    the max abs error falls with 200 -> 2,000 -> 20,000 bouts and is below 0.03 at the largest."""
    rng = np.random.default_rng(0)
    errors = []
    for n_bouts in (200, 2000, 20000):
        c = h.transition_counts(simulate(TRUE_P, n_bouts, 4, rng), 4, self_transitions=False)
        assert c.sizes["recording"] == 4
        assert int(c.sum()) == n_bouts - 4  # one fewer transition than bouts per session
        p = h.pooled(c)
        np.testing.assert_allclose(p.values.sum(axis=1), 1.0)
        errors.append(float(np.abs(p.values - TRUE_P).max()))
    assert errors[0] > errors[1] > errors[2], errors
    assert errors[2] < 0.03, errors


def test_pooled_by_group():
    """``pooled`` with a groups mapping sums counts per group before normalising."""
    lab = table(("A", "a", [0, 1, 0, 1, 0]), ("B", "a", [0, 2, 0]), ("C", "a", [0, 1, 0, 2]))
    c = h.transition_counts(lab, 3, self_transitions=False)
    g = h.pooled(c, {"A": "ctl", "B": "ctl", "C": "drug"})
    assert list(g["group"].values) == ["ctl", "drug"]
    np.testing.assert_allclose(g.sel(group="ctl").values[0], [0, 2 / 3, 1 / 3])
    np.testing.assert_allclose(g.sel(group="drug").values[0], [0, 0.5, 0.5])
    np.testing.assert_allclose(g.sel(group="drug").values[1], [1.0, 0, 0])
    np.testing.assert_allclose(g.sel(group="ctl").values[1], [1.0, 0, 0])


def test_group_mean_weights_animals_equally():
    """``group_mean`` averages the animals' probability matrices: 10 transitions 0 -> 1 in one animal and 1
    transition 0 -> 2 in another give 0.5 / 0.5, not the pooled 10/11."""
    lab = table(("A", "a", [0, 1] * 10), ("B", "a", [0, 2]), ("C", "a", [0, 2, 0]))
    p = h.probabilities(h.transition_counts(lab, 3, self_transitions=False))
    m = h.group_mean(p, {"A": "g1", "B": "g1", "C": "g2"})
    np.testing.assert_allclose(m.sel(group="g1").values[0], [0, 0.5, 0.5])
    np.testing.assert_allclose(m.sel(group="g2").values[0], [0, 0, 1.0])
    assert not np.isclose(h.pooled(h.transition_counts(lab.query("session != 'C'"), 3,
                                                       self_transitions=False)).values[0, 1], 0.5)


def test_stationary_matches_analytic():
    """A two-state chain's stationary distribution is (b, a) / (a + b); a 3-state one satisfies pi P = pi."""
    a, b = 0.3, 0.1
    p = np.array([[1 - a, a], [b, 1 - b]])
    np.testing.assert_allclose(h.stationary(p), [b / (a + b), a / (a + b)], atol=1e-12)
    np.testing.assert_allclose(h.stationary(TRUE_P) @ TRUE_P, h.stationary(TRUE_P), atol=1e-12)
    # doubly stochastic -> uniform
    p3 = np.array([[0.0, 0.5, 0.5], [0.5, 0.0, 0.5], [0.5, 0.5, 0.0]])
    np.testing.assert_allclose(h.stationary(p3), [1 / 3] * 3, atol=1e-12)


def test_entropy_rate_known_values():
    """A deterministic cycle has entropy rate 0; the uniform no-self k-matrix has log2(k - 1)."""
    for k in (3, 4, 6):
        cycle = np.roll(np.eye(k), 1, axis=1)
        assert h.entropy_rate(cycle) == pytest.approx(0.0, abs=1e-12)
        uni = (np.ones((k, k)) - np.eye(k)) / (k - 1)
        assert h.entropy_rate(uni) == pytest.approx(np.log2(k - 1))


def test_animal_summary_one_row_per_recording():
    """One row per recording, with its transition count, entropy rate and stationary probabilities (sum 1)."""
    lab = table(("A", "a", [0, 1, 2, 0, 1, 2, 0]), ("A", "b", [0, 1, 0, 1]), ("B", "a", [2, 1, 2, 0]))
    c = h.transition_counts(lab, 3, self_transitions=False)
    s = h.animal_summary(c)
    assert len(s) == 3
    assert list(zip(s["session"], s["individual"], strict=True)) == [("A", "a"), ("A", "b"), ("B", "a")]
    assert list(s["n_transitions"]) == [6, 3, 3]
    stat = s[[f"stationary_{m}" for m in range(3)]].to_numpy()
    np.testing.assert_allclose(stat.sum(axis=1), 1.0)
    assert s["entropy_rate"].iloc[0] == pytest.approx(0.0, abs=1e-12)  # a deterministic 0 -> 1 -> 2 cycle
    np.testing.assert_allclose(stat[0], [1 / 3] * 3, atol=1e-9)


def test_graph_nodes_and_edges():
    """Every motif is a node (with usage and name); only edges >= min_probability, and no self-loops."""
    p = np.array([[0.5, 0.4, 0.1, 0.0],
                  [0.04, 0.0, 0.96, 0.0],
                  [0.0, 0.0, 0.0, 1.0],
                  [0.2, 0.2, 0.2, 0.4]])
    g = h.graph(p, usage=np.array([0.1, 0.2, 0.3, 0.4]), min_probability=0.05, names={2: "rear"})
    assert sorted(g.nodes) == [0, 1, 2, 3]
    assert g.nodes[2]["name"] == "rear" and g.nodes[0]["name"] == "motif 0"
    assert g.nodes[3]["usage"] == pytest.approx(0.4)
    want = {(0, 1), (0, 2), (1, 2), (2, 3), (3, 0), (3, 1), (3, 2)}
    assert set(g.edges) == want
    assert all(d["probability"] >= 0.05 for *_, d in g.edges(data=True))
    assert g.edges[1, 2]["probability"] == pytest.approx(0.96)
    assert not any(a == b for a, b in g.edges)
    assert set(h.graph(p, min_probability=0.5).edges) == {(1, 2), (2, 3)}


# --------------------------------------------------------------------------------------------------------
# trees


def random_counts(k, seed=0):
    rng = np.random.default_rng(seed)
    c = rng.poisson(rng.gamma(1.0, 5.0, (k, k))).astype(float)
    np.fill_diagonal(c, 0)
    return c, rng.integers(50, 500, k).astype(float)


def all_trees(k=7):
    """One tree per method on the same random counts: VAME with every cost, linkage on transitions, linkage on
    transitions mixed with a centroid distance, and a 3 x 4 VQ tree."""
    c, u = random_counts(k)
    means = np.random.default_rng(1).normal(size=(k, 5))
    trees = {f"vame {cost}": h.vame_tree(c, u, cost) for cost in h.COSTS}
    trees["linkage"] = h.linkage_tree(h.transition_distance(c))
    trees["linkage complete"] = h.linkage_tree(h.transition_distance(c), "complete")
    trees["linkage + centroid"] = h.build("linkage", c, u, similarity=h.centroid_distance(means))
    trees["vq"] = h.vq_tree(3, 4)
    return trees


def check_partition(cut, k):
    cut = np.asarray(cut)
    assert cut.shape == (k,) and cut.dtype.kind == "i"
    assert (cut >= 0).all()
    labels = np.unique(cut)
    np.testing.assert_array_equal(labels, np.arange(len(labels)))  # numbered 0..C-1
    first = [int(np.flatnonzero(cut == c)[0]) for c in labels]
    assert first == sorted(first)  # numbered by their smallest motif


def refines(fine, coarse):
    """Every community of ``fine`` lies inside one community of ``coarse``."""
    return all(len(np.unique(coarse[fine == c])) == 1 for c in np.unique(fine))


@pytest.mark.parametrize("name", ["vame 2022", "vame 2024", "vame 2024-symmetric", "linkage", "linkage complete",
                                  "linkage + centroid", "vq"])
def test_every_cut_is_a_partition(name):
    """At every n in 1..k and every depth 0..max_depth, each motif is in exactly one community; binary trees
    give exactly n communities, cuts are nested, depth 0 is one community and max_depth every motif alone."""
    tree = all_trees()[name]
    k = tree.n_leaves
    binary = all(len(v) == 2 for v in tree.children.values())
    prev = None
    for n in range(1, k + 1):
        cut = tree.cut(n)
        check_partition(cut, k)
        assert cut.max() + 1 == n if binary else cut.max() + 1 >= n
        if prev is not None:
            assert refines(cut, prev)
        prev = cut
    prev = None
    for depth in range(tree.max_depth + 1):
        cut = tree.cut(depth=depth)
        check_partition(cut, k)
        if prev is not None:
            assert refines(cut, prev)
        prev = cut
    assert (tree.cut(depth=0) == 0).all() and (tree.cut(1) == 0).all()
    np.testing.assert_array_equal(tree.cut(depth=tree.max_depth), np.arange(k))
    np.testing.assert_array_equal(tree.cut(k), np.arange(k))


def test_vq_tree_structure():
    """The VQ tree: root -> types -> subtypes; depth 1 and n=3 give the types, motif = type * n_subtypes + sub."""
    t = h.vq_tree(3, 4)
    assert t.n_leaves == 12 and t.max_depth == 2
    np.testing.assert_array_equal(t.cut(depth=1), np.arange(12) // 4)
    np.testing.assert_array_equal(t.cut(3), np.arange(12) // 4)
    np.testing.assert_array_equal(t.cut(2), np.arange(12) // 4)  # at least n: the root splits into 3
    assert t.cut(4).max() + 1 == 6  # the next split frees one type's 4 subtypes
    with pytest.raises(ParameterError, match="n_types"):
        h.build("vq", np.zeros((12, 12)), np.ones(12))
    np.testing.assert_array_equal(h.build("vq", None, None, n_types=3, n_subtypes=4).cut(depth=1), np.arange(12) // 4)


def test_cut_errors():
    """Too deep a cut names the maximum depth; n outside 1..k, both or neither of n/depth are ParameterErrors."""
    for tree in all_trees().values():
        md = tree.max_depth
        with pytest.raises(ParameterError, match=rf"0 to {md} \(the maximum depth\)"):
            tree.cut(depth=md + 1)
        with pytest.raises(ParameterError, match="maximum depth"):
            tree.cut(depth=-1)
        for n in (0, tree.n_leaves + 1):
            with pytest.raises(ParameterError, match=f"between 1 and {tree.n_leaves}"):
                tree.cut(n)
        with pytest.raises(ParameterError, match="not both"):
            tree.cut(2, depth=1)
        with pytest.raises(ParameterError, match="either"):
            tree.cut()


def test_builder_errors():
    """Unknown method or cost, mismatched shapes, an asymmetric or single-motif distance: ParameterError."""
    c, u = random_counts(4)
    with pytest.raises(ParameterError, match="unknown hierarchy method"):
        h.build("ward", c, u)
    with pytest.raises(ParameterError, match="cost"):
        h.vame_tree(c, u, "2023")
    with pytest.raises(ParameterError, match="do not match"):
        h.vame_tree(c, u[:3])
    d = h.transition_distance(c)
    d[0, 1] += 0.5
    with pytest.raises(ParameterError, match="symmetric"):
        h.linkage_tree(d)
    with pytest.raises(ParameterError, match="two motifs"):
        h.linkage_tree(np.zeros((1, 1)))


def test_linkage_matrix_is_valid_scipy():
    """``Tree.linkage()`` passes scipy's is_valid_linkage for binary and VQ trees, with correct cluster sizes."""
    for name, tree in all_trees().items():
        z = tree.linkage()
        k = tree.n_leaves
        assert z.shape == (k - 1, 4), name
        assert is_valid_linkage(z, throw=True), name
        sizes = {i: 1 for i in range(k)}
        for r, (a, b, _, n) in enumerate(z):
            sizes[k + r] = sizes[int(a)] + sizes[int(b)]
            assert n == sizes[k + r], name
        assert z[-1, 3] == k
    z = h.vq_tree(3, 4).linkage()
    assert np.all(np.diff(z[:, 2]) >= 0)  # types (height 1) before the root (height 2)


def test_linkage_tree_matches_scipy_fcluster():
    """The linkage tree cut into n agrees with scipy's own fcluster(maxclust=n) on the same distance."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    c, _ = random_counts(8, seed=4)
    d = h.transition_distance(c)
    z = linkage(squareform(d, checks=False), "average")
    tree = h.linkage_tree(d, "average")
    for n in range(1, 9):
        want = fcluster(z, n, "maxclust")
        got = tree.cut(n)
        # same partition (labels may differ)
        assert len(set(zip(want, got, strict=True))) == len(set(want)) == len(set(got))


def test_tree_json_round_trip():
    """``to_dict`` -> JSON -> ``from_dict`` gives a tree with identical cuts, method and info."""
    for name, tree in all_trees().items():
        back = h.Tree.from_dict(json.loads(json.dumps(tree.to_dict())))
        assert back.method == tree.method and back.info == tree.info and back.max_depth == tree.max_depth, name
        for n in range(1, tree.n_leaves + 1):
            np.testing.assert_array_equal(back.cut(n), tree.cut(n))
        for d in range(tree.max_depth + 1):
            np.testing.assert_array_equal(back.cut(depth=d), tree.cut(depth=d))
        np.testing.assert_array_equal(back.linkage(), tree.linkage())


def test_transition_and_centroid_distances():
    """transition_distance is symmetric, zero on the diagonal, 0 for the most connected pair, 1 for pairs that
    never transition; centroid_distance is Euclidean scaled to a maximum of 1; combine is a weighted mean."""
    c = np.array([[5.0, 3, 1, 0], [3, 9, 1, 0], [1, 1, 0, 0], [0, 0, 0, 0]])
    d = h.transition_distance(c)
    np.testing.assert_allclose(d, d.T)
    np.testing.assert_allclose(np.diag(d), 0)
    assert d.min() == 0 and d[0, 1] == pytest.approx(0.0)
    assert d[0, 3] == 1.0 and d[2, 3] == 1.0
    x = np.array([[0.0, 0.0], [3.0, 4.0], [6.0, 8.0]])
    np.testing.assert_allclose(h.centroid_distance(x), [[0, 0.5, 1], [0.5, 0, 0.5], [1, 0.5, 0]])
    np.testing.assert_allclose(h.combine(np.zeros((2, 2)), np.ones((2, 2)), weights=[3, 1]), 0.25)


def test_vame_costs_choose_different_first_merges():
    """Hand-checked first merges. P = [[0, .8, .2], [.4, 0, .6], [.3, .7, 0]], usage (.6, .3, .1):
    2022 merges the highest probability P_01 = .8 -> {0, 1}; 2024 minimises u_i + u_j / (P_ij + P_ji):
    (2, 1) costs .1 + .3 / 1.3 = .331, below (1, 2) .377, (0, 1) .85, (1, 0) .8, (0, 2) .8, (2, 0) 1.3
    -> {1, 2}; 2024-symmetric (u_i + u_j) / (P_ij + P_ji): {1, 2} .308 < {0, 1} .75 < {0, 2} 1.4."""
    c = np.array([[0.0, 8, 2], [4, 0, 6], [3, 7, 0]])
    u = np.array([0.6, 0.3, 0.1])
    first = {cost: h.vame_tree(c, u, cost).children[3] for cost in h.COSTS}
    assert first == {"2022": [0, 1], "2024": [1, 2], "2024-symmetric": [1, 2]}
    # usage is only relative: scaling it (frames instead of fractions) changes nothing
    assert h.vame_tree(c, u * 1000, "2024").children[3] == [1, 2]
    # self-transitions on the diagonal are ignored
    assert h.vame_tree(c + np.diag([50.0, 50, 50]), u, "2022").children[3] == [0, 1]
    t = h.vame_tree(c, u, "2024")
    assert t.children[4] == [0, 3] and t.height[3] < t.height[4]
    np.testing.assert_array_equal(t.cut(2), [0, 1, 1])
    np.testing.assert_array_equal(h.vame_tree(c, u, "2022").cut(2), [0, 0, 1])


def test_vame_2024_differs_from_the_symmetric_cost():
    """2024's u_i + u_j / (P_ij + P_ji) does not divide u_i: the exclusive pair 0 <-> 1 (pair 2.0, usage .3/.3)
    costs .3 + .3/2 = .45 under 2024 but (.3 + .3)/2 = .3 under 2024-symmetric; the pair {2, 3} (pair 1.0,
    usage .16/.16) costs .32 under both, so 2024 merges {2, 3} first and 2024-symmetric (and 2022) {0, 1}."""
    c = np.array([[0.0, 10, 0, 0],
                  [10, 0, 0, 0],
                  [5, 0, 0, 5],
                  [0, 5, 5, 0]])
    u = np.array([0.3, 0.3, 0.16, 0.16])
    p = c / c.sum(axis=1, keepdims=True)
    pair = p + p.T
    with np.errstate(divide="ignore"):
        cost24 = np.where(pair > 0, u[:, None] + u[None, :] / pair, np.inf)
        sym = np.where(pair > 0, (u[:, None] + u[None, :]) / pair, np.inf)
    np.fill_diagonal(cost24, np.inf)
    np.fill_diagonal(sym, np.inf)
    assert cost24[0, 1] == pytest.approx(0.45) and cost24.min() == pytest.approx(0.32)
    assert sym[0, 1] == pytest.approx(0.3) and sym[2, 3] == pytest.approx(0.32)
    assert h.vame_tree(c, u, "2024").children[4] == [2, 3]
    assert h.vame_tree(c, u, "2024-symmetric").children[4] == [0, 1]
    assert h.vame_tree(c, u, "2022").children[4] == [0, 1]


def test_vame_pools_counts_and_never_transitioning_pairs_merge_last():
    """Two blocks that never transition between them merge only at the root, for every cost."""
    c = np.zeros((5, 5))
    c[np.ix_([0, 1, 2], [0, 1, 2])] = [[0, 4, 1], [3, 0, 2], [1, 5, 0]]
    c[np.ix_([3, 4], [3, 4])] = [[0, 2], [7, 0]]
    u = np.array([10.0, 20, 30, 40, 50])
    for cost in h.COSTS:
        t = h.vame_tree(c, u, cost)
        np.testing.assert_array_equal(t.cut(2), [0, 0, 0, 1, 1])
        assert sorted(t.leaves(t.children[t.root][0]) + t.leaves(t.children[t.root][1])) == list(range(5))


def test_vame_2022_merges_least_used_when_nothing_transitions():
    """With no transitions left, every cost merges the two least used groups (here motifs 1 and 3)."""
    u = np.array([5.0, 1, 3, 2])
    for cost in h.COSTS:
        assert h.vame_tree(np.zeros((4, 4)), u, cost).children[4] == [1, 3], cost


def test_motif_means():
    """Mean latent per motif over all sessions, labels in any row order; -1 and NaN frames left out, NaN rows
    for motifs without frames."""
    import xarray as xr

    def da(x):
        return xr.DataArray(np.asarray(x, float), dims=("time", "latent"),
                            coords={"time": np.arange(len(x)) / 30.0, "latent": [0, 1]},
                            attrs={"model": "vame", "model_id": "r", "window": 30})

    lat = {"s1": da([[0, 0], [2, 2], [4, 4], [np.nan, 1]]), "s2": da([[10, 10], [20, 20]])}
    lab = pd.DataFrame({"session": ["s2", "s2", "s1", "s1", "s1", "s1"], "individual": "individual_0",
                        "frame": [1, 0, 3, 2, 1, 0], "motif": [1, 0, 1, 0, -1, 0]})
    m = h.motif_means(lat, lab, 3)
    np.testing.assert_allclose(m[:2], [[14 / 3, 14 / 3], [20, 20]])
    assert np.isnan(m[2]).all()
    d = h.centroid_distance(m[:2])
    assert d[0, 1] == 1.0
    with pytest.raises(ParameterError, match="pass n_motifs"):
        h.motif_means(lat, lab)  # k is never the largest label + 1
    lab.attrs["n_motifs"] = 4
    assert h.motif_means(lat, lab).shape == (4, 2)


# --------------------------------------------------------------------------------------------------------
# stability


def planted(n_animals=20, k=6, seed=0):
    """Per-animal bout counts with transitions only inside blocks {0, 1, 2} and {3, 4, 5}, and usage."""
    rng = np.random.default_rng(seed)
    block = np.arange(k) // (k // 2)
    mask = (block[:, None] == block[None, :]) & ~np.eye(k, dtype=bool)
    counts = rng.poisson(5.0, (n_animals, k, k)) * mask
    usage = rng.poisson(200.0, (n_animals, k)) + 1
    return counts.astype(float), usage.astype(float), block


def shuffled(seed, n_animals=20, k=6):
    """Per-animal counts without any block structure: Poisson with low, animal-specific random rates."""
    rng = np.random.default_rng(seed)
    c = rng.poisson(rng.gamma(1.0, 1.0, (n_animals, k, k))).astype(float)
    c[:, np.arange(k), np.arange(k)] = 0
    u = rng.poisson(rng.gamma(2.0, 50.0, (n_animals, k))).astype(float) + 1
    return c, u


BUILDERS = {"linkage": lambda c, u: h.build("linkage", c, u),
            "vame 2024": lambda c, u: h.build("vame", c, u, cost="2024"),
            "vame 2022": lambda c, u: h.build("vame", c, u, cost="2022")}


@pytest.mark.parametrize("name", list(BUILDERS))
def test_planted_blocks_are_perfectly_stable(name):
    """Noise-free planted blocks cut into 2: score 1.0, every community 1.0, co-assignment exactly the blocks."""
    counts, usage, block = planted()
    st = h.bootstrap(counts, usage, BUILDERS[name], n=2, n_boot=60, seed=1, progress=False)
    np.testing.assert_array_equal(st.communities, block)
    assert st.score == 1.0
    assert (st.table["stability"] == 1.0).all() and list(st.table["size"]) == [3, 3]
    assert [list(m) for m in st.table["motifs"]] == [[0, 1, 2], [3, 4, 5]]
    np.testing.assert_array_equal(st.co_assignment, (block[:, None] == block[None, :]).astype(float))
    assert st.n_boot == 60


def test_shuffled_structure_is_less_stable():
    """Counts without blocks give clearly lower scores at n=2 than the planted 1.0 (over 40 seeds no single score
    exceeded 0.84): each below 0.9, their mean below 0.8; co-assignment is not all 0/1."""
    for name in ("linkage", "vame 2024"):
        scores = []
        for seed in (0, 1, 2):
            c, u = shuffled(seed)
            st = h.bootstrap(c, u, BUILDERS[name], n=2, n_boot=50, seed=0, progress=False)
            scores.append(st.score)
            assert ((st.co_assignment > 0) & (st.co_assignment < 1)).any()
            np.testing.assert_allclose(np.diag(st.co_assignment), 1.0)
            np.testing.assert_allclose(st.co_assignment, st.co_assignment.T)
        assert max(scores) < 0.9, (name, scores)
        assert np.mean(scores) < 0.8, (name, scores)


def test_bootstrap_by_depth_and_is_reproducible():
    """Bootstrap by depth works; the same seed gives the same result, a different seed may not."""
    counts, usage, _ = planted(8)
    build = BUILDERS["linkage"]
    a = h.bootstrap(counts, usage, build, depth=1, n_boot=20, seed=3, progress=False)
    b = h.bootstrap(counts, usage, build, depth=1, n_boot=20, seed=3, progress=False)
    np.testing.assert_array_equal(a.co_assignment, b.co_assignment)
    assert a.score == b.score
    check_partition(a.communities, 6)


def test_bootstrap_errors():
    """One animal, or counts and usage for different animals / of the wrong shape: ParameterError."""
    counts, usage, _ = planted(3)
    build = BUILDERS["linkage"]
    with pytest.raises(ParameterError, match="at least two animals"):
        h.bootstrap(counts[:1], usage[:1], build, n=2, n_boot=5, progress=False)
    with pytest.raises(ParameterError, match="same animals"):
        h.bootstrap(counts, usage[:2], build, n=2, n_boot=5, progress=False)
    with pytest.raises(ParameterError, match="same animals"):
        h.bootstrap(counts.sum(0), usage, build, n=2, n_boot=5, progress=False)


def test_cut_stability_and_suggest_cut():
    """``cut_stability`` gives one row per n; ``suggest_cut`` picks the fewest n >= 3 reaching min_score, else the
    most stable n >= 3 (never the always-stable n=2 or n=1 when larger cuts exist)."""
    counts, usage, _ = planted(6)
    sc = h.cut_stability(counts, usage, BUILDERS["linkage"], range(2, 5), n_boot=10, progress=False)
    assert list(sc["n"]) == [2, 3, 4] and list(sc.columns) == ["n", "score", "min_community"]
    assert sc.loc[sc["n"] == 2, "score"].iloc[0] == 1.0
    assert (sc["min_community"] <= sc["score"] + 1e-12).all()

    scores = pd.DataFrame({"n": [2, 3, 4, 5, 6], "score": [1.0, 0.7, 0.95, 0.92, 0.99]})
    assert h.suggest_cut(scores) == 4
    assert h.suggest_cut(scores, min_score=0.96) == 6
    assert h.suggest_cut(scores, min_score=0.999) == 6  # none reaches it: the most stable n >= 3
    assert h.suggest_cut(scores, min_score=0.5) == 3
    assert h.suggest_cut(scores, min_score=0.5, min_n=2) == 2
    low = pd.DataFrame({"n": [2, 3, 4, 5], "score": [1.0, 0.5, 0.8, 0.6]})
    assert h.suggest_cut(low) == 4
    assert h.suggest_cut(pd.DataFrame({"n": [1, 2], "score": [1.0, 0.4]})) == 1  # nothing >= 3: most stable


# --------------------------------------------------------------------------------------------------------
# community labels and usage


def test_community_labels_map_and_keep_unlabelled():
    """Each frame's motif maps to its community (array or dict), -1 stays -1; a motif without one raises."""
    lab = table(("A", "a", [0, 1, 2, -1, 3, 3]), ("B", "a", [3, -1, 0]))
    comm = np.array([0, 0, 1, 1])
    out = h.community_labels(lab, comm)
    assert list(out["community"]) == [0, 0, 1, -1, 1, 1, 1, -1, 0]
    assert out["community"].dtype == np.int64
    assert list(out["motif"]) == list(lab["motif"])
    out = h.community_labels(lab, {0: 2, 1: 0, 2: 0, 3: 1})
    assert list(out["community"]) == [2, 0, 0, -1, 1, 1, 1, -1, 2]
    with pytest.raises(ParameterError, match=r"motifs \[.*3.*\] have no community"):
        h.community_labels(lab, {0: 0, 1: 0, 2: 1})
    with pytest.raises(ParameterError, match="no community"):
        h.community_labels(lab, np.array([0, 1, 1]))


def test_community_usage_sums_member_motifs():
    """Community usage per recording sums to 1 and equals the member motifs' usage fractions added up."""
    from behavnb.codes import usage

    rng = np.random.default_rng(2)
    recs = [("A", "a", rng.integers(-1, 5, 300)), ("A", "b", rng.integers(-1, 5, 200)),
            ("B", "a", rng.integers(0, 3, 100))]
    lab = table(*recs)
    comm = np.array([0, 1, 0, 2, 1])
    cu = h.community_usage(lab, comm)
    assert set(cu.columns) >= {"session", "individual", "community", "frames", "fraction"}
    assert len(cu) == 3 * 3
    np.testing.assert_allclose(cu.groupby(["session", "individual"])["fraction"].sum(), 1.0)
    mu = usage(lab, 5)
    mu["community"] = comm[mu["motif"]]
    want = mu.groupby(["session", "individual", "community"])[["frames", "fraction"]].sum().reset_index()
    got = cu.sort_values(["session", "individual", "community"]).reset_index(drop=True)
    want = want.sort_values(["session", "individual", "community"]).reset_index(drop=True)
    np.testing.assert_array_equal(got["frames"].to_numpy(), want["frames"].to_numpy())
    np.testing.assert_allclose(got["fraction"].to_numpy(), want["fraction"].to_numpy())
    # community 2 (motif 3) is never used in session B: listed with 0
    b = cu[(cu["session"] == "B") & (cu["community"] == 2)]
    assert len(b) == 1 and b["frames"].iloc[0] == 0
    with pytest.raises(ParameterError, match="no community"):
        h.community_usage(lab, np.array([0, 1, 0]))
    assert h.community_count(comm) == 3 and h.community_count({0: 1, 1: 0}) == 2
    with pytest.raises(ParameterError, match="0 .. n-1"):
        h.community_usage(lab, np.array([0, 1, 0, 3, 1]))  # no community 2


def test_end_to_end_labels_to_stable_communities():
    """Labels simulated from a block chain -> per-animal bout counts and usage -> bootstrap -> the planted blocks
    come back as stable communities, and community labels follow them."""
    k = 6
    block = np.arange(k) // 3
    p = np.where((block[:, None] == block[None, :]) & ~np.eye(k, dtype=bool), 0.47, 0.03)
    p /= p.sum(axis=1, keepdims=True)
    rng = np.random.default_rng(5)
    lab = pd.concat([simulate(p, 400, 1, rng).assign(session=f"s{a}") for a in range(10)], ignore_index=True)
    c = h.transition_counts(lab, k, self_transitions=False)
    from behavnb.codes import usage
    from behavnb.segment.tables import usage_matrix

    u = usage_matrix(usage(lab, k)).loc[list(zip(c["session"].values, c["individual"].values, strict=True))].to_numpy()
    st = h.bootstrap(c.values, u, BUILDERS["linkage"], n=2, n_boot=30, seed=0, progress=False)
    np.testing.assert_array_equal(st.communities, block)
    assert st.score > 0.95
    cl = h.community_labels(lab, st.communities)
    assert (cl["community"] == block[cl["motif"]]).all()


def test_group_mean_ignores_animals_that_never_leave_a_motif():
    """An animal never seen leaving motif 1 has no estimate for that row: the group row comes from the others."""
    import xarray as xr

    counts = np.zeros((2, 2, 2), np.int64)
    counts[0, 1, 0] = 4   # animal A: 1 -> 0
    counts[0, 0, 1] = 4
    counts[1, 0, 1] = 3   # animal B: only 0 -> 1, never leaves 1
    da = xr.DataArray(counts, dims=("recording", "from_motif", "to_motif"),
                      coords={"recording": ["A/x", "B/x"], "session": ("recording", ["A", "B"]),
                              "individual": ("recording", ["x", "x"]), "from_motif": [0, 1], "to_motif": [0, 1]})
    m = h.group_mean(h.probabilities(da), {"A": "g", "B": "g"})
    np.testing.assert_allclose(m.sel(group="g").values, [[0, 1], [1, 0]])


def test_hierarchy_figures_draw():
    """Every hierarchy figure draws: group heatmaps with their difference, the graph, dendrograms with
    communities and stability, co-assignment, the Sankey, per-animal values by group."""
    import matplotlib.pyplot as plt

    import behavnb as bn

    rng = np.random.default_rng(1)
    labels = pd.concat([simulate(TRUE_P, 300, 2, rng).assign(session=lambda d, i=i: d["session"] + f"_{i}")
                        for i in range(4)], ignore_index=True)
    groups = {s: ("A" if s.endswith(("_0", "_1")) else "B") for s in labels["session"].unique()}
    c = h.transition_counts(labels, 4, self_transitions=False)
    by_group = h.group_mean(h.probabilities(c), groups)
    usage = np.bincount(labels["motif"], minlength=4).astype(float)
    U = np.stack([np.bincount(g["motif"], minlength=4) for _, g in labels.groupby("session", sort=True)]).astype(float)
    st = h.bootstrap(c.values, U, lambda cc, uu: h.build("linkage", cc, uu), n=2, n_boot=10, progress=False)
    tree = h.build("linkage", c.values.sum(0), usage)
    figs = [bn.plot.transition_heatmaps(by_group, {0: "a"}), bn.plot.transition_graph(h.pooled(c).values, usage / usage.sum()),
            bn.plot.dendrogram(tree, st.communities, st), bn.plot.co_assignment(st),
            bn.plot.tree_comparison({"linkage": tree, "vq": h.vq_tree(2, 2)}, {"linkage": st.communities}, {"linkage": st}),
            bn.plot.values_by_group(h.animal_summary(c), "entropy_rate", groups)]
    assert len(figs[0].axes) >= 3  # two groups and their difference
    for f in figs:
        plt.close(f)
    sk = bn.plot.sankey({"2 communities": st.communities}, usage)
    assert len(sk.data[0].node.label) == 4 + 2


def test_recording_usage_follows_the_counts_order():
    """recording_usage gives frames per motif in the recording order of transition_counts, zeros for unused motifs."""
    labels = table(("s2", "a", [0, 0, 1]), ("s1", "a", [2, 2, 2, 0]), shuffle_seed=0)
    c = counts_of(labels, 4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DataWarning)
        da = h.transition_counts(labels, 4)
    u = h.recording_usage(labels, da)
    assert c.shape[0] == 2 and list(da["session"].values) == ["s1", "s2"]
    np.testing.assert_array_equal(u, [[1, 0, 3, 0], [2, 1, 0, 0]])
