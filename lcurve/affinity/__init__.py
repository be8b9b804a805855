"""Comparisons of transfer estimates: TAG affinities, accumulating-data learning curves, task
grouping, ground truths and the head-to-head harness.

Layer: may import ``data``, ``design``, ``train`` and ``sweep``; never ``plot``, ``report`` or
``cli``.

Example
-------
>>> from lcurve.datasets import make_synthetic
>>> data, _ = make_synthetic(n_tasks=3, n_compounds=300, n_features=16)
>>> scores = tag_affinity(data, TagConfig(hidden=(8,), steps=20, every=5, seeds=(0,)))
>>> len(group_tasks(scores, max_groups=2).groups) <= 2
True
"""

from lcurve.affinity.accumulating import accumulating_sweep, accumulating_transfer
from lcurve.affinity.compare import (
    METHODS,
    CompareConfig,
    CompareExperiment,
    Comparison,
    compare_methods,
    comparison_data,
    method_scores,
)
from lcurve.affinity.grouping import TaskGrouping, group_tasks, grouping_score, score_matrix
from lcurve.affinity.tag import TagConfig, lookahead_affinity, tag_affinity
from lcurve.affinity.truth import agreement, measured_benefit

__all__ = [
    "METHODS",
    "CompareConfig",
    "CompareExperiment",
    "Comparison",
    "accumulating_sweep",
    "accumulating_transfer",
    "comparison_data",
    "method_scores",
    "TagConfig",
    "TaskGrouping",
    "agreement",
    "compare_methods",
    "group_tasks",
    "grouping_score",
    "lookahead_affinity",
    "measured_benefit",
    "score_matrix",
    "tag_affinity",
]
