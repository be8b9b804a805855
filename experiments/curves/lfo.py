"""Leave-future-out check of curve extrapolation: fit sizes <= 1/4 of the largest, predict the
largest; bias, MAE and 90% coverage of the predictive interval per structure and family.

Data:

- ``synthetic``: :func:`lcurve.curves.simulate_results` with nested-design noise, 4 tasks,
  own sizes 32..2048, partners/context at 256 and 1024, 2 seeds; one table per (true family
  in ``TRUTHS``, structure), so the fitted families (``--families``) also meet curves they
  did not generate;
- ``moleculeace``: the cached sweeps of ``make_moleculeace_sweep.py`` (8 targets, 2 seeds,
  sizes 32..2048; ``pairs`` for ``none``/``pairwise``/``joint``, ``contextual`` for
  ``contextual``);
- ``moleculeace-context``: ``none`` and ``contextual`` on the 8-target ``contextual`` sweep,
  so that ``contextual``'s held-out runs are ``none``'s too (``lfo_paired.py`` pairs them; in
  ``moleculeace`` the two structures fit different sweeps, whose single-task runs were trained
  apart and differ by up to 0.03);
- ``moleculeace-context2``: ``none`` and ``contextual`` on the ``contextual2`` sweep (the
  8 targets' contextual design at two context levels, half and all of the other tasks'
  labels, the library's default); ``moleculeace-context2-half``: the same sweep with only its
  runs at half (one level, as ``moleculeace-context``);
- ``moleculeace30``: its ``joint30`` sweep (all 30 targets, 2 seeds, sizes 32..512, each target
  beside 3 partners at 256 labels) for every structure: fit sizes <= 128, predict 512 (the
  same protocol at a smaller scale, on 22 targets the 8-target sweep does not have and those 8).
- ``moleculeace30-context2``: ``none`` and ``contextual`` on the ``contextual30`` sweep (all
  30 targets at the ``joint30`` sizes, each beside all 29 others at half and at all of their
  labels: the library's default contextual design); ``moleculeace30-context2-half``: its runs
  at half only (one level);
- ``moleculeace30-single``: ``none`` on the ``single30`` sweep (the 30 targets' single-task
  runs at the ``joint30`` sizes, alone: minutes to make), fit sizes <= 128, predict 512, as
  ``lfo_ceiling.py`` scores its empirical predictors on the same held-out runs;
  ``moleculeace-single``: ``none`` on the ``single8`` sweep (the 8 targets' single-task runs
  at the ``pairs`` sizes, alone), fit sizes <= 512, predict 2048;

Fits use the library's default NUTS and model (``--set FIELD=VALUE`` overrides FitConfig
fields).

Held-out: every single-task run at each task's largest size (one per task and seed). A row is
used for fitting when its evaluated task's own size is <= 1/4 of that task's largest size.
Predictions are :meth:`CurveFit.predict` for a new run (nested-design effects and test-set noise
included); coverage counts observed scores inside the 90% predictive HDI, ``width90`` is that
interval's mean width; ``expected_inside`` is how many held-out runs the fit's joint
predictive put inside their intervals on average, and ``p_narrow, p_wide`` the tail
probabilities of the observed count under it (:func:`lcurve.curves.checks.inside_count_check`:
a task's runs share its curve and test set, so they are not independent checks; NaN for
stacked rows). ``max_curve_gap`` is
the largest ``|gap|`` of :meth:`CurveFit.curve_gaps` (each task's curve against its own fitted
runs); ``max_reach`` the largest ``ratio`` of :meth:`CurveFit.context_reach` (how far along
its curve transfer places a task's runs with other tasks, over its largest run alone; NaN
for ``none``); ``modes`` is how many separate modes the fit's chains sat in (``Diagnostics.modes``; 1
where they agree). ``noise_mae`` is the MAE that a prediction of each task's *expected* score at the
largest size would still have, from the held-out runs' own seed-to-seed noise
(:func:`lcurve.curves.checks.noise_mae`): about the lowest ``mae`` any prediction can expect on these runs.
``--noise-only`` prints it for each data set without fitting.

``--stack`` also scores the stacked mixture of the fitted families
(:func:`lcurve.curves.predict_stacked`; weights by LOO stacking on the fitted rows, printed in
``options``). ``--sim-seeds S ...`` simulates one synthetic table per seed and ends with the rows pooled
over them (8 held-out runs per table).

Usage::

    nice -n 5 python experiments/curves/lfo.py --data synthetic moleculeace \\
        --out experiments/curves/lfo.csv
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd

from lcurve.curves import fit_curves, predict_stacked, request_cpu_devices, simulate_results
from lcurve.curves.checks import inside_count_check, noise_mae, split_future, summarise_future
from lcurve.curves.planning import predict_with_draws
from lcurve.design import size_columns
from lcurve.sweep import read_results

STRUCTURES = ("none", "contextual", "pairwise", "joint")
FAMILIES = ("pow4", "exp3")  # fitted: the default family and the former one
TRUTHS = ("exp3", "pow3")  # the synthetic tables' true families (simulate_results has both)
FIT = dict(method="nuts")  # the library's default NUTS (FitConfig: 4 chains, 1000 warm-up)


def split(table: pd.DataFrame, fraction: float = 0.25):
    """(training rows, held-out single-task rows at each task's largest size): the library's
    :func:`lcurve.curves.checks.split_future` on AUROC."""
    return split_future(table, fraction, metric="auroc")


def synthetic_tables(sim_seeds=(7,)):
    """One simulated table per (true family, structure, simulation seed): new curves, rates
    and noise for every simulation seed (``--sim-seeds``; 7, the one table used before)."""
    for truth in TRUTHS:
        for structure in STRUCTURES:
            design = "context" if structure == "contextual" else "pairs"
            for sim_seed in sim_seeds:
                table, _ = simulate_results(
                    n_tasks=4, family=truth, design=design,
                    structure="pairwise" if structure == "joint" else structure,
                    sizes=(32, 64, 128, 256, 512, 1024, 2048), source_sizes=(256, 1024),
                    seeds=(0, 1), seed=sim_seed)
                yield f"synthetic-{truth}", structure, table.assign(sim_seed=sim_seed)


def moleculeace_tables():
    from make_moleculeace_sweep import sweep_path

    pairs = read_results(sweep_path("pairs"))
    context = read_results(sweep_path("contextual"))
    for structure in STRUCTURES:
        yield "moleculeace", structure, context if structure == "contextual" else pairs


def moleculeace_context_tables():
    from make_moleculeace_sweep import sweep_path

    context = read_results(sweep_path("contextual"))
    for structure in ("none", "contextual"):
        yield "moleculeace-context", structure, context


def context_fraction_of(table: pd.DataFrame) -> np.ndarray:
    """Per row, its run's context level: the run's labels of tasks other than its target, over
    the largest such count among its target's runs (0 for single-task runs)."""
    columns = size_columns(table)
    sizes = table[columns].to_numpy(float)
    target = np.array([columns.index(f"n_{t}") for t in table["target"]])
    context = sizes.sum(axis=1) - sizes[np.arange(len(sizes)), target]
    largest = pd.Series(context).groupby(table["target"].to_numpy()).transform("max").to_numpy()
    return np.divide(context, largest, out=np.zeros_like(context), where=largest > 0)


def context_levels(table: pd.DataFrame, levels) -> pd.DataFrame:
    """``table``'s single-task runs and its runs with context at one of ``levels``
    (:func:`context_fraction_of`, within 0.01)."""
    fraction = context_fraction_of(table)
    at_level = np.isclose(fraction[:, None], np.asarray(levels, float)[None, :], atol=0.01)
    return table[(fraction == 0) | at_level.any(axis=1)]


def moleculeace_context2_tables(levels=(0.5, 1.0), name="moleculeace-context2",
                                kind="contextual2"):
    """The two-level contextual sweep (``make_moleculeace_sweep.py --kinds contextual2``, or
    ``kind``), its runs with context at ``levels`` (:func:`context_levels`), for ``none``
    and ``contextual``."""
    from make_moleculeace_sweep import sweep_path

    table = context_levels(read_results(sweep_path(kind)), levels)
    for structure in ("none", "contextual"):
        yield name, structure, table


def moleculeace30_single_tables():
    from make_moleculeace_sweep import sweep_path

    yield "moleculeace30-single", "none", read_results(sweep_path("single30"))


def moleculeace_single_tables():
    from make_moleculeace_sweep import sweep_path

    yield "moleculeace-single", "none", read_results(sweep_path("single8"))


def moleculeace30_tables():
    from make_moleculeace_sweep import sweep_path

    table = read_results(sweep_path("joint30"))
    for structure in STRUCTURES:
        yield "moleculeace30", structure, table


#: ``--data`` names of the MoleculeACE sweeps: each yields ``(data, structure, table)``
MOLECULEACE_SOURCES = {"moleculeace": moleculeace_tables,
                       "moleculeace-context": moleculeace_context_tables,
                       "moleculeace30": moleculeace30_tables,
                       "moleculeace30-single": moleculeace30_single_tables,
                       "moleculeace-single": moleculeace_single_tables,
                       "moleculeace-context2": moleculeace_context2_tables,
                       "moleculeace-context2-half": lambda: moleculeace_context2_tables(
                           (0.5,), "moleculeace-context2-half"),
                       "moleculeace30-context2": lambda: moleculeace_context2_tables(
                           (0.5, 1.0), "moleculeace30-context2", "contextual30"),
                       "moleculeace30-context2-half": lambda: moleculeace_context2_tables(
                           (0.5,), "moleculeace30-context2-half", "contextual30")}


def structure_table(data: str, structure: str) -> pd.DataFrame:
    """The table MoleculeACE source ``data`` fits ``structure`` to."""
    return next(t for _, s, t in MOLECULEACE_SOURCES[data]() if s == structure)


def evaluate(data: str, structure: str, table: pd.DataFrame, family: str,
             options: dict | None = None, fraction: float = 0.25, keep: list | None = None,
             show_ess: bool = False, runs: list | None = None) -> dict:
    """Fit ``family`` to the rows of ``table`` <= ``fraction`` of each task's largest size and
    score its predictions of the held-out runs (one row of the output). ``keep``, a list,
    receives the fit; ``show_ess`` prints the fit's three sites with the lowest bulk ESS;
    ``runs``, a list, receives the held-out runs' predictions (:func:`score`)."""
    train, held = split(table, fraction)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fit = fit_curves(train, family=family, transfer=structure, **{**FIT, **(options or {})})
        diag = fit.diagnostics()
        gap = float(fit.curve_gaps()["gap"].abs().max())  # curve vs its own fitted runs
        reach = float(fit.context_reach()["ratio"].max())  # runs moved beyond the task's own
    if show_ess:
        lowest = diag.table.nsmallest(3, "ess_bulk")
        print(f"  lowest bulk ESS ({data} {structure} {family}): " + ", ".join(
            f"{r.variable} {r.ess_bulk:.0f}" for r in lowest.itertuples()), flush=True)
    seconds = time.perf_counter() - start
    if keep is not None:
        keep.append(fit)
    label = {"data": data, "structure": structure, "family": family,
             "options": " ".join(f"{k}={v}" for k, v in (options or {}).items())}
    pred, draws = predict_with_draws(fit, _request(held))
    return {**label, **score(pred, table, len(train), held, fraction, runs=runs, label=label,
                             draws=draws),
            "max_curve_gap": gap, "max_reach": reach, "max_rhat": diag.max_rhat,
            "min_ess_bulk": diag.min_ess_bulk, "divergences": diag.n_divergent,
            "modes": len(diag.modes) or 1, "seconds": seconds}


def _request(held: pd.DataFrame) -> pd.DataFrame:
    return held[["task", *size_columns(held), "n_test", "n_test_pos"]]


def score(pred: pd.DataFrame, table: pd.DataFrame, n_train: int, held: pd.DataFrame,
          fraction: float, runs: list | None = None, label: dict | None = None,
          draws=None) -> dict:
    """Bias, MAE, ``noise_mae``, 90% coverage and mean width of ``pred`` on ``held``;
    ``runs``, a list, receives one row per held-out run (``label``'s columns, its task, seed,
    observed score and prediction) for paired comparisons (``lfo_paired.py``). With the
    fit's joint predictive ``draws`` of the held-out runs, also how many runs it expected
    inside and the observed count's tail probabilities (``expected_inside``, ``p_narrow``,
    ``p_wide``: :func:`lcurve.curves.checks.inside_count_check`); NaN without."""
    held_runs = pd.DataFrame({"task": held["task"].to_numpy(),
                              "observed": held["value"].to_numpy(),
                              "mean": pred["test_mean"].to_numpy(),
                              "low": pred["pred_low"].to_numpy(),
                              "high": pred["pred_high"].to_numpy(), "size": 0, "fitted_max": 0})
    found = summarise_future(held_runs)  # the library's summary of a leave-future-out table
    sim_seed = table["sim_seed"].iloc[0] if "sim_seed" in table.columns else None
    if runs is not None:
        runs.append(held_runs.drop(columns=["size", "fitted_max"]).assign(
            seed=held["seed"].to_numpy(), sim_seed=sim_seed, **(label or {})))
    keys = ("expected_inside", "p_narrow", "p_wide")
    check = (dict.fromkeys(keys, np.nan) if draws is None
             else inside_count_check(held_runs["observed"], held_runs["low"],
                                     held_runs["high"], draws))
    return {"sim_seed": sim_seed, "n_train": n_train, "n_held": len(held), "fraction": fraction,
            "bias": found["bias"], "mae": found["mae"], "noise_mae": found["noise_mae"],
            "coverage90": found["coverage"], "width90": found["width"],
            **{key: check[key] for key in keys}}


def evaluate_stacked(data: str, structure: str, table: pd.DataFrame, fits: list,
                     fraction: float = 0.25, runs: list | None = None) -> dict:
    """Score the stacked mixture of ``fits`` (:func:`lcurve.curves.predict_stacked`, weights
    by LOO stacking on the fitted rows: the held-out runs are not seen)."""
    train, held = split(table, fraction)
    pred = predict_stacked(fits, _request(held))
    weights = " ".join(f"{name.split('/')[0]}={w:.2f}" for name, w in pred.attrs["weights"].items())
    label = {"data": data, "structure": structure,
             "family": "stacked:" + "+".join(f.config.family for f in fits), "options": weights}
    return {**label, **score(pred, table, len(train), held, fraction, runs=runs, label=label)}


def pooled(rows: pd.DataFrame) -> pd.DataFrame:
    """Rows of the same (data, structure, family) over simulation seeds pooled: bias, MAE,
    ``noise_mae``, coverage and width averaged over all their held-out runs; the worst R-hat
    and ESS, divergences summed, and ``warned``, the fits with R-hat > 1.01, a bulk ESS < 400
    or a divergence (NaN for stacked rows: their fits are the families' rows), and for
    stacked rows the stacking weights averaged over the tables (``mean_weights``)."""
    warned = ((rows["max_rhat"] > 1.01) | (rows["min_ess_bulk"] < 400)
              | (rows["divergences"] > 0)).astype(float)
    rows = rows.assign(warned=warned.where(rows["max_rhat"].notna()))  # NaN: a stacked row
    weighted = ["bias", "mae", "noise_mae", "coverage90", "width90"]
    out = []
    for key, group in rows.groupby(["data", "structure", "family"], sort=False):
        w = group["n_held"].to_numpy(float)
        weights = ""
        if key[2].startswith("stacked") and "options" in group:  # mean stacking weights
            parsed = group["options"].str.extractall(r"(\w+)=([0-9.]+)")
            weights = " ".join(f"{name}={value:.2f}" for name, value in
                               parsed[1].astype(float).groupby(parsed[0], sort=False).mean()
                               .items())
        out.append({**dict(zip(["data", "structure", "family"], key)), "fits": len(group),
                    "n_held": int(w.sum()),
                    **{c: float(np.average(group[c], weights=w)) for c in weighted},
                    "max_rhat": group["max_rhat"].max(),
                    "min_ess_bulk": group["min_ess_bulk"].min(),
                    "divergences": group["divergences"].sum(min_count=1),
                    "warned": group["warned"].sum(min_count=1), "mean_weights": weights})
    return pd.DataFrame(out)


def parse_options(items) -> dict:
    """``FIELD=VALUE`` strings -> FitConfig keyword arguments of the fields' types."""
    from lcurve.curves import FitConfig

    options = {}
    for item in items:
        field, value = item.split("=", 1)
        default = getattr(FitConfig(), field)
        kind = float if default is None else type(default)  # None: a number left "auto"
        options[field] = value.lower() in ("1", "true", "yes") if kind is bool else kind(value)
    return options


def parse_args(parser: argparse.ArgumentParser) -> argparse.Namespace:
    """Add ``--cpu-devices N`` to ``parser``, parse, and ask JAX for N CPU devices before any
    JAX work (:func:`lcurve.curves.request_cpu_devices`; 4: NUTS chains in parallel, as the
    ``lcurve`` command runs them). Shared by this folder's scripts."""
    parser.add_argument("--cpu-devices", type=int, default=1,
                        help="CPU devices to ask JAX for (4: chains in parallel, as the "
                             "lcurve command runs them)")
    args = parser.parse_args()
    if args.cpu_devices > 1 and not request_cpu_devices(args.cpu_devices):
        print("could not set the CPU device count (XLA_FLAGS set?)")
    return args


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["synthetic", "moleculeace"],
                        choices=["synthetic", *MOLECULEACE_SOURCES])
    parser.add_argument("--families", nargs="+", default=list(FAMILIES))
    parser.add_argument("--structures", nargs="+", default=list(STRUCTURES))
    parser.add_argument("--fraction", type=float, default=0.25,
                        help="fit sizes <= this fraction of each task's largest")
    parser.add_argument("--out", default="experiments/curves/lfo.csv")
    parser.add_argument("--runs-out", metavar="CSV",
                        help="also write every held-out run's prediction, one row per run "
                             "and fit (for lfo_paired.py)")
    parser.add_argument("--set", nargs="*", default=[], metavar="FIELD=VALUE",
                        help="FitConfig fields, e.g. seed_effects=sum_to_zero num_warmup=500")
    parser.add_argument("--stack", action="store_true",
                        help="also score the families' stacked mixture (>= 2 --families)")
    parser.add_argument("--sim-seeds", nargs="+", type=int, default=[7],
                        help="simulation seeds of the synthetic tables (one table each)")
    parser.add_argument("--show-ess", action="store_true",
                        help="print each fit's three sites with the lowest bulk ESS")
    parser.add_argument("--noise-only", action="store_true",
                        help="print each data set's noise_mae (the MAE floor), fit nothing")
    args = parse_args(parser)
    options = parse_options(args.set)
    if args.stack and len(args.families) < 2:
        parser.error("--stack needs at least two --families")
    sources = {"synthetic": lambda: synthetic_tables(args.sim_seeds), **MOLECULEACE_SOURCES}
    if args.noise_only:
        for name in args.data:
            for data, structure, table in sources[name]():
                train, held = split(table, args.fraction)
                print(f"{data} {structure}: {len(held)} held-out runs of "
                      f"{held['task'].nunique()} tasks, noise_mae {noise_mae(held):.4f}")
        return
    rows, runs = [], []

    def add(row: dict) -> None:  # print it as it comes and keep the CSVs current
        rows.append(row)
        print(pd.DataFrame(rows[-1:]).round(4).to_string(index=False, header=len(rows) == 1),
              flush=True)
        pd.DataFrame(rows).to_csv(args.out, index=False)
        if args.runs_out:
            pd.concat(runs, ignore_index=True).to_csv(args.runs_out, index=False)

    for name in args.data:
        for data, structure, table in sources[name]():
            if structure not in args.structures:
                continue
            fits = []
            for family in args.families:
                add(evaluate(data, structure, table, family, options, fraction=args.fraction,
                             keep=fits, show_ess=args.show_ess, runs=runs))
            if args.stack:
                add(evaluate_stacked(data, structure, table, fits, args.fraction, runs=runs))
    print(pd.DataFrame(rows).round(4).to_string(index=False))
    if len(args.sim_seeds) > 1:
        print("\npooled over simulation seeds:")
        print(pooled(pd.DataFrame(rows)).round(4).to_string(index=False))


if __name__ == "__main__":
    main()
