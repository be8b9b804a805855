"""How well can anything extrapolate these runs? Empirical predictors of the 30 targets'
held-out runs, some of them shown the other targets' futures.

Leave-future-out on MoleculeACE (``lfo.py``) fits each target's sizes <= 1/4 of its largest
and predicts its single-task runs at the largest; issue 12's bar is an MAE <= 0.02. This
script scores simple predictors of the same held-out runs (``lcurve.curves.checks.
split_future``: the same split), built from the targets' mean single-task score at each
fitted size (over seeds):

- ``flat``: the target's mean at its largest fitted size (no further learning);
- ``own-slope``: that plus its last fitted doubling's gain per doubling, carried on in log
  size to the largest (a straight line in log n; no other target is used);
- ``mean-gain``: that mean plus the other targets' mean gain per doubling from their largest
  fitted size to their largest;
- ``regression``: the gain per doubling to the largest by least squares over the other
  targets on the last fitted doubling's gain and the score reached
  (``gain ~ 1 + last_gain + last_score``);
- ``oracle-mean``: the target's own held-out runs' mean. The mean includes the run it
  predicts, so its MAE is ``noise_mae`` (printed; the MAE that knowing each target's
  expected score would leave) times ``sqrt((S - 1) / S)`` for ``S`` runs per target.

``mean-gain`` and ``regression`` are leave-one-target-out: each target is predicted from the
other targets' *held-out* futures, information a leave-future-out fit does not have. They are
not methods; they are an optimistic reference for how much of a target's future its fitted
sizes and the other targets' curves carry. ``--compare RUNS.csv`` (``lfo.py --runs-out``, on
the same sweep) puts the fitted curves' predictions of the same runs beside them, and
``--bootstrap B`` gives each MAE a 90% interval over targets (resampled with their runs).

Usage::

    python experiments/curves/make_moleculeace_sweep.py --kinds single30   # minutes
    python experiments/curves/lfo.py --data moleculeace30-single --structures none \\
        --families pow4 --cpu-devices 2 --runs-out experiments/curves/lfo_runs/single30_runs.csv
    python experiments/curves/lfo_ceiling.py --compare experiments/curves/lfo_runs/single30_runs.csv
"""

from __future__ import annotations

import argparse

import numpy as np
import pandas as pd

from lcurve.curves.checks import noise_mae, split_future
from lcurve.design import own_sizes
from lcurve.sweep import read_results
from make_moleculeace_sweep import single_task, sweep_path

PREDICTORS = ("flat", "own-slope", "mean-gain", "regression", "oracle-mean")


def target_curves(table: pd.DataFrame, fraction: float = 0.25):
    """``(curves, held)``: per target its largest fitted size ``n_last``, the size before it
    ``n_prev``, the mean single-task scores there (``last``, ``prev``), its largest size
    ``n_held`` and held-out mean ``future``; and the held-out runs (``split_future``'s).
    Raises ``ValueError`` when a target has fewer than two fitted sizes."""
    train, held = split_future(table, fraction)
    means = single_task(train).groupby(["task", "own"])["value"].mean()
    rows = []
    for task, held_runs in held.groupby("task"):
        curve = (means.loc[task].sort_index() if task in means.index.get_level_values(0)
                 else pd.Series(dtype=float))
        if len(curve) < 2:
            raise ValueError(f"{task}: fewer than two fitted sizes ({list(curve.index)})")
        rows.append({"task": task, "n_prev": curve.index[-2], "n_last": curve.index[-1],
                     "prev": curve.iloc[-2], "last": curve.iloc[-1],
                     "n_held": float(own_sizes(held_runs).max()),
                     "future": held_runs["value"].mean()})
    curves = pd.DataFrame(rows).set_index("task")
    curves["last_gain"] = (curves["last"] - curves["prev"]) / np.log2(
        curves["n_last"] / curves["n_prev"])  # per doubling
    curves["doublings"] = np.log2(curves["n_held"] / curves["n_last"])
    curves["future_gain"] = (curves["future"] - curves["last"]) / curves["doublings"]
    return curves, held


def predict(curves: pd.DataFrame) -> pd.DataFrame:
    """Each target's predicted expected score at its largest size, one column per
    :data:`PREDICTORS` (``mean-gain`` and ``regression`` leave the target out). Raises
    ``ValueError`` with fewer than 5 targets (the regression's 3 coefficients need more
    than 3 others)."""
    if len(curves) < 5:
        raise ValueError(f"{len(curves)} targets: the leave-one-target-out regression needs "
                         "at least 5")
    out = pd.DataFrame(index=curves.index)
    out["flat"] = curves["last"]
    out["own-slope"] = curves["last"] + curves["last_gain"] * curves["doublings"]
    mean_gain, regression = [], []
    for task in curves.index:
        others = curves.drop(index=task)
        mean_gain.append(others["future_gain"].mean())
        design = np.column_stack([np.ones(len(others)), others["last_gain"], others["last"]])
        coef, *_ = np.linalg.lstsq(design, others["future_gain"].to_numpy(), rcond=None)
        regression.append(coef @ [1.0, curves.at[task, "last_gain"], curves.at[task, "last"]])
    out["mean-gain"] = curves["last"] + np.array(mean_gain) * curves["doublings"]
    out["regression"] = curves["last"] + np.array(regression) * curves["doublings"]
    out["oracle-mean"] = curves["future"]
    return out


def score_runs(held: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """One row per held-out run: task, seed, observed score and each predictor's error."""
    runs = held[["task", "seed", "value"]].rename(columns={"value": "observed"})
    runs = runs.join(predictions, on="task")
    for column in predictions.columns:
        runs[column] = runs[column] - runs["observed"]
    return runs.reset_index(drop=True)


def summarise(errors: pd.DataFrame, columns, bootstrap: int = 0, seed: int = 0,
              reference: str = "regression") -> pd.DataFrame:
    """Bias and MAE of each error column over the runs, and its MAE minus ``reference``'s
    (paired on the same runs); with ``bootstrap`` > 0 90% intervals of both over targets
    resampled with replacement (each with all its runs)."""
    absolute = errors[list(columns)].abs()
    rows = [{"predictor": c, "bias": errors[c].mean(), "mae": absolute[c].mean(),
             "max_abs": absolute[c].max(),
             f"minus_{reference}": absolute[c].mean() - absolute[reference].mean()}
            for c in columns]
    out = pd.DataFrame(rows)
    if bootstrap:
        rng = np.random.default_rng(seed)
        per_task = absolute.groupby(errors["task"].to_numpy())
        sums, counts = per_task.sum().to_numpy(), per_task.size().to_numpy()
        picks = rng.integers(0, len(counts), size=(bootstrap, len(counts)))
        maes = sums[picks].sum(axis=1) / counts[picks].sum(axis=1)[:, None]  # (B, columns)
        gaps = maes - maes[:, [list(columns).index(reference)]]
        out["mae_lo"], out["mae_hi"] = np.quantile(maes, [0.05, 0.95], axis=0)
        out["minus_lo"], out["minus_hi"] = np.quantile(gaps, [0.05, 0.95], axis=0)
    return out


def join_fits(errors: pd.DataFrame, fitted: pd.DataFrame):
    """``(errors, names)``: ``errors`` with one column per (structure, family) of ``fitted``
    (``lfo.py --runs-out`` rows), its prediction's error on the same runs, named
    ``fit:<structure>/<family>``. Raises ``ValueError`` when a fit's held-out runs are not
    these (missing, or another sweep's scores)."""
    errors, names = errors.copy(), []
    for (structure, family), runs in fitted.groupby(["structure", "family"], sort=False):
        name = f"fit:{structure}/{family}"
        runs = runs.set_index(["task", "seed"])
        if runs.index.has_duplicates:
            raise ValueError(f"{name}: more than one prediction of a run (several data sets "
                             "or options in one file?)")
        joined = errors[["task", "seed"]].join(runs[["mean", "observed"]], on=["task", "seed"])
        if joined["observed"].isna().any() or not np.allclose(joined["observed"],
                                                               errors["observed"]):
            raise ValueError(f"{name}: its held-out runs are not these (another sweep's fits?)")
        errors[name] = joined["mean"].to_numpy() - errors["observed"].to_numpy()
        names.append(name)
    return errors, names


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="single30",
                        help="cached sweep kind (make_moleculeace_sweep.py), default single30")
    parser.add_argument("--fraction", type=float, default=0.25)
    parser.add_argument("--compare", metavar="RUNS.csv",
                        help="lfo.py --runs-out of fits on the same sweep: their errors beside")
    parser.add_argument("--bootstrap", type=int, default=2000)
    parser.add_argument("--per-target", action="store_true",
                        help="also print every target's curve summary and errors")
    args = parser.parse_args()
    table = read_results(sweep_path(args.sweep))
    curves, held = target_curves(table, args.fraction)
    errors = score_runs(held, predict(curves))
    columns = list(PREDICTORS)
    if args.compare:
        errors, fitted = join_fits(errors, pd.read_csv(args.compare))
        columns += fitted
    print(f"{args.sweep}: {len(curves)} targets, {len(held)} held-out runs, fitted sizes up to "
          f"{sorted(curves['n_last'].unique())}, held out at {sorted(curves['n_held'].unique())}; "
          f"noise_mae {noise_mae(held):.4f}")
    print("gain per doubling, mean over targets: last fitted doubling "
          f"{curves['last_gain'].mean():+.4f}, fitted to held out {curves['future_gain'].mean():+.4f}; "
          f"their correlation over targets {curves[['last_gain', 'future_gain']].corr().iloc[0, 1]:+.2f}")
    print(summarise(errors, columns, args.bootstrap).round(4).to_string(index=False))
    if args.per_target:
        per_task = errors.groupby("task")[columns].mean()
        print(curves.join(per_task).round(4).to_string())


if __name__ == "__main__":
    main()
