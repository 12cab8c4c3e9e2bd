"""Group statistics with the animal as the unit (notebook 09_group_stats).

The room after ``hierarchy`` in the flow (... codes/segment -> hierarchy -> **stats** -> evaluate/health/demos
-> plot/widgets ...): it reads the labels, the sessions' metadata and the hierarchy's communities.

- ``animal_table`` / ``session_metrics`` / ``per_subject`` / ``check_design`` (``tables``): tidy per-animal metrics
  (usage, bout count, bout rate, mean bout duration) joined with the sessions' metadata, one row per motif of
  ``motif_set`` (the declared ids, stored metadata or the ids used in the study; never max + 1); ``kinematics_table``
  (mean speed, body length, head angle per motif) and ``transition_table`` (transition probabilities, entropy
  rate) in the same format;
- ``compare`` / ``Results`` / ``methods_text`` (``compare``): the default test per motif and metric, q-values
  over a declared family (bout count left out when it duplicates bout rate: ``equal_length_duplicates``), effect
  sizes with confidence intervals whose method was chosen by measured coverage, and a methods paragraph;
  ``untestable_reason`` says why a cohort cannot be tested (one group, a group under 2 animals); ``small="skip"``
  on ``compare``, ``transition_test`` and ``repertoire_test`` keeps the descriptive part and the columns, with NaN
  tests;
- ``mann_whitney`` (``permutation_mann_whitney`` with ties), ``kruskal``, ``welch``, ``posthoc`` (``nonparametric``);
  ``log2_fold_change``, ``hedges_g``, ``cliffs_delta``, ``bootstrap_ci`` (percentile, BCa, t-based, bootstrap-t,
  symmetric bootstrap-t; ``effects``); ``adjust`` (BH/BY, ``multitest``);
- ``mixed_model`` (MixedLM, random intercept per subject, logit/log scales, GEE or rank-test fallback with a
  warning) and ``gee_counts`` (counts with exposure, subject clusters) (``models``);
- ``transition_test`` (``transitions``): whole-matrix and per-edge permutation tests over animals, FDR over edges;
- ``clr``, ``permanova``, ``repertoire_test`` (``compositional``): the whole repertoire as one test;
- ``behaviorflow_test`` (``behaviorflow``): BehaviorFlow's recipe; ``mode="r"`` equals its R code on every metric,
  the default ``mode="behavnb"`` counts bouts as runs and absent clusters as 0 (the differences documented there);
- ``error_rates`` / ``summarize_error_rates`` / ``rate_ci`` (``calibration``): false-positive rate and power on
  simulated cohorts, each with its Monte Carlo confidence interval;
- ``entry_rates`` / ``rate_test`` (``rates``): how often each animal enters a motif, tested between groups
  (``compare(test="rate")``);
- ``oracle_power``, ``minimum_detectable_effect``, ``between_animal_sd``, ``labels_variability``,
  ``generator_variability`` (``power``): planning a study, i.e. the smallest effect a cohort size can detect, from
  the between-animal spread of a real labels set or of the synthetic generator.
"""

from behavnb.stats.behaviorflow import behaviorflow_test, cluster_metrics, smooth_labels
from behavnb.stats.calibration import error_rates, rate_ci, summarize_error_rates
from behavnb.stats.compare import RESULT_COLUMNS, Results, compare, equal_length_duplicates, methods_text, untestable_reason
from behavnb.stats.compositional import clr, permanova, repertoire_test
from behavnb.stats.effects import bootstrap_ci, cliffs_delta, hedges_g, log2_fold_change
from behavnb.stats.models import gee_counts, mixed_model
from behavnb.stats.multitest import adjust
from behavnb.stats.nonparametric import kruskal, mann_whitney, permutation_mann_whitney, posthoc, welch
from behavnb.stats.power import (
                                   between_animal_sd,
                                   generator_variability,
                                   labels_variability,
                                   minimum_detectable_effect,
                                   oracle_power,
)
from behavnb.stats.rates import entry_rates, rate_test
from behavnb.stats.tables import (
                                   animal_table,
                                   check_design,
                                   kinematics_table,
                                   motif_set,
                                   per_subject,
                                   session_metrics,
                                   transition_table,
)
from behavnb.stats.transitions import subject_probabilities, transition_test

__all__ = [
    "animal_table", "kinematics_table", "transition_table", "check_design", "per_subject", "session_metrics",
    "compare", "Results", "methods_text", "untestable_reason", "RESULT_COLUMNS",
    "mann_whitney", "permutation_mann_whitney", "kruskal", "welch", "posthoc",
    "log2_fold_change", "hedges_g", "cliffs_delta", "bootstrap_ci",
    "adjust", "clr", "permanova", "repertoire_test", "error_rates", "mixed_model", "gee_counts",
    "transition_test", "subject_probabilities", "behaviorflow_test", "cluster_metrics", "smooth_labels",
    "motif_set", "equal_length_duplicates", "summarize_error_rates", "rate_ci",
    "entry_rates", "rate_test",
    "oracle_power", "minimum_detectable_effect", "between_animal_sd", "labels_variability", "generator_variability",
]
