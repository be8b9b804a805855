"""Ranking metrics in JAX with masks: AUROC (Mann–Whitney with tie correction) and AUPRC.

Both take scores and labels of one task over a padded set of test compounds plus a boolean mask
of which entries are real, so a fixed-shape array can hold test sets of different sizes and
``jax.vmap`` can evaluate many tasks and runs at once. They agree with scikit-learn's
``roc_auc_score`` and ``average_precision_score`` (tested). When a test set has a single class
the metric is undefined and ``NaN`` is returned.
"""

from __future__ import annotations

import jax.lax as lax
import jax.numpy as jnp

__all__ = ["masked_auroc", "masked_auprc"]


def masked_auroc(scores: jnp.ndarray, labels: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Area under the ROC curve over the entries where ``mask`` is True.

    Uses the rank-sum identity with average ranks for ties:
    ``AUROC = (sum of positive ranks - P(P+1)/2) / (P N)``.

    Example
    -------
    >>> import jax.numpy as jnp
    >>> float(masked_auroc(jnp.array([.1, .4, .35, .8]), jnp.array([0, 0, 1, 1]),
    ...                    jnp.array([True, True, True, True])))
    0.75
    """
    mask = mask.astype(bool)
    pos = mask & (labels > 0.5)
    neg = mask & (labels <= 0.5)
    big = jnp.finfo(scores.dtype).max
    valid_scores = jnp.where(mask, scores, big)  # padding sorts above every real score
    ordered = jnp.sort(valid_scores)
    lo = jnp.searchsorted(ordered, scores, side="left")
    hi = jnp.searchsorted(ordered, scores, side="right")
    rank = (lo + hi + 1) / 2.0  # 1-based average rank among real entries (ties averaged)
    n_pos = pos.sum()
    n_neg = neg.sum()
    rank_sum = jnp.where(pos, rank, 0.0).sum()
    auc = (rank_sum - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)
    return jnp.where((n_pos > 0) & (n_neg > 0), auc, jnp.nan)


def masked_auprc(scores: jnp.ndarray, labels: jnp.ndarray, mask: jnp.ndarray) -> jnp.ndarray:
    """Average precision (area under the precision–recall step curve), as scikit-learn defines it.

    ``AP = sum_t (R_t - R_{t-1}) P_t`` over distinct score thresholds ``t`` in decreasing order.
    """
    mask = mask.astype(bool)
    y = jnp.where(mask & (labels > 0.5), 1.0, 0.0)
    low = -jnp.finfo(scores.dtype).max
    s = jnp.where(mask, scores, low)
    order = jnp.argsort(-s, stable=True)
    s_sorted = s[order]
    y_sorted = y[order]
    m_sorted = mask[order]
    tp = jnp.cumsum(y_sorted)
    seen = jnp.cumsum(m_sorted.astype(scores.dtype))
    n_pos = y.sum()
    # the last entry of each run of tied scores closes a threshold
    next_differs = jnp.concatenate([s_sorted[1:] != s_sorted[:-1], jnp.array([True])])
    is_end = m_sorted & next_differs
    tp_end = jnp.where(is_end, tp, 0.0)
    # true positives at the previous threshold end (cumulative max of ends, shifted by one)
    prev_tp = jnp.concatenate([jnp.zeros(1), lax.cummax(tp_end)[:-1]])
    precision = tp / jnp.maximum(seen, 1.0)
    ap = jnp.where(is_end, (tp - prev_tp) * precision, 0.0).sum() / n_pos
    has_both = (n_pos > 0) & (n_pos < mask.sum())
    return jnp.where(has_both, ap, jnp.nan)
