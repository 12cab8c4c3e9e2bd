"""Time vame-py 0.13.0's model training and embedding (reference side of benchmarks/bench_vame.py).

Run ONLY with the separate vame-py venv (vame-py is GPL: we call it, we never copy it):

    /tmp/vamevenv/bin/python benchmarks/vame_train_reference.py --data /tmp/bench_vame/data.npz --epochs 50

``data.npz`` is written by ``bench_vame.py``: ``train`` and ``test`` arrays ``(frames, features)`` of
egocentric poses (the same frames behavnb trains and tests on), and ``test_starts``, the held-out
windows on which both sides compute reconstruction R^2.

What runs is vame-py's own code: ``vame.model.dataloader.SEQUENCE_DATASET`` (one random window per
``__getitem__``, scalar z-scoring) in a ``torch.utils.data.DataLoader`` (batch 256, shuffle,
drop_last), ``vame.model.rnn_model.RNN_VAE`` at the default architecture, and the epoch functions
``vame.model.rnn_vae.train`` / ``test`` with the reference's default loss settings, Adam(amsgrad,
lr 5e-4) and ReduceLROnPlateau(0.2, 100), as ``vame.train_model`` sets them up. Only the project
bookkeeping (config files, logging, TensorBoard) is left out. Embedding is timed two ways: vame-py's
default ``embed_latent_vectors`` loop (one window per call) and its ``_optimized`` variant (batches
of 64 from a sliding-window view), both through the model's ``encoder`` and ``lmbda``.
The last stdout line is JSON.
"""
import argparse
import json
import logging
import os
import tempfile
import time

import numpy as np
import torch
import torch.utils.data as Data
from torch.optim.lr_scheduler import ReduceLROnPlateau
from vame.model import rnn_vae
from vame.model.dataloader import SEQUENCE_DATASET
from vame.model.rnn_model import RNN_VAE


def r2_pooled(truth: np.ndarray, pred: np.ndarray) -> float:
    """1 - SSE/SST over all coordinates, SST about each coordinate's held-out mean (as behavnb.evaluate.scores)."""
    t = truth.reshape(-1, truth.shape[-1])
    p = pred.reshape(-1, pred.shape[-1])
    return float(1 - ((t - p) ** 2).sum() / ((t - t.mean(axis=0)) ** 2).sum())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", required=True)
    ap.add_argument("--epochs", type=int, default=50)
    ap.add_argument("--time-window", type=int, default=30)
    ap.add_argument("--embed-frames", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--warmup-epochs", type=int, default=0,
                    help="epochs left out of the training windows/s (bench_vame.py --pairs: 1)")
    args = ap.parse_args()
    logging.disable(logging.INFO)
    if args.threads:
        torch.set_num_threads(args.threads)
    d = np.load(args.data)
    train_x, test_x, test_starts = d["train"], d["test"], d["test_starts"]
    T, F = args.time_window, train_x.shape[1]
    rnn_vae.DEVICE = "cpu"
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "")
        np.save(path + "train_seq.npy", train_x.T)  # vame stores (features, frames)
        np.save(path + "test_seq.npy", test_x.T)
        trainset = SEQUENCE_DATASET(path, data="train_seq.npy", train=True, temporal_window=2 * T)
        testset = SEQUENCE_DATASET(path, data="test_seq.npy", train=False, temporal_window=2 * T)
        train_loader = Data.DataLoader(trainset, batch_size=256, shuffle=True, drop_last=True)
        test_loader = Data.DataLoader(testset, batch_size=64, shuffle=True, drop_last=True)
        model = RNN_VAE(2 * T, 30, F, True, 15, 256, 256, 256, 256, 0, 0, 0, False)
        optimizer = torch.optim.Adam(model.parameters(), lr=5e-4, amsgrad=True)
        scheduler = ReduceLROnPlateau(optimizer, "min", factor=0.2, patience=100, threshold=1e-3)
        mean, std = float(trainset.mean), float(trainset.std)
        tw = te = 0.0
        curve = []
        n_train = 0
        for epoch in range(1, args.epochs + 1):
            t0 = time.perf_counter()
            out = rnn_vae.train(train_loader, epoch, model, optimizer, "linear", 1, 2, 4, 2 * T, True, 15, scheduler,
                                "sum", "sum", 30, 0.1, 256, False)
            if epoch > args.warmup_epochs:
                tw += time.perf_counter() - t0
                n_train += len(train_loader) * 256
            t0 = time.perf_counter()
            rnn_vae.test(test_loader, model, 1, out[0], 2 * T, "sum", 30, 0.1, True, 64)
            te += time.perf_counter() - t0
            # held-out R^2 on the shared test windows, in original units
            model.eval()
            with torch.no_grad():
                xs = test_x[test_starts[:, None] + np.arange(T)]
                rec = model(torch.from_numpy(((xs - mean) / std).astype(np.float32)))[0].numpy() * std + mean
            model.train()
            curve.append({"epoch": epoch, "train_s": tw, "wall_s": tw + te, "r2": r2_pooled(xs, rec)})
            print(json.dumps(curve[-1]), flush=True)

        # embedding throughput, default (one window per call) and optimized (batches of 64)
        model.eval()
        data = ((test_x[: args.embed_frames] - mean) / std).astype(np.float32).T  # (features, frames)
        n_win = min(data.shape[1] - T + 1, 3000)
        t0 = time.perf_counter()
        with torch.no_grad():
            for i in range(n_win):
                sample = np.reshape(data[:, i:T + i].T, (1, T, F))
                h = model.encoder(torch.from_numpy(sample).float())
                model.lmbda(h)
        embed_single = n_win / (time.perf_counter() - t0)
        windows = np.lib.stride_tricks.sliding_window_view(data.T, window_shape=T, axis=0).transpose(0, 2, 1)
        t0 = time.perf_counter()
        with torch.no_grad():
            for a in range(0, len(windows), 64):
                h = model.encoder(torch.from_numpy(np.ascontiguousarray(windows[a:a + 64])).float())
                model.lmbda(h)
        embed_batched = len(windows) / (time.perf_counter() - t0)
    print(json.dumps({"train_windows_per_s": n_train / tw, "epochs": args.epochs, "train_s": tw,
                      "wall_s": curve[-1]["wall_s"], "final_r2": curve[-1]["r2"], "curve": curve,
                      "embed_windows_per_s_default": embed_single, "embed_windows_per_s_optimized": embed_batched,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
