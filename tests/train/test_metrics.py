import jax
import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import average_precision_score, roc_auc_score

from lcurve.train import masked_auprc, masked_auroc

_auroc = jax.jit(masked_auroc)
_auprc = jax.jit(masked_auprc)


@given(
    n=st.integers(4, 60),
    seed=st.integers(0, 10_000),
    decimals=st.sampled_from([1, 2, 6]),  # few decimals -> many ties
)
@settings(max_examples=120, deadline=None)
def test_metrics_equal_sklearn(n, seed, decimals):
    rng = np.random.default_rng(seed)
    width = 64  # one padded shape for every example: one compilation, padding exercised
    scores = np.round(rng.normal(size=width), decimals).astype(np.float32)
    labels = (rng.random(width) < 0.4).astype(np.float32)
    mask = (rng.random(width) < 0.8) & (np.arange(width) < n)
    y, s = labels[mask], scores[mask]
    auroc = float(_auroc(jnp.array(scores), jnp.array(labels), jnp.array(mask)))
    auprc = float(_auprc(jnp.array(scores), jnp.array(labels), jnp.array(mask)))
    if len(set(y)) < 2:
        assert np.isnan(auroc)
        return
    assert auroc == np.float32(roc_auc_score(y, s)) or abs(auroc - roc_auc_score(y, s)) < 1e-6
    assert abs(auprc - average_precision_score(y, s)) < 1e-5


def test_single_class_gives_nan():
    s = jnp.array([0.1, 0.5, 0.7])
    assert np.isnan(float(masked_auroc(s, jnp.ones(3), jnp.ones(3, bool))))
    assert np.isnan(float(masked_auprc(s, jnp.zeros(3), jnp.ones(3, bool))))
