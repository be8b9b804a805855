"""Simulation-based calibration (Talts et al. 2018) of the curve model, per transfer structure.

For each replicate: draw every parameter from the prior and scores from the likelihood at a
small fixed design (exactly the model's generative story, nested-design effects included),
fit by NUTS (the library's default engine, short chains), and record the rank of each true
parameter among ``L`` thinned posterior draws. Uniform ranks <=> calibrated posteriors.
A chi-square test on ``BINS`` bins (and a KS test of the normalised ranks) checks uniformity.

Design (small so that >= 100 replicates per structure fit in minutes; all replicates share one
shape, so the sampler compiles once per structure): 2 tasks (3 for ``contextual``), own sizes
32/128/512, partner or context at 256, seeds 0 and 1, test sets of 200 (30% positive);
``joint`` fits the horseshoe transfer matrix to a 3-task pairs design. The fitted model is the
library default (logit likelihood with the nested-design effects integrated out; family
``--family``, default the library's ``pow4``; the rank tables record it); the truth is
drawn from the same model's prior with the effects sampled explicitly, so the exact marginal
likelihood is checked too.

Usage (at most ~50 replicates per process: each replicate compiles its prior draws anew,
and two processes here died after ~75 replicates each when LLVM could not map more code,
"Cannot allocate memory", then a segfault; split with ``--first``)::

    nice -n 5 python experiments/curves/sbc.py --reps 50 --out experiments/curves/sbc.csv
    nice -n 5 python experiments/curves/sbc.py --first 50 --reps 50 --out .../sbc_50.csv
    python experiments/curves/sbc.py --summarise experiments/curves/sbc*.csv

Replicate ``r`` always draws the same truth (its table's seed and its prior key are ``r``), so
runs of replicates 0-99 under different settings re-fit the same 100 truths and are not
independent evidence: confirm a failure on fresh replicates (``--first 100``) before reading
it as a defect (RESULTS.md T2: `none`'s `noise_sd` failed on replicates 0-99 under every
setting and was uniform on 100-199 and 200-299).
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax
import numpy as np
import pandas as pd
from scipy import stats

from lcurve.curves import CurveFit, simulate_results
from lcurve.curves.checks import prior_draws
from lcurve.curves.families import FAMILIES, get_family
from lcurve.curves.planning import _predictive
from lfo import parse_options

BINS = 10
THIN_TO = 99  # posterior draws per rank (L); ranks take L + 1 values
DESIGNS = {"none": dict(n_tasks=2, structure="none", source_sizes=()),
           "pairwise": dict(n_tasks=2, structure="pairwise", source_sizes=(256,)),
           "contextual": dict(n_tasks=3, structure="contextual", source_sizes=(256,)),
           "joint": dict(n_tasks=3, structure="pairwise", source_sizes=(256,))}
# the library's start (since the thirteenth session no SVI: each chain at the median of 15
# prior draws); rank tables before it started from 300 SVI steps (``--set init_steps=300``)
FIT = dict(method="nuts", num_warmup=150, num_samples=198, num_chains=1)


def tracked(structure: str, family: str = "pow4") -> dict[str, tuple]:
    """Parameter -> index of the scalar whose rank is recorded."""
    names = {name: (0,) for name in get_family(family).param_names}
    names.update({"noise_sd": (0,), "subsample_sd": (), "trajectory_sd": (), "c_mu": ()})
    if structure in ("pairwise", "joint"):
        names.update({"transfer": (0, 1)})
    if structure == "pairwise":  # the default pairwise_prior="hierarchical" learns the spread
        names.update({"transfer_sd": ()})
    if structure == "joint":
        names.update({"hs_global": ()})
    names.update({"test_z": (0,)})  # only where test_shared > 0 (else not in the posterior)
    names.update({"noise_decay": ()})  # only with FitConfig.noise_decay="learned"
    names.update({"curve_max": ()})  # the first task's curve at its largest size
    if structure == "contextual":
        names.update({"transfer_context": (0,), "context_shift": (0,)})
    return names


def draw_truth(structure: str, rep: int, family: str = "pow4", **options):
    """Replicate ``rep``'s design and truth: ``(table, the CurveFit whose model drew it, the
    true draws)``, the model's settings ``FIT`` with ``options``. The same ``rep`` always
    draws the same truth (its table's seed and its prior key are ``rep``)."""
    table, _ = simulate_results(**DESIGNS[structure], sizes=(32, 128, 512), seeds=(0, 1),
                                seed=rep)  # only the design is used: scores are redrawn
    fit = CurveFit(table, transfer=structure, seed=rep, family=family, **{**FIT, **options})
    fit._prepared()
    key = jax.random.fold_in(jax.random.PRNGKey(20261123), rep)
    truth = prior_draws(fit.model(), fit.model_args(fit._data, observed=False, groups=True),
                        key, num_samples=1)
    return table, fit, truth


def one_replicate(structure: str, rep: int, family: str = "pow4",
                  options: dict | None = None, inspect: bool = False,
                  truth_options: dict | None = None) -> dict:
    """One replicate's ranks. ``truth_options`` (FitConfig fields) change the model the truth
    is drawn from (default: the fitted one), to see what a misspecified fit does."""
    fit_options = {**FIT, **(options or {})}
    table, _, truth = draw_truth(structure, rep, family,
                                 **{**(options or {}), **(truth_options or {})})
    simulated = table.copy()
    simulated["value"] = np.asarray(truth["score"][0])
    if inspect:  # long chains: is a rank in the tail the posterior's or the sampler's?
        fit_options.update(num_warmup=1000, num_samples=1000, num_chains=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fitted = CurveFit(simulated, transfer=structure, seed=rep, family=family,
                          **fit_options).fit()
    if inspect:
        post = fitted.idata.posterior
        for name in (n for n in tracked(structure, family) if n in post):
            draws = post[name].values.reshape((-1,) + post[name].shape[2:])
            print(f"{name}: truth {np.round(np.asarray(truth[name][0]), 3).tolist()}, "
                  f"posterior 5/50/95% "
                  f"{np.round(np.quantile(draws, [.05, .5, .95], 0), 3).tolist()}")
        print(f"max R-hat {fitted.diagnostics().max_rhat:.3f}")
    post = fitted.idata.posterior
    row = {"structure": structure, "family": family, "rep": rep,
           "options": " ".join([f"{k}={v}" for k, v in (options or {}).items()]
                               + [f"truth:{k}={v}" for k, v in (truth_options or {}).items()])}
    for name, index in tracked(structure, family).items():
        if name not in post or name not in truth:  # e.g. transfer_sd under pairwise_prior=fixed
            continue  # (and curve_max, ranked below)
        draws = post[name].values.reshape((-1,) + post[name].shape[2:])
        draws = draws[(slice(None),) + index]
        draws = draws[np.linspace(0, len(draws) - 1, THIN_TO).astype(int)]
        true = np.asarray(truth[name][0])[index]
        row[name] = int((draws < true).sum())
    # the first task's curve at the largest size: what its runs there pin down, so it is the
    # quantity a test set's shared error would move (the curve's parameters are looser)
    own = fitted._data.sizes[np.arange(fitted._data.n_obs), fitted._data.task]
    largest = own[fitted._data.task == 0].max()
    single = np.flatnonzero((fitted._data.task == 0) & (own == largest)
                            & (fitted._data.sizes.sum(1) == largest))[0]
    _, curve, _, _ = _predictive(fitted, {fitted.tasks[0]: [float(largest)]}, rep)
    curve = curve[np.linspace(0, len(curve) - 1, THIN_TO).astype(int), 0]
    row["curve_max"] = int((curve < float(np.asarray(truth["expected_score"][0])[single])).sum())
    row["divergences"] = int(fitted.idata.sample_stats["diverging"].values.sum())
    return row


def uniformity(ranks: pd.Series) -> tuple[float, float]:
    """(chi-square p, KS p) of ranks in 0..THIN_TO against the discrete uniform."""
    ranks = ranks.dropna().astype(int)
    counts = np.bincount((ranks.to_numpy() * BINS) // (THIN_TO + 1), minlength=BINS)
    chi2 = stats.chisquare(counts).pvalue
    jitter = (ranks.to_numpy() + np.random.default_rng(0).uniform(size=len(ranks))) / (THIN_TO + 1)
    return float(chi2), float(stats.kstest(jitter, "uniform").pvalue)


def summarise(table: pd.DataFrame) -> pd.DataFrame:
    rows = []
    if "options" not in table:
        table = table.assign(options="")
    for (structure, family, options), group in table.fillna({"options": ""}).groupby(
            ["structure", "family", "options"]):
        for name in tracked(structure, family):
            if name not in group or group[name].isna().all():
                continue
            chi2, ks = uniformity(group[name])
            ranks = group[name].dropna().astype(int).to_numpy()
            counts = np.bincount((ranks * BINS) // (THIN_TO + 1), minlength=BINS)
            # the ranks' location and the central 90% interval's coverage, which a rank
            # histogram's p-value does not give: how far off, not only whether
            inner = THIN_TO + 1 - 2 * round(0.05 * (THIN_TO + 1))  # the central 90% of ranks
            low = (THIN_TO + 1 - inner) // 2
            rows.append({"structure": structure, "family": family, "options": options,
                         "parameter": name,
                         "reps": len(group),
                         "chi2_p": chi2, "ks_p": ks,
                         "above_median": float((ranks > THIN_TO / 2).mean()),
                         "cover90": float(((ranks >= low) & (ranks < low + inner)).mean()),
                         "histogram": " ".join(map(str, counts))})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=100)
    parser.add_argument("--structures", nargs="+", default=list(DESIGNS), choices=list(DESIGNS))
    parser.add_argument("--first", type=int, default=0, help="first replicate (to split runs)")
    parser.add_argument("--family", default="pow4", choices=sorted(FAMILIES),
                        help="curve family simulated and fitted (default: the library's)")
    parser.add_argument("--inspect", type=int, metavar="REP",
                        help="refit replicate REP with 4 chains x (1000 + 1000) and print "
                             "truth against posterior quantiles")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="FitConfig fields of the fit, e.g. test_noise=curve")
    parser.add_argument("--truth", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="FitConfig fields of the model the truth is drawn from (default: "
                             "the fitted model's), e.g. test_shared=0.8")
    parser.add_argument("--out", default="experiments/curves/sbc.csv")
    parser.add_argument("--summarise", nargs="+", metavar="CSV",
                        help="only summarise rank tables written earlier")
    args = parser.parse_args()
    if args.summarise:
        table = pd.concat([pd.read_csv(path) for path in args.summarise], ignore_index=True)
        if "family" not in table:  # rank tables written before --family (all exp3)
            table["family"] = "exp3"
        if "options" not in table:  # ... and before --set
            table["options"] = ""
        table["family"] = table["family"].fillna("exp3")
        table["options"] = table["options"].astype(object).fillna("")  # all NaN: float64
        table = table.drop_duplicates(["structure", "family", "options", "rep"])
        print(summarise(table).round(3).to_string(index=False))
        return
    if args.inspect is not None:
        for structure in args.structures:
            print(structure, one_replicate(structure, args.inspect, args.family,
                                           parse_options(args.set), inspect=True))
        return
    rows = []
    for structure in args.structures:
        start = time.perf_counter()
        for rep in range(args.first, args.first + args.reps):
            rows.append(one_replicate(structure, rep, args.family, parse_options(args.set),
                                      truth_options=parse_options(args.truth)))
            if rep % 5 == 4:
                print(f"{structure}: {rep + 1 - args.first} reps, {time.perf_counter() - start:.0f} s",
                      flush=True)
                pd.DataFrame(rows).to_csv(args.out, index=False)
    table = pd.DataFrame(rows)
    table.to_csv(args.out, index=False)
    print(summarise(table).to_string(index=False))


if __name__ == "__main__":
    main()
