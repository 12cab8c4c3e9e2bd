"""Synthetic cohorts with known truth: the embedded default dataset of the notebook series.

``synth`` (synthetic cohorts with ground truth) sits beside the run layer, above io: its files enter the flow
through ``manifest`` and ``io`` like any tracker's, and its truth scores what the flow finds.

``make_cohort`` simulates top-view mice (10 keypoints, 4 paws optional, z with ``dims=3``) whose
behaviour is a semi-Markov chain of eight motifs, moving in a walled arena, in genotype groups with
planted effects, filmed by a camera per session and seen through DeepLabCut-like tracking noise.
Generator v2: each motif is defined by how the keypoints move over time (grooming strokes, sniffing,
gait cycles, breathing; :mod:`behavnb.synth.behaviours`, with the literature behind every range), so
that behaviours overlap in body-level scalars as real ones do and a model must read the keypoints'
dynamics to tell them apart. It writes tracker files, a sessions table and the truth (``truth.parquet``:
per-frame motifs, true centre, heading and speed; ``truth_noise.parquet``: every corrupted point;
``truth.json``: the specification, effects and per-animal parameters, and the coordinate conventions). The same seed
gives the same bytes for ``fmt="dlc-csv"`` and ``fmt="sleap"`` (and for the truth files); ``"dlc-h5"``
files hold the same numbers but not the same bytes, because PyTables stamps HDF5 objects with their
creation time. Behaviour and tracking noise come from separate random streams, so noise settings,
``dims`` and ``fmt`` never change the behaviour truth. ``label_cohort`` draws the behaviour labels alone
(no poses), fast enough to calibrate statistics on thousands of cohorts.
"""

from behavnb.synth.cohort import Cohort, make_cohort
from behavnb.synth.labels import label_cohort
from behavnb.synth.noise import NoiseSpec
from behavnb.synth.programs import DEFAULT_EFFECTS, MOTIFS, Effects

__all__ = ["make_cohort", "label_cohort", "Cohort", "Effects", "NoiseSpec", "MOTIFS", "DEFAULT_EFFECTS"]
