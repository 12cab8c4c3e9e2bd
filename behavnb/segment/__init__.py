"""Latents -> motifs: one label per frame, and the tables built on them.

The segment half of the room after ``embed`` in the flow (... train -> embed -> codes/**segment** -> hierarchy
-> stats ...): it turns ``embed``'s latents into the labels table that ``hierarchy`` and ``stats`` read.

- ``KMeansMotifs``, ``HMMMotifs`` (fitted per recording), ``GMMMotifs``, ``VQMotifs`` (VQ-MAP's codes), their base
  ``MotifModel`` and ``motif_model(method, ...)`` (``model``): the motif models, scikit-learn style;
- ``write_motifs`` / ``read_segmentation`` / ``Segmentation`` (``outputs``): one segmentation in ``motifs/<name>/``,
  its labels with their metadata (k, label ids, frame rate, model, method) in ``segmentation.json``;
- ``bouts``, ``bout_stats``, ``onsets``, ``usage_matrix``, ``label_arrays``, ``fps_of`` (``tables``): what the
  labels say per session (usage itself is ``codes.usage``);
- ``choose_k`` / ``suggest_k`` (``choose``): stability, the usage rule, held-out likelihood;
- ``truth_agreement``, ``matching``, ``confusion``, ``bout_comparison``, ``names_from_truth`` (``recovery``):
  against known motifs (synthetic data);
- ``write_names`` / ``read_names`` (``names``): the user-edited ``motif_names.csv``;
- ``instances``, ``instance_poses``, ``motif_features``, ``umap_table``, ``MotifData`` (``views``): what the
  browser and the gallery show.
"""

from behavnb.segment.choose import choose_k, split_tail, suggest_k
from behavnb.segment.methods import ESTIMATORS, METHODS, GMMMotifs, HMMMotifs, KMeansMotifs, VQMotifs, motif_model
from behavnb.segment.model import COVARIANCES, MotifModel
from behavnb.segment.names import default_name, read_names, read_notes, rename_defaults, write_names
from behavnb.segment.outputs import SEGMENTATION_FILE, Segmentation, read_segmentation, write_motifs
from behavnb.segment.recovery import agreement, bout_comparison, confusion, matching, names_from_truth, truth_agreement
from behavnb.segment.tables import bout_stats, bouts, fps_of, label_arrays, onsets, usage_matrix
from behavnb.segment.views import (
                                   DEFAULT_FEATURES,
                                   MotifData,
                                   instance_clip,
                                   instance_poses,
                                   instances,
                                   motif_features,
                                   typical_trajectory,
                                   umap_table,
)

__all__ = ["MotifModel", "KMeansMotifs", "HMMMotifs", "GMMMotifs", "VQMotifs", "motif_model", "ESTIMATORS", "METHODS",
           "COVARIANCES", "Segmentation", "read_segmentation", "write_motifs", "SEGMENTATION_FILE", "usage_matrix",
           "bouts", "bout_stats", "onsets", "label_arrays", "fps_of", "choose_k", "suggest_k", "split_tail",
           "truth_agreement", "agreement", "confusion", "matching", "bout_comparison", "names_from_truth", "rename_defaults",
           "write_names", "read_names", "read_notes", "default_name", "instances", "instance_clip", "instance_poses",
           "typical_trajectory", "motif_features", "umap_table", "DEFAULT_FEATURES", "MotifData"]
