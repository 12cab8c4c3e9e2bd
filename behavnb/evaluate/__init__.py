"""What a trained sequence model learned: held-out reconstruction/prediction scores and generated motion.

A check room after the analysis in the flow (... hierarchy -> stats -> **evaluate**/health/demos -> plot/widgets
...): it reads a trained model and its windows or latents, and changes nothing upstream.

- ``reconstruct``: inputs, reconstructions, true and predicted future frames for some windows, in the
  data's own units (the normaliser undone).
- ``scores``: MSE and R^2 per keypoint for reconstruction and future prediction on held-out windows.
  R^2 = 1 - SSE / SST with SST about the held-out mean of each coordinate, pooled over a
  keypoint's coordinates; 1 is perfect, 0 is no better than the mean posture.
- ``sample_latents`` / ``decode``: generative sampling as in VAME: draw latents from a Gaussian
  mixture fitted to the embedding (or take motif centres) and decode them into pose sequences.
- ``kmeans_labels`` (synthetic data): k-means on the latents, labels to score against the true motifs with
  ``segment.truth_agreement``; ``scored_frames`` decides which frames any truth score uses.
- ``scalar_baseline``: the same k-means and notebook 06's HMM on four per-frame kinematic scalars (speed,
  turning, body length, head angle), scored on the model's frames with the model's k; ``with_baseline`` puts
  it beside the model's score. Every ARI/NMI a notebook shows has it beside it.

The parts: ``reconstruction`` (VAME-style models), ``truth`` (agreement with the true motifs and the baseline),
``vqmap`` (VQ-MAP models).

"""

from behavnb.evaluate.reconstruction import Reconstruction, decode, reconstruct, sample_latents, scores, to_poses
from behavnb.evaluate.truth import (
    BASELINE_METHODS,
    BASELINE_SCALARS,
    baseline_scalars,
    kmeans_labels,
    scalar_baseline,
    scored_frames,
    with_baseline,
)
from behavnb.evaluate.vqmap import decode_codes, vqmap_conversion, vqmap_dropout_curve, vqmap_scores

__all__ = [
    "Reconstruction", "decode", "reconstruct", "sample_latents", "scores", "to_poses", "BASELINE_METHODS",
    "BASELINE_SCALARS", "baseline_scalars", "kmeans_labels", "scalar_baseline", "scored_frames", "with_baseline",
    "decode_codes", "vqmap_conversion", "vqmap_dropout_curve", "vqmap_scores",
]
