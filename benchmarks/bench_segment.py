"""Motif segmentation speed: ``segment.MotifModel`` fits on 1 hour of latents, and UMAP on a subsample.

    . .venv/bin/activate
    python benchmarks/bench_segment.py [--frames 108000] [--dims 30] [--sessions 6] [--k 15]
    python benchmarks/bench_segment.py --vs-hmmlearn [--frames 12000] [--pairs 3] [--vame-threads 1] [--with-full]

Data: 1 hour at 30 fps (108,000 frames) x 30 latent dimensions, sampled from a sticky 15-state Gaussian
HMM (seeded): each state has random means (N(0, 0.4^2) per dimension) and its own diagonal noise (standard
deviations uniform in 0.4-1.0), temporally smooth as windowed VAE latents are (AR(1), lag-1 correlation 0.8);
bouts are geometric with a mean of 30 frames (1 s). The states overlap: k-means alone recovers them with
an ARI of about 0.75, so EM has real work to do. The sequence is split
into ``--sessions`` sessions (6 x 18,000 frames), each a ``(time, latent)`` DataArray with the attributes
``embed`` writes (model, model_id, window), as ``project.read_latents`` gives them.

Timed, once each (fit on all sessions, then ``predict`` of every frame):

- ``KMeansMotifs(15)``;
- ``HMMMotifs(15, covariance="diag")`` and ``covariance="tied"`` (default n_iter=50, tol=1e-4);
- ``GMMMotifs(15, covariance="diag")``;
- ``umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=0).fit_transform`` on a seeded 30,000-frame
  subsample: the first call in the process includes numba's JIT compilation, the second call (new
  UMAP object, same data) does not.

ARI against the planted states is printed as a sanity check (not a target). Targets: kmeans <= 10 s,
HMM diag <= 60 s, UMAP on 30k frames <= 60 s (fit + predict for the motif models; the second UMAP call).
The last stdout line is JSON; the markdown table is printed above it.

``--vs-hmmlearn`` (default 12,000 frames in one session, k=15, 30 dims) instead times, in interleaved
rounds (``--pairs``, the order alternating each round so that machine load hits every side alike), fit +
``predict`` of every frame of:

- ``behavnb``: ``HMMMotifs(k, covariance="tied", sticky=10)``, notebook 06's default;
- ``behavnb before``: the same with hmmlearn's stock ``GaussianHMM`` and the default thread pools (what
  behavnb did before ``segment._hmm``);
- ``vame-py``: hmmlearn's ``GaussianHMM(n_components=k, covariance_type="full", n_iter=100,
  random_state=42)`` on the concatenated latents, its own k-means initialisation and default ``tol``, as
  vame-py 0.13's ``same_segmentation`` fits it (we run hmmlearn the same way; vame-py itself is not
  imported). ``--vame-threads 1`` runs it on one BLAS/OpenMP thread, as behavnb does;
- ``behavnb full`` (``--with-full``): ``HMMMotifs(k, covariance="full")``, no sticky prior: the
  same model class as vame-py's, so its log-likelihood per frame is comparable.

Reported per side: median [min-max] seconds, EM iterations, mean log-likelihood per frame of its own model
(comparable between sides of the same covariance type only) and ARI against the planted states.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np
from _machine import machine, report  # noqa: E402  (benchmarks/ is on sys.path when run as a script)

TARGETS = {"kmeans": 10.0, "hmm diag": 60.0, "umap 30k (2nd call)": 60.0}


def sample_hmm(n_frames: int, dims: int, n_states: int, mean_bout: float, rho: float = 0.8, seed: int = 0):
    """(states, latents): a sticky Gaussian HMM sample (geometric bouts, next state uniform among the others)
    with per-state means and diagonal AR(1) noise."""
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    means = rng.normal(0.0, 0.4, (n_states, dims))
    sds = rng.uniform(0.4, 1.0, (n_states, dims))
    lengths = rng.geometric(1.0 / mean_bout, size=int(3 * n_frames / mean_bout) + 10)
    n_bouts = int(np.searchsorted(np.cumsum(lengths), n_frames)) + 1
    lengths = lengths[:n_bouts]
    jumps = rng.integers(1, n_states, n_bouts)  # never the same state twice in a row
    seq = (rng.integers(n_states) + np.cumsum(jumps)) % n_states
    states = np.repeat(seq, lengths)[:n_frames]
    noise = lfilter([np.sqrt(1 - rho**2)], [1.0, -rho], rng.normal(size=(n_frames, dims)), axis=0)  # unit variance
    x = means[states] + noise * sds[states]
    return states, x


def latents(states: np.ndarray, x: np.ndarray, n_sessions: int, fps: float) -> tuple[dict, object]:
    import pandas as pd
    import xarray as xr

    out, truth = {}, []
    for i, (s, xs) in enumerate(zip(np.array_split(states, n_sessions), np.array_split(x, n_sessions), strict=True)):
        name = f"session_{i}"
        out[name] = xr.DataArray(xs.astype(np.float32), dims=("time", "latent"),
                                 coords={"time": np.arange(len(xs)) / fps, "latent": np.arange(xs.shape[1])},
                                 attrs={"model": "vame", "model_id": "bench", "window": 30})
        truth.append(pd.DataFrame({"session": name, "individual": "individual_0", "frame": np.arange(len(s)),
                                   "motif": s}))
    return out, pd.concat(truth, ignore_index=True)


def _vame_style_hmm(x: np.ndarray, k: int, threads: int | None):
    """hmmlearn's GaussianHMM set up and fitted as vame-py 0.13 does (full covariance, n_iter=100, seed 42)."""
    from contextlib import nullcontext

    from hmmlearn.hmm import GaussianHMM
    from threadpoolctl import threadpool_limits

    with threadpool_limits(threads) if threads else nullcontext():
        model = GaussianHMM(n_components=k, covariance_type="full", n_iter=100, random_state=42)
        model.fit(x)
        labels = model.predict(x)
        ll = model.score(x) / len(x)
    return labels, ll, model.monitor_.iter


def _stock_hmmlearn():
    """A context in which HMMMotifs uses hmmlearn's own GaussianHMM and the default thread pools (the old code)."""
    from contextlib import contextmanager, nullcontext

    from hmmlearn.hmm import GaussianHMM

    from behavnb.segment import _hmm

    @contextmanager
    def swapped():
        saved = _hmm.GaussianHMM, _hmm.single_thread
        _hmm.GaussianHMM, _hmm.single_thread = GaussianHMM, nullcontext
        try:
            yield
        finally:
            _hmm.GaussianHMM, _hmm.single_thread = saved

    return swapped()


def vs_hmmlearn(args) -> int:
    """Interleaved fit+predict timings of behavnb's HMM against hmmlearn as vame-py uses it (see the module doc)."""
    import statistics
    from contextlib import nullcontext

    import hmmlearn
    import pandas as pd
    import sklearn
    from sklearn.metrics import adjusted_rand_score

    import behavnb
    from behavnb import segment

    frames = args.frames or 12_000
    print(f"machine: {machine()}", flush=True)
    states, x = sample_hmm(frames, args.dims, args.k, mean_bout=30.0, seed=0)
    lat, truth = latents(states, x, args.sessions or 1, args.fps)
    x32 = np.concatenate([da.values for da in lat.values()])  # what both sides see (float32 latents)
    print(f"data: {frames:,} frames x {args.dims} dims, {args.sessions or 1} session(s), {args.k} planted states; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs", flush=True)

    def motif_model(kw: dict, stock: bool):
        def run():
            with _stock_hmmlearn() if stock else nullcontext():
                model = segment.HMMMotifs(args.k, **kw).fit(lat)
                labels = model.predict(lat)
                ll = model.score(lat)
            merged = labels.merge(truth, on=["session", "individual", "frame"], suffixes=("", "_true"))
            return merged["motif"].to_numpy(), ll, model.model_.monitor_.iter, merged["motif_true"].to_numpy()
        return run

    def vame():
        labels, ll, n_iter = _vame_style_hmm(x32, args.k, args.vame_threads)
        return labels, ll, n_iter, states

    sides = {"behavnb": motif_model(dict(covariance="tied", sticky=10.0), stock=False)}
    if not args.skip_before:
        sides["behavnb before"] = motif_model(dict(covariance="tied", sticky=10.0), stock=True)
    sides["vame-py"] = vame
    if args.with_full:
        sides["behavnb full"] = motif_model(dict(covariance="full"), stock=False)
    times: dict[str, list[float]] = {name: [] for name in sides}
    quality: dict[str, tuple] = {}
    for r in range(args.pairs):
        order = list(sides) if r % 2 == 0 else list(sides)[::-1]
        for name in order:
            t0 = time.perf_counter()
            labels, ll, n_iter, true = sides[name]()
            times[name].append(time.perf_counter() - t0)
            quality[name] = (ll, n_iter, adjusted_rand_score(true, labels))
            print(f"round {r + 1} {name}: {times[name][-1]:.2f} s, {n_iter} EM iterations, "
                  f"log-likelihood/frame {ll:.3f}, ARI {quality[name][2]:.3f}", flush=True)
    rows = []
    results = {"machine": machine(), "frames": frames, "dims": args.dims, "k": args.k, "pairs": args.pairs,
               "vame_threads": args.vame_threads,
               "versions": {"behavnb": behavnb.__version__, "numpy": np.__version__, "pandas": pd.__version__,
                            "scikit-learn": sklearn.__version__, "hmmlearn": hmmlearn.__version__}}
    for name, ts in times.items():
        ll, n_iter, ari = quality[name]
        rows.append(f"| {name} | {statistics.median(ts):.2f} [{min(ts):.2f}-{max(ts):.2f}] | {n_iter} | {ll:.3f} | {ari:.3f} |")
        results[name] = {"seconds": ts, "median_s": statistics.median(ts), "em_iterations": n_iter,
                         "loglik_per_frame": ll, "ari": ari}
    report(["fit + predict", "seconds, median [range]", "EM iterations", "log-lik/frame (own model)", "ARI vs truth"],
           rows, results)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--frames", type=int, default=None,
                    help="frames in all (default: 1 h at 30 fps; 12,000 with --vs-hmmlearn)")
    ap.add_argument("--dims", type=int, default=30)
    ap.add_argument("--sessions", type=int, default=None, help="default 6 (1 with --vs-hmmlearn)")
    ap.add_argument("--k", type=int, default=15, help="planted states and motifs fitted")
    ap.add_argument("--fps", type=float, default=30.0)
    ap.add_argument("--umap-frames", type=int, default=30_000)
    ap.add_argument("--no-umap", action="store_true")
    ap.add_argument("--vs-hmmlearn", action="store_true",
                    help="time behavnb's HMM against hmmlearn as vame-py uses it, interleaved (see the module doc)")
    ap.add_argument("--pairs", type=int, default=3, help="--vs-hmmlearn: interleaved rounds")
    ap.add_argument("--vame-threads", type=int, default=None,
                    help="--vs-hmmlearn: BLAS/OpenMP threads of the vame-py side (default: as installed)")
    ap.add_argument("--skip-before", action="store_true", help="--vs-hmmlearn: do not time the stock-hmmlearn path")
    ap.add_argument("--with-full", action="store_true", help="--vs-hmmlearn: also behavnb with covariance='full'")
    args = ap.parse_args(argv)
    if args.vs_hmmlearn:
        return vs_hmmlearn(args)
    args.frames = args.frames or 108_000
    args.sessions = args.sessions or 6

    import hmmlearn
    import sklearn

    import behavnb
    from behavnb import segment

    print(f"machine: {machine()}", flush=True)
    states, x = sample_hmm(args.frames, args.dims, args.k, mean_bout=30.0, seed=0)
    lat, truth = latents(states, x, args.sessions, args.fps)
    print(f"data: {args.frames:,} frames x {args.dims} dims, {args.sessions} sessions, {args.k} planted states", flush=True)

    configs = [("kmeans", dict(method="kmeans")),
               ("hmm diag", dict(method="hmm", covariance="diag")),
               ("hmm tied", dict(method="hmm", covariance="tied")),
               ("gmm diag", dict(method="gmm", covariance="diag"))]
    rows, results = [], {"machine": machine(), "frames": args.frames, "dims": args.dims, "sessions": args.sessions,
                         "k": args.k, "versions": {"behavnb": behavnb.__version__, "numpy": np.__version__,
                                                   "scikit-learn": sklearn.__version__, "hmmlearn": hmmlearn.__version__}}
    for name, kw in configs:
        t0 = time.perf_counter()
        model = segment.motif_model(n_motifs=args.k, **kw).fit(lat)
        t_fit = time.perf_counter() - t0
        t0 = time.perf_counter()
        labels = model.predict(lat)
        t_pred = time.perf_counter() - t0
        rec = segment.truth_agreement(labels, truth)
        extra = ""
        if kw["method"] == "hmm":
            extra = f"{model.model_.monitor_.iter} EM iterations, converged={model.converged_}"
        total = t_fit + t_pred
        target = TARGETS.get(name)
        ok = "" if target is None else ("yes" if total <= target else "no")
        rows.append(f"| MotifModel {name} (k={args.k}) | {t_fit:.2f} | {t_pred:.2f} | {total:.2f} | "
                    f"{'<= %g s' % target if target else '-'} | {ok} | ARI {rec['ari']:.3f}{'; ' + extra if extra else ''} |")
        results[name] = {"fit_s": t_fit, "predict_s": t_pred, "total_s": total, "ari": rec["ari"]}
        print(rows[-1], flush=True)

    if not args.no_umap:
        import warnings

        import umap

        warnings.filterwarnings("ignore", message="n_jobs value", category=UserWarning)  # random_state -> 1 thread
        rng = np.random.default_rng(1)
        sub = x[np.sort(rng.choice(len(x), min(args.umap_frames, len(x)), replace=False))].astype(np.float32)
        times = []
        for call in ("1st call (with numba JIT)", "2nd call"):
            t0 = time.perf_counter()
            umap.UMAP(n_neighbors=15, min_dist=0.1, random_state=0).fit_transform(sub)
            times.append(time.perf_counter() - t0)
            target = TARGETS.get("umap 30k (2nd call)") if call == "2nd call" else None
            ok = "" if target is None else ("yes" if times[-1] <= target else "no")
            rows.append(f"| UMAP {len(sub):,} frames, {call} | - | - | {times[-1]:.2f} | "
                        f"{'<= %g s' % target if target else '-'} | {ok} | umap-learn {umap.__version__} |")
            print(rows[-1], flush=True)
        results["umap"] = {"frames": len(sub), "first_call_s": times[0], "second_call_s": times[1],
                           "version": umap.__version__}

    report(["step", "fit (s)", "predict (s)", "total (s)", "target", "ok", "notes"], rows, results)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
