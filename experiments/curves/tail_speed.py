"""How fast do the MoleculeACE curves rise beyond the fitted sizes? Straight lines, no curve
model: the most optimistic extrapolations a saturating family can approach.

For every target, the single-task AUROC averaged over seeds is regressed on log2(size) over
the sizes a leave-future-out fit sees (<= 1/4 of the largest: all of them, or only the last
three), and extrapolated to the largest size, on three scales:

- ``score``: AUROC linear in log n (a constant gain per doubling, never saturating);
- ``log_error``: log(1 - AUROC) linear in log n (a power law with no error floor, LCDB's
  ``pow2`` on the error; ``pow3``/``pow4`` with the asymptote at 1);
- ``logit``: logit(AUROC) linear in log n (``logpower3`` with the asymptote at 1).

Prints the bias and MAE of each against the held-out mean AUROC at the largest size
(``lfo.py``'s split). Sweeps: ``pairs`` (8 targets, <= 512 -> 2048) and ``joint30``
(30 targets, <= 128 -> 512). Usage::

    python experiments/curves/tail_speed.py
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from make_moleculeace_sweep import single_runs, sweep_path

SCALES = {
    "score": (lambda y: y, lambda z: z),
    "log_error": (lambda y: np.log1p(-y), lambda z: -np.expm1(z)),
    "logit": (lambda y: np.log(y / (1 - y)), lambda z: 1 / (1 + np.exp(-z))),
}


def single_curves(kind: str) -> pd.DataFrame:
    """Mean single-task AUROC per target (rows) and own size (columns)."""
    _, single = single_runs(sweep_path(kind))
    return single.pivot_table(index="task", columns="own", values="value", aggfunc="mean")


def extrapolate(curves: pd.DataFrame, last: int | None) -> pd.DataFrame:
    rows = []
    for task, curve in curves.iterrows():
        curve = curve.dropna()
        sizes = curve.index.to_numpy(float)
        largest = sizes.max()
        fitted = curve[sizes <= largest / 4]
        if last is not None:
            fitted = fitted.iloc[-last:]
        x = np.log2(fitted.index.to_numpy(float))
        for scale, (to, back) in SCALES.items():
            slope, intercept = np.polyfit(x, to(fitted.to_numpy()), 1)
            rows.append({"task": task, "scale": scale, "observed": curve[largest],
                         "predicted": back(intercept + slope * np.log2(largest))})
    out = pd.DataFrame(rows)
    out["error"] = out["predicted"] - out["observed"]
    return out


def log_error_slopes(curves: pd.DataFrame) -> tuple[float, float]:
    """Mean over targets of the change of log(1 - AUROC) per doubling, up to 1/4 of the
    largest size and from there to the largest."""
    log_error = np.log1p(-curves)
    sizes = curves.columns.to_numpy(float)
    quarter = sizes[sizes <= sizes.max() / 4].max()
    doublings = np.log2([quarter / sizes.min(), sizes.max() / quarter])
    return ((log_error[quarter] - log_error[sizes.min()]).mean() / doublings[0],
            (log_error[sizes.max()] - log_error[quarter]).mean() / doublings[1])


def main() -> None:
    for kind in ("pairs", "joint30"):
        curves = single_curves(kind)
        if kind == "pairs":  # every target has every size
            fitted, beyond = log_error_slopes(curves)
            print(f"{kind}: log(1 - AUROC) per doubling {fitted:+.3f} over the fitted sizes, "
                  f"{beyond:+.3f} beyond them\n")
        for last, label in ((None, "all fitted sizes"), (3, "last 3 fitted sizes")):
            errors = extrapolate(curves, last)
            summary = errors.groupby("scale")["error"].agg(
                bias="mean", mae=lambda e: e.abs().mean(), under=lambda e: (e < 0).mean())
            print(f"{kind} ({len(curves)} targets), lines through {label}:")
            print(summary.round(3).to_string(), "\n")


if __name__ == "__main__":
    main()
