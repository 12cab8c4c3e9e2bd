"""Motif hierarchy speed: ``hierarchy.transition_counts`` on 100 hours of labels, and bootstrap stability.

    . .venv/bin/activate
    python benchmarks/bench_hierarchy.py [--sessions 100] [--frames 108000] [--k 15] [--n-boot 200]

Data: ``--sessions`` one-animal sessions of ``--frames`` frames each (default 100 x 1 hour at 30 fps =
10.8 million rows), k=15 motifs. Each session is a sticky label sequence built vectorised with numpy
(seeded): bouts with geometric lengths (mean 30 frames, 1 s), the next bout's motif drawn from one fixed
transition matrix without self-transitions that prefers 5 blocks of 3 motifs (80 % of transitions stay
inside the block), so the trees have something to find. The first 15 frames of every session are -1 (no
label, as at the edge of VAME's window). The table has the labels-table columns session, individual,
frame, time, motif (``str``, ``str``, ``int64``, ``float64``, ``int64``); building it is timed separately
and is not part of any target.

Timed, once each:

- ``transition_counts`` frame level (``self_transitions=True``) and bout level (``False``): target <= 2 s each;
- ``codes.usage`` on the same table (per-animal usage for the bootstrap; no target);
- ``bootstrap`` with ``--n-boot`` resamples of the 100 animals' bout-level counts ``(100, 15, 15)`` and
  usage ``(100, 15)``, cut into 5 communities, for ``build("vame", ..., cost="2024")`` and
  ``build("linkage", ...)``: target <= 30 s each (``build("vame", cost="2022")`` is listed without target).

The stability score of each bootstrap is printed as a sanity check (the planted blocks should be stable).
The last stdout line is JSON; the markdown table is printed above it.
"""
from __future__ import annotations

import argparse
import time

import numpy as np
from _machine import machine, report  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

TARGETS = {"transition_counts frame level": 2.0, "transition_counts bout level": 2.0,
           "bootstrap vame 2024": 30.0, "bootstrap linkage": 30.0}


def block_matrix(k: int, block: int = 3, inside: float = 0.8, seed: int = 0) -> np.ndarray:
    """A random k x k transition matrix without self-transitions; ``inside`` of each row stays in its block."""
    rng = np.random.default_rng(seed)
    b = np.arange(k) // block
    same = (b[:, None] == b[None, :]) & ~np.eye(k, dtype=bool)
    other = b[:, None] != b[None, :]
    w = rng.uniform(0.5, 1.5, (k, k))
    p = np.where(same, w, 0.0)
    p = inside * p / p.sum(axis=1, keepdims=True)
    q = np.where(other, w, 0.0)
    return p + (1 - inside) * q / q.sum(axis=1, keepdims=True)


def labels_table(n_sessions: int, n_frames: int, p: np.ndarray, mean_bout: float = 30.0, edge: int = 15,
                 fps: float = 30.0, seed: int = 0):
    """The labels table (vectorised): per session a Markov chain of bouts with geometric lengths."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    k = len(p)
    n_bouts = int(3 * n_frames / mean_bout) + 20
    cum = np.cumsum(p, axis=1)
    cum[:, -1] = 1.0
    u = rng.random((n_bouts, n_sessions))
    states = np.empty((n_bouts, n_sessions), np.int64)
    states[0] = rng.integers(0, k, n_sessions)
    for t in range(1, n_bouts):  # one step for all sessions at once
        states[t] = (u[t][:, None] > cum[states[t - 1]]).sum(axis=1)
    states = states.T  # (session, bout)
    lengths = rng.geometric(1.0 / mean_bout, (n_sessions, n_bouts))
    end = np.minimum(np.cumsum(lengths, axis=1), n_frames)
    lengths = np.diff(end, axis=1, prepend=0)  # truncated so every session has exactly n_frames
    assert (end[:, -1] == n_frames).all()
    motif = np.repeat(states.ravel(), lengths.ravel()).reshape(n_sessions, n_frames)
    motif[:, :edge] = -1
    frame = np.tile(np.arange(n_frames, dtype=np.int64), n_sessions)
    names = np.array([f"session_{i:03d}" for i in range(n_sessions)])
    return pd.DataFrame({"session": np.repeat(names, n_frames), "individual": "individual_0",
                         "frame": frame, "time": frame / fps, "motif": motif.ravel()})


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=100)
    ap.add_argument("--frames", type=int, default=108_000, help="frames per session (default: 1 h at 30 fps)")
    ap.add_argument("--k", type=int, default=15)
    ap.add_argument("--n-boot", type=int, default=200)
    ap.add_argument("--n", type=int, default=5, help="communities the bootstrap cuts into")
    args = ap.parse_args(argv)

    import pandas as pd
    import scipy
    import xarray as xr

    import behavnb
    from behavnb import hierarchy
    from behavnb.codes import usage
    from behavnb.segment.tables import usage_matrix

    print(f"machine: {machine()}", flush=True)
    results = {"machine": machine(), "sessions": args.sessions, "frames": args.frames, "k": args.k,
               "n_boot": args.n_boot, "n": args.n,
               "versions": {"behavnb": behavnb.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                            "xarray": xr.__version__, "scipy": scipy.__version__}}
    rows = []

    def row(name, seconds, notes=""):
        target = TARGETS.get(name)
        ok = "" if target is None else ("yes" if seconds <= target else "no")
        rows.append(f"| {name} | {seconds:.2f} | {'<= %g s' % target if target else '-'} | {ok} | {notes} |")
        results[name] = {"seconds": seconds, "target_s": target}
        print(rows[-1], flush=True)

    p = block_matrix(args.k)
    labels, t = timed(lambda: labels_table(args.sessions, args.frames, p))
    mb = labels.memory_usage(deep=True).sum() / 2**20
    row("build labels table (not a target)", t, f"{len(labels):,} rows, {mb:.0f} MB")

    frame, t = timed(lambda: hierarchy.transition_counts(labels, args.k, self_transitions=True))
    row("transition_counts frame level", t, f"{int(frame.sum()):,} transitions")
    bout, t = timed(lambda: hierarchy.transition_counts(labels, args.k, self_transitions=False))
    err = float(np.abs(hierarchy.pooled(bout).values - p).max())
    row("transition_counts bout level", t, f"{int(bout.sum()):,} transitions; pooled max abs error vs truth {err:.4f}")

    ut, t = timed(lambda: usage_matrix(usage(labels, args.k)))
    row("usage table (per-animal usage, no target)", t)
    keys = list(zip(bout["session"].values, bout["individual"].values, strict=True))
    counts = bout.values.astype(float)
    use = ut.loc[keys].to_numpy()

    builds = {"bootstrap vame 2024": lambda c, u: hierarchy.build("vame", c, u, cost="2024"),
              "bootstrap linkage": lambda c, u: hierarchy.build("linkage", c, u),
              "bootstrap vame 2022": lambda c, u: hierarchy.build("vame", c, u, cost="2022")}
    truth = np.arange(args.k) // 3
    for name, build in builds.items():
        st, t = timed(lambda: hierarchy.bootstrap(counts, use, build, n=args.n, n_boot=args.n_boot, seed=0,
                                                  progress=False))
        planted = bool(args.n == len(set(truth)) and
                       len(set(zip(st.communities, truth, strict=True))) == len(set(truth)) == st.communities.max() + 1)
        row(name, t, f"{args.n_boot} resamples, n={args.n}: score {st.score:.3f}, "
                     f"{'planted blocks found' if planted else 'communities ' + str(st.communities.tolist())}")
        results[name].update({"score": st.score, "planted_found": planted})

    report(["step", "time (s)", "target", "ok", "notes"], rows, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
