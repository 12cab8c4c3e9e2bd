"""Latents -> motifs: one label per frame, and the tables built on them.

- ``MotifModel`` (``model``): kmeans, Gaussian HMM (fitted per recording), GMM, or VQ-MAP codes;
- ``usage``, ``bouts``, ``bout_stats``, ``onsets`` (``tables``): what the labels say per session;
- ``choose_k`` / ``suggest_k`` (``choose``): stability, the usage rule, held-out likelihood;
- ``recovery``, ``confusion``, ``bout_comparison`` (``recovery``): against known motifs (synthetic data);
- ``write_names`` / ``read_names`` (``names``): the user-edited ``motif_names.csv``;
- ``instances``, ``instance_poses``, ``motif_features``, ``umap_table``, ``MotifData`` (``views``): what the
  browser and the gallery show;
- ``write_motifs`` (``outputs``): one segmentation to ``motifs/<name>/``.
"""

from behavnb.segment.choose import choose_k, split_tail, suggest_k
from behavnb.segment.model import COVARIANCES, METHODS, MotifModel
from behavnb.segment.outputs import write_motifs
from behavnb.segment.names import default_name, read_names, read_notes, rename_defaults, write_names
from behavnb.segment.recovery import bout_comparison, confusion, matching, names_from_truth, recovery
from behavnb.segment.views import (DEFAULT_FEATURES, MotifData, instance_clip, instance_poses, instances, motif_features,
                                   typical_trajectory, umap_table)
from behavnb.segment.tables import bout_stats, bouts, fps_of, label_arrays, onsets, usage, usage_matrix

__all__ = ["MotifModel", "METHODS", "COVARIANCES", "usage", "usage_matrix", "bouts", "bout_stats", "onsets",
           "label_arrays", "fps_of", "choose_k", "suggest_k", "split_tail", "recovery", "confusion", "matching",
           "bout_comparison", "names_from_truth", "rename_defaults", "write_motifs", "write_names", "read_names", "read_notes", "default_name", "instances", "instance_clip", "instance_poses",
           "typical_trajectory", "motif_features", "umap_table", "DEFAULT_FEATURES", "MotifData"]
