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
    post = fit.idata.posterior
    draws = {name: post[name].values.reshape(-1, post[name].shape[-1])
             for name in ("transfer_context", "context_shift")}
    for name, values in draws.items():
        means = values.mean(0)
        print(f"{name}: per-task posterior means {means.mean():+.3f} on average, "
              f"{means.min():+.3f} to {means.max():+.3f}")
    corr = [np.corrcoef(draws["transfer_context"][:, k], draws["context_shift"][:, k])[0, 1]
            for k in range(draws["context_shift"].shape[1])]
    print(f"correlation of rate and shift across draws: median over tasks {np.median(corr):+.2f}"
          f" ({np.min(corr):+.2f} to {np.max(corr):+.2f})")


if __name__ == "__main__":
    main()
