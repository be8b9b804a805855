"""The contextual fit of a leave-future-out split: how its per-task rates and asymptote shifts
trade off when every run with context has the same context size (one level).

Fits ``contextual`` with its asymptote shift (``context_shift=True``, the default until
RESULTS.md V5; the library's default NUTS and family) on the training rows of
``lfo.py``'s split (sizes <= 1/4 of each task's largest) of one MoleculeACE data set and prints
the per-task posterior means of the rate ``transfer_context`` and of ``context_shift``, and
the median over tasks of their correlation across draws (a ridge: a rate that places the
context runs at larger effective sizes against a shift of their asymptote).

Usage::

    python experiments/curves/context_ridge.py --data moleculeace30 --cpu-devices 4
"""

from __future__ import annotations

import argparse
import warnings

import numpy as np

import lfo
from lcurve.curves import fit_curves


SITES = ("transfer_context", "context_shift")


def rate_shift_draws(fit) -> dict[str, np.ndarray]:
    """A ``contextual`` fit's per-task rates and (where fitted) asymptote shifts, each as an
    array of draws x tasks (chains pooled)."""
    post = fit.idata.posterior
    return {s: post[s].values.reshape(-1, post[s].shape[-1]) for s in SITES if s in post}


def rate_shift_correlation(draws: dict[str, np.ndarray]) -> list[float]:
    """Per task, the correlation of its rate and its shift across the draws."""
    rate, shift = draws["transfer_context"], draws["context_shift"]
    return [float(np.corrcoef(rate[:, k], shift[:, k])[0, 1]) for k in range(rate.shape[1])]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default="moleculeace30",
                        choices=[d for d in lfo.MOLECULEACE_SOURCES if d != "moleculeace"])
    args = lfo.parse_args(parser)
    table = lfo.structure_table(args.data, "contextual")
    train, _ = lfo.split(table)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(train, transfer="contextual", method="nuts", context_shift=True)
    draws = rate_shift_draws(fit)
    for name, values in draws.items():
        means = values.mean(0)
        print(f"{name}: per-task posterior means {means.mean():+.3f} on average, "
              f"{means.min():+.3f} to {means.max():+.3f}")
    corr = rate_shift_correlation(draws)
    print(f"correlation of rate and shift across draws: median over tasks {np.median(corr):+.2f}"
          f" ({np.min(corr):+.2f} to {np.max(corr):+.2f})")


if __name__ == "__main__":
    main()
