"""Comparisons of transfer estimates: TAG affinities, task grouping, and the head-to-head harness.

Layer: may import ``data``, ``design``, ``train`` and ``sweep``; never ``plot``, ``report`` or
``cli``.
"""

from lcurve.affinity.grouping import TaskGrouping, group_tasks, grouping_score, score_matrix
from lcurve.affinity.tag import TagConfig, lookahead_affinity, tag_affinity

__all__ = [
    "TagConfig",
    "TaskGrouping",
    "group_tasks",
    "grouping_score",
    "lookahead_affinity",
    "score_matrix",
    "tag_affinity",
]
