"""Does a second context level separate a context's rate from an asymptote shift under it?

Simulates contextual sweeps from the library's own design (``lcurve.design.make_design``,
``kind="contextual"``, on the synthetic data's 5 tasks: sizes 32..512, one point per doubling,
two seeds) with one context level (``context_fraction=1.0``, every other task at all its
labels) or the default two (``0.5, 1.0``), from a planted truth whose context both adds
effective samples (rate ``tau_i``, uniform in [-0.01, 0.05] samples per context sample) and
shifts the asymptote (``context_shift_i ~ Normal(0, 0.3)`` on the logit scale; ``pow3``
curves from :func:`lcurve.curves.simulate.default_params`). Every replicate draws a new truth and
simulates both designs from it. Each table is fitted with ``contextual`` and
``context_shift=True`` (the library's NUTS defaults otherwise) and, per task, the script
records the posterior correlation of ``transfer_context`` and ``context_shift`` across draws
(the ridge), their posterior sds, and whether their 90% intervals cover the truth.

Usage::

    python experiments/curves/context_levels.py --cpu-devices 4 --replicates 0 1 2 3 \\
        --out context_levels_runs/levels.csv
    python experiments/curves/context_levels.py --summarise context_levels_runs/levels.csv
"""

from __future__ import annotations

import argparse
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

import lfo
from context_ridge import SITES, rate_shift_correlation, rate_shift_draws
from lcurve.config import DataConfig
from lcurve.curves import fit_curves, simulate_results
from lcurve.curves.simulate import default_params
from lcurve.curves.families import SIZE_UNIT
from lcurve.datasets import load_data
from lcurve.design import make_design

LEVELS = {"one level": (1.0,), "two levels": (0.5, 1.0)}


def truth(n_tasks: int, replicate: int) -> tuple[dict, np.ndarray]:
    """Planted ``pow3`` curves with asymptote shifts under context, and contextual rates."""
    rng = np.random.default_rng([replicate, 7])
    params = default_params("pow3", n_tasks, rng, x_min=32 / SIZE_UNIT)
    params["context_shift"] = rng.normal(0.0, 0.3, n_tasks)
    return params, rng.uniform(-0.01, 0.05, n_tasks)


def fit_one(data, levels, replicate: int, options: dict) -> list[dict]:
    params, rates = truth(data.n_tasks, replicate)
    design = make_design(data, kind="contextual", seeds=[0, 1], min_size=32, max_size=512,
                         points_per_doubling=1, context_fraction=levels)
    table, _ = simulate_results(structure="contextual", family="pow3", params=dict(params),
                                transfer=rates, design=design, seed=replicate)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(table, transfer="contextual", context_shift=True, **options)
        diag = fit.diagnostics()
    seconds = time.perf_counter() - start
    draws = rate_shift_draws(fit)
    corr = rate_shift_correlation(draws)
    true = {"transfer_context": rates, "context_shift": params["context_shift"]}
    order = [list(data.tasks).index(t) for t in fit.tasks]  # the fit's task order
    rows = []
    for k, task in enumerate(fit.tasks):
        row = {"replicate": replicate, "levels": " ".join(map(str, levels)), "task": task,
               "rows": len(table), "corr": corr[k],
               "max_rhat": diag.max_rhat, "min_ess": diag.min_ess_bulk,
               "divergences": diag.n_divergent, "seconds": seconds}
        for site in SITES:
            value, lo, hi = (float(np.mean(draws[site][:, k])),
                             *np.quantile(draws[site][:, k], [0.05, 0.95]))
            planted = float(true[site][order[k]])
            row.update({f"{site}_true": planted, f"{site}_mean": value,
                        f"{site}_sd": float(np.std(draws[site][:, k])),
                        f"{site}_covered": bool(lo <= planted <= hi)})
        rows.append(row)
    return rows


def summarise(frame: pd.DataFrame) -> pd.DataFrame:
    """Per design: median ridge correlation, mean posterior sds, 90% coverage, abs errors."""
    out = {}
    for levels, part in frame.groupby("levels", sort=False):
        summary = {"fits": part["replicate"].nunique(), "tasks": len(part),
                   "median corr": part["corr"].median()}
        for site, short in zip(SITES, ("rate", "shift")):
            summary[f"{short} sd"] = part[f"{site}_sd"].mean()
            summary[f"{short} |error|"] = (part[f"{site}_mean"] - part[f"{site}_true"]).abs().mean()
            summary[f"{short} coverage"] = part[f"{site}_covered"].mean()
        fits = part.drop_duplicates("replicate")
        summary["max R-hat"] = fits["max_rhat"].max()
        summary["min ESS"] = fits["min_ess"].min()
        summary["divergences"] = int(fits["divergences"].sum())
        out[levels] = summary
    return pd.DataFrame(out).T


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", nargs="+", type=int, default=[0, 1, 2, 3])
    parser.add_argument("--out", default="experiments/curves/context_levels_runs/levels.csv")
    parser.add_argument("--summarise", nargs="+", metavar="CSV",
                        help="print the summary of earlier runs and exit")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="FitConfig fields")
    args = lfo.parse_args(parser)
    pd.set_option("display.width", 250)
    pd.set_option("display.max_columns", None)
    if args.summarise:
        report(pd.concat(pd.read_csv(f) for f in args.summarise))
        return
    data = load_data(DataConfig(source="synthetic", n_tasks=5, n_compounds=2000))
    options = lfo.parse_options(args.set)
    rows = []
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    for replicate in args.replicates:
        for name, levels in LEVELS.items():
            rows += fit_one(data, levels, replicate, options)
            last = pd.DataFrame(rows[-data.n_tasks:])
            print(f"replicate {replicate}, {name}: {last['rows'].iloc[0]} rows, median corr "
                  f"{last['corr'].median():+.2f}, rate sd {last['transfer_context_sd'].mean():.4f}"
                  f", shift sd {last['context_shift_sd'].mean():.3f}, R-hat "
                  f"{last['max_rhat'].iloc[0]:.3f}, {last['seconds'].iloc[0]:.0f} s", flush=True)
            pd.DataFrame(rows).to_csv(args.out, index=False)
    report(pd.DataFrame(rows))


def report(frame: pd.DataFrame, rhat: float = 1.1) -> None:
    """:func:`summarise` over every fit, then over the fits with max R-hat <= ``rhat``, and,
    paired by (replicate, task) over those, the share of tasks where two levels did better."""
    print(summarise(frame).round(3).to_string())
    stuck = frame.loc[frame["max_rhat"] > rhat, ["replicate", "levels", "max_rhat",
                                                 "divergences"]].drop_duplicates()
    if len(stuck):
        print(f"fits with max R-hat > {rhat}:\n{stuck.to_string(index=False)}")
        frame = frame[frame["max_rhat"] <= rhat]
        print(f"fits with max R-hat <= {rhat}:")
        print(summarise(frame).round(3).to_string())
    frame = frame.assign(
        rate_error=(frame["transfer_context_mean"] - frame["transfer_context_true"]).abs(),
        shift_error=(frame["context_shift_mean"] - frame["context_shift_true"]).abs())
    paired = frame.pivot_table(index=["replicate", "task"], columns="levels",
                               values=["rate_error", "shift_error", "transfer_context_sd"])
    one, two = " ".join(map(str, LEVELS["one level"])), " ".join(map(str, LEVELS["two levels"]))
    paired = paired.dropna()
    better = (paired.xs(two, axis=1, level=1) < paired.xs(one, axis=1, level=1)).mean()
    print(f"paired over {len(paired)} tasks, share where two levels are lower: "
          + ", ".join(f"{k} {v:.2f}" for k, v in better.items()))


if __name__ == "__main__":
    main()
