"""Does a run's noise shrink with its size, in the data and in the fitted model?

Two seeds' single-task runs of a target at the same size are scored on the same test set, so
half the squared difference of their logit scores estimates what varies between runs there:
the run noise, the nested-design effects and the run's own part of the test-set error. The
curve model (logit likelihood) gives that same variance as ``noise_sd^2 [x (100 / n)^(2
gamma)] + subsample_sd^2 100 / n + trajectory_sd^2 [x (100 / n)^(2 gamma)] + (1 -
test_shared) v_test`` (``v_test`` the Hanley-McNeil variance at the cell's mean score; the
brackets with ``FitConfig.noise_decay="learned"``; ``test_shared`` the share at the cell's
size with ``FitConfig.test_share="by_size"``). This script prints both, as root mean
squares over the targets at each own size, for a fit to the leave-future-out split's rows (sizes <= 1/4 of each
target's largest: the sizes beyond are what leave-future-out predicts) or to all rows. At the
fitted sizes it also prints how far each target's mean logit score there lies from its fitted
curve (``misfit``, from :meth:`CurveFit.curve_gaps`), beside what the spread of the runs
averaged in that mean would leave (``seed_share``): a misfit above it is the curve not
following the targets' sizes, which the model's run noise absorbs. ``shared_at_least`` is
``1 - empirical / v_test`` (variances): the runs' own part of the test-set error cannot exceed
what varies between them, so the share their test set gives all of a target's runs
(``FitConfig.test_shared``) is at least that.

Usage::

    python experiments/curves/make_moleculeace_sweep.py --kinds single30
    cd experiments/curves && python noise_by_size.py --cpu-devices 2 [--set noise_decay=learned]
    python noise_by_size.py --cpu-devices 2 --all-rows --compare noise_decay=learned
"""

from __future__ import annotations

import argparse
import warnings

import arviz as az
import numpy as np
import pandas as pd
from scipy.special import logit

from lcurve.curves import compare_curves, fit_curves
from lcurve.curves.model import SUBSAMPLE_REF, run_test_variance, test_share_at
from lcurve.design import own_sizes
from lcurve.sweep import read_results
from lfo import parse_args, parse_options, split
from make_moleculeace_sweep import single_task, sweep_path


def seed_cells(table: pd.DataFrame) -> pd.DataFrame:
    """One row per (task, own size) with single-task runs of >= 2 seeds: ``m`` the mean
    score, test-set sizes, ``empirical`` the variance between the seeds' logit scores (half
    the mean squared difference from their mean, times S / (S - 1)) and ``v_test`` the
    Hanley-McNeil variance at ``m`` on the logit scale."""
    runs = single_task(table[table["metric"] == "auroc"]).assign(
        lv=lambda t: logit(t["value"].clip(1e-4, 1 - 1e-4)))
    cells = runs.groupby(["task", "own"]).agg(
        m=("value", "mean"), n_test=("n_test", "first"), n_test_pos=("n_test_pos", "first"),
        runs=("lv", "size"), empirical=("lv", "var"))  # var: ddof 1, unbiased
    cells = cells[cells["runs"] >= 2].reset_index()
    cells["v_test"] = np.asarray(run_test_variance(  # on the logit scale, at the cell's mean
        cells["m"].to_numpy(), cells["n_test"].to_numpy(), cells["n_test_pos"].to_numpy(),
        "auroc", test_score=cells["m"].to_numpy()))
    return cells


def shares(fit, cells: pd.DataFrame) -> np.ndarray:
    """The test-set share the fit gives each cell's runs (``FitConfig.test_share``)."""
    meta = fit._prepared()
    return np.broadcast_to(np.asarray(test_share_at(
        cells["own"].to_numpy(float), meta.get("test_shared", 0.0),
        meta.get("test_share_slope", 0.0)), float), (len(cells),))


def model_variance(fit, cells: pd.DataFrame) -> np.ndarray:
    """The fit's between-run variance at each cell (posterior mean over draws)."""
    post = fit.idata.posterior
    tasks = fit.tasks
    index = np.array([tasks.index(t) for t in cells["task"]])
    own = cells["own"].to_numpy(float)
    noise2 = post["noise_sd"].values.reshape(-1, len(tasks))[:, index] ** 2  # (draws, cells)
    shrink2 = 1.0  # noise_decay="learned": the run noise's and trajectory's factor, squared
    if "noise_decay" in post:
        decay = post["noise_decay"].values.reshape(-1, 1)
        shrink2 = (SUBSAMPLE_REF / own[None, :]) ** (2 * decay)
    total = noise2 * shrink2
    if "subsample_sd" in post:
        total = total + post["subsample_sd"].values.reshape(-1, 1) ** 2 * SUBSAMPLE_REF / own
        total = total + post["trajectory_sd"].values.reshape(-1, 1) ** 2 * shrink2
    return total.mean(axis=0) + (1 - shares(fit, cells)) * cells["v_test"].to_numpy()


def by_size(cells: pd.DataFrame, tolerance: float = 0.05) -> pd.DataFrame:
    """Root mean squares over targets per own size (sizes within ``tolerance`` of a grid
    point's largest are pooled with it: a target capped at 489 labels counts at 512)."""
    sizes = np.sort(cells["own"].unique())
    grid = {n: max(m for m in sizes if abs(m - n) <= tolerance * m) for n in sizes}
    columns = [c for c in ("empirical", "model", "test_part", "v_test", "misfit", "seed_share")
               if c in cells]
    return (cells.assign(size=cells["own"].map(grid))
            .groupby("size")[columns].mean() ** 0.5).join(
        cells.assign(size=cells["own"].map(grid)).groupby("size").size().rename("targets"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="single30")
    parser.add_argument("--family", default="pow4")
    parser.add_argument("--all-rows", action="store_true",
                        help="fit every row, not the leave-future-out split's")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE")
    parser.add_argument("--compare", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="also fit the same rows with these settings (over --set's) and "
                             "print LOO's comparison of the two fits")
    args = parse_args(parser)
    table = read_results(sweep_path(args.sweep))
    train = table if args.all_rows else split(table)[0]
    options = parse_options(args.set)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(train, family=args.family, transfer="none", method="nuts", **options)
        if args.compare:
            other = fit_curves(train, family=args.family, transfer="none", method="nuts",
                               **{**options, **parse_options(args.compare)})
            names = [" ".join(args.set) or "defaults", " ".join(args.compare)]
            print(compare_curves([fit, other], names=names)[
                ["rank", "elpd_loo", "elpd_diff", "dse", "weight"]].round(2).to_string())
    diag = fit.diagnostics()
    loo = az.loo(fit.idata)  # one term per seed trajectory (the logit likelihood's unit)
    cells = seed_cells(table)
    cells["model"] = model_variance(fit, cells)
    cells["test_part"] = (1 - shares(fit, cells)) * cells["v_test"]
    fitted = own_sizes(train[train["metric"] == "auroc"]).max()
    print(f"{args.sweep}, {args.family}, fitted to own sizes <= {fitted:.0f} "
          f"({'all rows' if args.all_rows else 'the leave-future-out split'}; "
          f"{' '.join(args.set) or 'defaults'}): max R-hat {diag.max_rhat:.3f}, min bulk ESS "
          f"{diag.min_ess_bulk:.0f}, divergences {diag.n_divergent}; elpd_loo "
          f"{loo.elpd_loo:.1f} (se {loo.se:.1f})")
    post = fit.idata.posterior
    for site in ("noise_decay", "trajectory_sd", "subsample_sd"):
        if site in post:
            draws = post[site].values.ravel()
            print(f"  {site}: median {np.median(draws):.3f} "
                  f"(90%: {np.quantile(draws, 0.05):.3f}-{np.quantile(draws, 0.95):.3f})")
    gaps = fit.curve_gaps(by_size=True)  # the fitted cells' means against their curves
    misfit = (logit(gaps["observed"]) - logit(gaps["curve"])).rename("misfit") ** 2
    cells = cells.join(pd.concat([gaps[["task", "size"]], misfit], axis=1)
                       .set_index(["task", "size"])["misfit"], on=["task", "own"])
    cells["seed_share"] = cells["empirical"] / cells["runs"]  # what the seeds leave in a mean
    print("between-run sd on the logit scale (root mean square over targets), and at the "
          "fitted sizes the cells' mean against the curve (`misfit`) beside what their runs' "
          "spread alone would leave (`seed_share`: the empirical variance over the runs):")
    table = by_size(cells)
    # the runs' own share of the test-set variance is at most what varies between them: a
    # lower bound on the shared share (FitConfig.test_shared) at each size
    table["shared_at_least"] = 1 - table["empirical"] ** 2 / table["v_test"] ** 2
    print(table.round(3).to_string())


if __name__ == "__main__":
    main()
