"""Transfer intervals on flat, transfer-free curves under each pairwise prior and engine.

The fixture of ``tests/curves/test_reliability.py``: two simulated tasks whose scores are
replaced by 0.7 + Normal(0, 0.05) noise, so nothing identifies transfer. Prints each rate's
posterior mean and 90% HDI (and the learned spread's 5/50/95% quantiles) for SVI with the
learned spread, SVI with the fixed prior, and NUTS with the learned spread. A prior or engine
that reports an interval excluding zero here invents transfer.

Usage::

    python experiments/curves/flat_transfer.py
"""

from __future__ import annotations

import warnings

import numpy as np

from lcurve.curves import fit_curves, simulate_results

SETTINGS = dict(family="exp3", transfer="pairwise", method="svi", svi_steps=1500,
                num_samples=100, seed=3)  # as tests/curves/test_reliability.py
VARIANTS = ({"pairwise_prior": "hierarchical"}, {"pairwise_prior": "fixed"},
            {"pairwise_prior": "hierarchical", "method": "nuts", "num_warmup": 500,
             "num_samples": 300})


def main() -> None:
    table, _ = simulate_results(n_tasks=2, seed=1)
    rng = np.random.default_rng(0)
    table = table.assign(value=np.clip(0.7 + rng.normal(0, 0.05, len(table)), 0.01, 0.99))
    for options in VARIANTS:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = fit_curves(table, **{**SETTINGS, **options})
        print(options)
        print(fit.transfer_matrix()[["source", "target", "mean", "hdi_low", "hdi_high"]]
              .round(3).to_string(index=False))
        if "transfer_sd" in fit.idata.posterior:
            spread = np.quantile(fit.idata.posterior["transfer_sd"].values, [0.05, 0.5, 0.95])
            print("transfer_sd 5/50/95%:", spread.round(3).tolist())


if __name__ == "__main__":
    main()
