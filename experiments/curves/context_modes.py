"""Per-chain view of a ``contextual`` leave-future-out refit: do its chains sit in different
modes?

Fits ``contextual`` (the library's defaults, ``--set`` overrides) on the training rows of
``lfo.py``'s split of one MoleculeACE data set and prints, per chain, the mean of a few
sites (the curve hyper-means ``c_mu`` and ``alpha_mu``, the nested-design sds, the tasks'
mean rate ``transfer_context``) and of the total log-likelihood, then the held-out runs'
mean prediction error, then the within-chain sd of the total log-likelihood and the modes
the library's diagnostics find (:func:`lcurve.curves._summaries.separate_modes`). Chains whose
log-likelihoods differ by many units while R-hat is large are in different modes, not merely
slow.

Usage::

    python experiments/curves/context_modes.py --data moleculeace-context2 --cpu-devices 4
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import lfo
from lcurve.curves import fit_curves

SITES = ("c_mu", "alpha_mu", "subsample_sd", "trajectory_sd", "transfer_context")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="moleculeace-context2",
                        choices=[d for d in lfo.MOLECULEACE_SOURCES if d != "moleculeace"])
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="FitConfig fields, e.g. seed=1")
    args = lfo.parse_args(parser)
    train, held = lfo.split(lfo.structure_table(args.data, "contextual"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(train, transfer="contextual", method="nuts",
                         **lfo.parse_options(args.set))
    post = fit.idata.posterior
    for site in SITES:
        values = post[site].values
        per_chain = values.reshape(values.shape[0], values.shape[1], -1).mean(-1).mean(1)
        print(f"{site:>17}: " + " ".join(f"{m:+.4f}" for m in per_chain))
    loglik = fit.idata.log_likelihood
    values = loglik[list(loglik.data_vars)[0]].values
    total = values.reshape(values.shape[0], values.shape[1], -1).sum(-1).mean(1)
    print(f"{'log-likelihood':>17}: " + " ".join(f"{m:.1f}" for m in total))
    sums = values.reshape(values.shape[0], values.shape[1], -1).sum(-1)
    print(f"within-chain sd of the total log-likelihood (pooled): "
          f"{np.sqrt(sums.var(1, ddof=1).mean()):.1f}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = fit.predict(lfo._request(held))
        diag = fit.diagnostics()
    error = pred["test_mean"].to_numpy() - held["value"].to_numpy()
    print(f"held-out runs: mean error {error.mean():+.4f}, max R-hat {diag.max_rhat:.3f}")
    print(f"modes (chains, highest log-likelihood first): {list(diag.modes)}")
    for message in diag.messages:
        print(f"diagnostics: {message}")


if __name__ == "__main__":
    main()
