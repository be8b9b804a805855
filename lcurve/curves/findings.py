"""What a fit says, in plain sentences: the fit-level findings table behind ``fit.findings()``.

:func:`fit_findings` turns a fitted :class:`~lcurve.curves.CurveFit` into a tidy table, one row
per finding, each with the numbers it rests on and a sentence a scientist can read:

``transfer_positive`` / ``transfer_negative``
    the strongest positive and negative transfer rates ``tau`` (target samples worth one source
    sample), their interval and ``P(tau > 0)``;
``transfer_unmeasured``
    pairs never trained together (their rate is the prior);
``samples_alone`` / ``samples_with_partners``
    samples of each task needed to reach a target expected score, alone and with the other
    tasks' data at their largest fitted size (:meth:`~lcurve.curves.CurveFit.required_samples`);
``extrapolation``
    (given a :func:`~lcurve.curves.checks.leave_future_out` table) how far off the curves
    were when refitted on the smaller sizes and asked for the largest: what sample sizes
    beyond the data rest on;
``trust``
    whether the sampler diagnostics passed, and if not why and what to do.

The report (:mod:`lcurve.report`) adds what needs more than a fit (task groups, TAG).

Example
-------
>>> from lcurve.curves import fit_curves, simulate_results
>>> table, _ = simulate_results(n_tasks=2, seed=0)
>>> fit = fit_curves(table, transfer="pairwise", method="svi", svi_steps=300)
>>> fit.findings()["kind"].iloc[-1]
'trust'
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from lcurve.curves._summaries import divergent_transitions, modes_text

__all__ = ["FINDING_COLUMNS", "choose_target_score", "extrapolation_findings", "fit_findings",
           "format_findings", "transfer_sentence", "trust_findings"]

#: Columns of a findings table.
FINDING_COLUMNS = ("kind", "source", "target", "estimate", "low", "high", "p_positive",
                   "sentence")


def choose_target_score(values) -> float:
    """A target score for sample-size planning: the 75th percentile of the observed scores,
    rounded to 0.05 and kept in [0.6, 0.95]."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not values.size:
        return 0.8
    return float(np.clip(np.round(np.quantile(values, 0.75) / 0.05) * 0.05, 0.6, 0.95))


def _num(value: float) -> str:
    """A transfer rate or interval bound with two significant decimals at least."""
    if not np.isfinite(value):
        return "n/a"
    return f"{value:.3f}" if abs(value) < 0.1 else f"{value:.2f}"


def _count(value: float) -> str:
    if not np.isfinite(value):
        return "unbounded"
    if value < 1:
        return "0"
    if value >= 1e4:
        return f"{value:,.0f}"
    return f"{value:,.0f}"


def transfer_sentence(row, *, interval: str = "90%") -> str:
    """One sentence for a transfer rate row (``source, target, mean, hdi_low, hdi_high``)."""
    source = "the other tasks' data" if row["source"] == "context" else row["source"]
    verdict = ("credibly positive" if row["hdi_low"] > 0 else "credibly negative"
               if row["hdi_high"] < 0 else "not distinguishable from no transfer")
    p = row.get("p_positive", np.nan)
    p_text = f"; P(tau > 0) = {p:.2f}" if np.isfinite(p) else ""
    bounds = f"{interval} interval {_num(row['hdi_low'])} to {_num(row['hdi_high'])}{p_text}"
    if row["mean"] < 0:
        return (f"One sample of {source} costs {row['target']} {_num(-row['mean'])} of its own "
                f"samples (tau = {_num(row['mean'])}, {bounds}): {verdict}.")
    return (f"One sample of {source} is worth {_num(row['mean'])} samples of {row['target']} "
            f"({bounds}): {verdict}.")


def _row(kind, sentence, *, source="", target="", estimate=np.nan, low=np.nan, high=np.nan,
         p_positive=np.nan) -> dict:
    return dict(kind=kind, source=source, target=target, estimate=float(estimate),
                low=float(low), high=float(high), p_positive=float(p_positive),
                sentence=sentence)


def _transfer_rows(fit, *, top: int, hdi_prob: float) -> list[dict]:
    if fit.config.transfer == "none":
        return [_row("transfer_none", "This fit has no transfer between tasks "
                     "(transfer='none'); refit with transfer='pairwise' to measure it.")]
    rates = fit.transfer_matrix(hdi_prob=hdi_prob)
    interval = f"{round(100 * hdi_prob)}%"
    measured = rates[rates["n_obs"] > 0] if "n_obs" in rates else rates
    rows = []
    credible_up, credible_down = measured["hdi_low"] > 0, measured["hdi_high"] < 0
    for kind, part, credible in (
            ("transfer_positive", measured[measured["mean"] > 0].sort_values(
                "mean", ascending=False), credible_up),
            ("transfer_negative", measured[measured["mean"] < 0].sort_values("mean"),
             credible_down)):
        # the credible ones (up to top), else the single strongest to say it is not credible
        shown = part[credible.reindex(part.index)].head(top)
        for _, r in (shown if len(shown) else part.head(1)).iterrows():
            rows.append(_row(kind, transfer_sentence(r, interval=interval), source=r["source"],
                             target=r["target"], estimate=r["mean"], low=r["hdi_low"],
                             high=r["hdi_high"], p_positive=r["p_positive"]))
    if not (credible_up | credible_down).any() and len(measured):
        rows.append(_row("transfer_none", f"No transfer rate's {interval} interval excludes "
                         f"zero: the data cannot tell any pair's transfer from none."))
    unmeasured = rates[rates["n_obs"] == 0] if "n_obs" in rates else rates.iloc[:0]
    if len(unmeasured):
        pairs = ", ".join(f"{s}\u2192{t}" for s, t in
                          zip(unmeasured["source"], unmeasured["target"]))
        rows.append(_row("transfer_unmeasured", f"{len(unmeasured)} pair(s) were never trained "
                         f"together ({pairs}): their rate is the prior, not a finding."))
    return rows


def _stacking(fit, alternatives) -> tuple[list, np.ndarray, list[str], list[str]] | None:
    """``(fits, weights, names, failed)`` of ``fit`` stacked with ``alternatives`` by LOO
    (``failed``: alternatives whose sampler diagnostics did not pass), or ``None``."""
    from lcurve.curves._summaries import CurveFitWarning
    from lcurve.curves.planning import stack_weights

    if not alternatives:
        return None
    fits = [fit, *alternatives]
    families = [f.config.family for f in fits]
    names = families if len(set(families)) == len(families) else None
    try:
        weights, names = stack_weights(fits, names=names)
    except ValueError as err:  # e.g. fitted to other rows: LOO cannot weigh them
        warnings.warn(f"findings: not stacking the alternative fits: {err}", UserWarning,
                      stacklevel=3)
        return None
    failed = []
    for name, alternative in zip(names[1:], alternatives):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CurveFitWarning)
            if alternative.diagnostics().messages:
                failed.append(name)
    return fits, weights, names, failed


def _stacked_text(stack, task: str, target_score: float, interval: float) -> str:
    """What the stack of fits says about ``task``'s samples needed, for the extrapolation
    sentence of :func:`_sample_rows`."""
    from lcurve.curves.planning import required_samples_stacked

    fits, weights, names, failed = stack
    others = ", ".join(names[1:])
    text = f"stacking it with {others} by LOO over the sizes trained"
    if weights[0] >= 0.99:
        text += f" gives {names[0]} weight {weights[0]:.2f}, so the stacked answer is the same"
        needs = [other.required_samples(task, target_score, interval=interval).iloc[0]
                 for other in fits[1:]]
    else:
        shares = ", ".join(f"{n} {w:.2f}" for n, w in zip(names, weights))
        stacked = required_samples_stacked(fits, task, target_score, weights=weights,
                                           names=names, interval=interval)
        alone = stacked.iloc[0]
        text += f" (weights {shares}) "
        if alone["p_reachable"] < 0.5:
            text += (f"does not reach {target_score:g} alone in "
                     f"{100 * (1 - alone['p_reachable']):.0f}% of draws")
        else:
            text += (f"gives about {_count(alone['median'])} samples alone (interval "
                     f"{_count(alone['low'])} to {_count(alone['high'])})")
        needs = [stacked.attrs["per_fit"][name][0] for name in names[1:]]  # "alone" first
    alone_answers = []
    for name, need in zip(names[1:], needs):
        alone_answers.append(
            f"{name} alone: does not reach it in {100 * (1 - need['p_reachable']):.0f}% of "
            f"draws" if need["p_reachable"] < 0.5 else
            f"{name} alone: about {_count(need['median'])}, interval {_count(need['low'])} "
            f"to {_count(need['high'])}")
    text += f" ({'; '.join(alone_answers)})"
    if failed:
        text += f" ({', '.join(failed)} did not pass its sampler diagnostics)"
    return text


def _sample_rows(fit, target_score: float, interval: float, stack=None) -> list[dict]:
    """Two rows per task (alone, with partners) sharing one sentence; ``stack``
    (:func:`_stacking`) adds what the stacked families say where the answer extrapolates."""
    metric = fit.config.metric.upper()
    sizes = fit.idata.constant_data["sizes"].values
    fitted_max = sizes.max(axis=0)
    fitted_min = np.where(sizes > 0, sizes, np.inf).min(axis=0)
    share = f"{round(100 * interval)}%"
    rows = []
    for k, task in enumerate(fit.tasks):
        table = fit.required_samples(task, target_score, interval=interval).set_index("scenario")
        alone = table.loc["alone"]
        task_rows = [_row("samples_alone", "", target=task, estimate=alone["median"],
                          low=alone["low"], high=alone["high"])]
        ctx = table.loc["with_context"] if "with_context" in table.index else None
        others = np.delete(fitted_max, k)
        size = f"n={others.max():g} each" if len(set(others)) == 1 else "their largest sizes"
        if ctx is not None:
            task_rows.append(_row("samples_with_partners", "", source="others", target=task,
                                  estimate=ctx["median"], low=ctx["low"], high=ctx["high"]))
        reach = [alone["p_reachable"]] + ([ctx["p_reachable"]] if ctx is not None else [])
        smallest = fitted_min[k]
        if max(reach) >= 0.5 and alone["median"] <= smallest * (1 + 1e-6):
            # below the smallest size trained the curve is an extrapolation to n -> 0: say what
            # the data show instead of a count the data cannot support
            text = (f"{task} is expected to reach {metric} {target_score:g} already at the "
                    f"smallest size trained (n={smallest:g}); how many fewer samples would "
                    f"suffice is outside the data")
        elif max(reach) < 0.5:  # the curve levels off below the target in most draws
            text = (f"{task} does not reach an expected {metric} of {target_score:g}: its curve "
                    f"levels off below it in {100 * (1 - alone['p_reachable']):.0f}% of draws "
                    f"alone")
            if ctx is not None:
                text += (f" and {100 * (1 - ctx['p_reachable']):.0f}% with the other tasks' "
                         f"data ({size})")
        else:
            text = (f"To reach an expected {metric} of {target_score:g}, {task} needs about "
                    f"{_count(alone['median'])} samples alone ({share} interval "
                    f"{_count(alone['low'])} to {_count(alone['high'])})")
            if ctx is not None:
                text += (f" and {_count(ctx['median'])} with the other tasks' data ({size}; "
                         f"interval {_count(ctx['low'])} to {_count(ctx['high'])})")
        largest = fitted_max[k]
        if max(reach) < 0.5 or alone["median"] > largest * (1 + 1e-6):
            # beyond the largest size trained the answer is the family's extrapolation: the
            # families agree inside the data and differ most there (experiments/curves/RESULTS.md)
            text += (f". This is an extrapolation of the {fit.config.family} curve beyond the "
                     f"largest size trained (n={largest:g}): ")
            text += (_stacked_text(stack, task, target_score, interval) if stack else
                     "compare or stack families (lcurve.compare_curves, "
                     "lcurve.curves.required_samples_stacked) before relying on it")
        for row in task_rows:
            row["sentence"] = text + "."
        rows += task_rows
    return rows


def extrapolation_flags(lfo: pd.DataFrame, *, max_bias: float = 0.01) -> dict[str, bool]:
    """What a :func:`~lcurve.curves.checks.leave_future_out` table says, as flags:
    ``under``/``over`` (mean error beyond ``max_bias``), ``narrow``/``wide`` (fewer/more runs
    inside their intervals than a calibrated model gives with probability 0.05: from the
    refit's joint predictive where the table has it (``p_narrow, p_wide``,
    :func:`~lcurve.curves.checks.inside_count_check`, which knows that a task's runs go in
    and out together), else binomial over the runs), ``svi`` (an approximate refit),
    ``warned`` (the refit's sampler warned) and ``flagged``, any of ``under, over, narrow,
    svi, warned``: a reader should be warned."""
    from scipy.stats import binom

    from lcurve.curves.checks import summarise_future

    found = summarise_future(lfo)
    interval = float(lfo["interval"].iloc[0]) if "interval" in lfo else 0.9
    n, k = found["n_held"], found["n_inside"]
    rhat, ess = found.get("max_rhat", np.nan), found.get("min_ess_bulk", np.nan)
    svi = "method" in lfo and lfo["method"].iloc[0] == "svi"
    if np.isfinite(found.get("p_narrow", np.nan)) and np.isfinite(found.get("p_wide", np.nan)):
        p_narrow, p_wide = found["p_narrow"], found["p_wide"]  # under the joint predictive
    else:  # a table without them: the runs as independent
        p_narrow, p_wide = binom.cdf(k, n, interval), binom.sf(k - 1, n, interval)
    flags = {"under": found["bias"] < -max_bias, "over": found["bias"] > max_bias,
             "narrow": p_narrow < 0.05, "wide": p_wide < 0.05, "svi": svi,
             "warned": not svi and ((np.isfinite(rhat) and rhat > 1.01)
                                    or found.get("divergences", 0) > 0 or ess < 400)}
    flags["wide"] = flags["wide"] and not flags["narrow"]
    flags["flagged"] = any(flags[key] for key in ("under", "over", "narrow", "svi", "warned"))
    return {key: bool(value) for key, value in flags.items()}


def extrapolation_findings(lfo: pd.DataFrame, *, max_bias: float = 0.01) -> list[dict]:
    """One row of kind ``extrapolation`` from a :func:`~lcurve.curves.checks.leave_future_out`
    table: the refit's error at the largest size, against the runs' own noise, and what it
    means for sample sizes beyond the data (under-predicted by more than ``max_bias``: they are
    more likely too high; over-predicted: too optimistic). The intervals are called too narrow
    (too wide) when as few (as many) runs fell inside as a calibrated model would give with
    probability below 0.05 (:func:`extrapolation_flags`), so a handful of runs, or many runs
    of few tasks, is not over-read; where the table has the refit's expected count, the
    sentence gives it."""
    from lcurve.curves.checks import summarise_future

    if lfo is None or len(lfo) == 0:
        return []
    found = summarise_future(lfo)
    interval = float(lfo["interval"].iloc[0]) if "interval" in lfo else 0.9
    fraction = float(lfo["fraction"].iloc[0]) if "fraction" in lfo else float("nan")
    family = f"{lfo['family'].iloc[0]} " if "family" in lfo else ""
    share = (f" ({fraction:g} of each task's largest)" if np.isfinite(fraction) else "")
    sizes = ", ".join(_count(n) for n in found["sizes"])
    noise = (f"; the runs' own seed-to-seed spread alone gives {found['noise_mae']:.3f}"
             if np.isfinite(found["noise_mae"]) else "")
    text = (f"Leave-future-out on these runs: refitted on sizes up to "
            f"{_count(found['fitted_max'])}{share}, the {family}curves predicted the "
            f"{found['n_held']} single-task runs at {sizes} with mean error "
            f"{found['bias']:+.3f} (MAE {found['mae']:.3f}{noise}); {found['n_inside']} of "
            f"{found['n_held']} fell inside their {interval:.0%} intervals")
    if np.isfinite([found.get(key, np.nan) for key in
                    ("expected_inside", "inside_low", "inside_high")]).all():
        text += (f" (the refit expected {found['expected_inside']:.1f}, 90% of its joint "
                 f"draws {found['inside_low']:.0f}-{found['inside_high']:.0f})")
    text += "."
    flags = extrapolation_flags(lfo, max_bias=max_bias)
    if flags["under"]:
        text += (" The curves under-predicted that far out, so sample sizes well beyond the "
                 "largest size trained are more likely too high than too low.")
    elif flags["over"]:
        text += (" The curves over-predicted that far out, so sample sizes well beyond the "
                 "largest size trained may be too optimistic.")
    else:
        text += " No sign of bias over that distance."
    if flags["narrow"]:
        text += " Their intervals were too narrow there: read extrapolated intervals as too short."
    elif flags["wide"]:
        text += " Their intervals were wider than needed there."
    if flags["svi"]:
        text += (" The refit is an SVI approximation (its intervals may be too narrow and its "
                 "convergence cannot be checked): treat this check as provisional.")
    elif found.get("modes", 1) > 1:
        text += (f" The refit's chains sat in {found['modes']:.0f} separate modes (max R-hat "
                 f"{found.get('max_rhat', np.nan):.3f}): this check's predictions are not to "
                 f"be used; refit the check with other seeds or a simpler structure.")
    elif flags["warned"]:
        text += (f" The refit's sampler warned (max R-hat {found.get('max_rhat', np.nan):.3f}, "
                 f"min bulk ESS {found.get('min_ess_bulk', np.nan):.0f}, "
                 f"{divergent_transitions(found.get('divergences', 0))}): treat this check "
                 f"as provisional.")
    if found["n_held"] < 20:
        text += f" (A rough check: {found['n_held']} runs.)"
    return [_row("extrapolation", text, estimate=found["bias"])]


def trust_findings(fit, *, max_rhat: float = 1.01, min_ess: float = 100.0) -> list[dict]:
    """Rows of kind ``trust``: diagnostics passed or not, the reason and the fix."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        diag = fit.diagnostics(max_rhat=max_rhat, min_ess=min_ess)
    rows = []
    if diag.method == "svi":
        rows.append(_row("trust", "Approximate posterior (SVI): intervals may be too narrow and "
                         "chain agreement (R-hat) cannot be checked. Fix: refit with NUTS "
                         "(method='nuts', `lcurve fit --method nuts`) before acting on "
                         "borderline findings.", estimate=diag.min_ess_bulk))
    fixes = []
    if diag.stuck_chains:
        fixes.append(f"{len(diag.stuck_chains)} of {diag.n_chains} chains never moved (a "
                     f"stuck sampler): refit with another seed or a higher target_accept")
    if np.isfinite(diag.max_rhat) and diag.max_rhat > max_rhat and len(diag.modes) > 1:
        where = modes_text(diag.chain_loglik, diag.modes)
        fixes.append(f"the chains sit in {len(diag.modes)} separate modes (R-hat "
                     f"{diag.max_rhat:.3f} > {max_rhat}; {where}), which longer runs do not "
                     f"merge: simplify the structure or add design "
                     f"levels, or refit with other seeds and compare")
    elif np.isfinite(diag.max_rhat) and diag.max_rhat > max_rhat:
        fixes.append(f"chains disagree (R-hat {diag.max_rhat:.3f} > {max_rhat}): run longer "
                     f"(num_warmup, num_samples)")
    threshold = min_ess * (diag.n_chains if diag.method == "nuts" else 1)
    worst = min(diag.min_ess_bulk, diag.min_ess_tail)
    if worst < threshold:
        fixes.append(f"too few effective draws (ESS {worst:.0f} < {threshold:.0f}): draw more "
                     f"(num_samples)")
    if diag.n_divergent:
        fixes.append(f"{divergent_transitions(diag.n_divergent)}: raise target_accept (e.g. "
                     f"0.95) or use a simpler transfer structure")
    gaps = fit.curve_gaps()
    off = gaps[~gaps["ok"]]
    if len(off):
        far = off.loc[off["gap"].abs().idxmax()]
        rows.append(_row("trust", f"The fitted curves do not pass through the runs of "
                         f"{len(off)} of {len(gaps)} tasks (worst: {far['task']}, runs "
                         f"{far['observed']:.3f} on average, its curve {far['curve']:.3f}): the "
                         f"nested-design effects carry the level, so predictions and sample "
                         f"counts for these tasks are off. Try another family "
                         f"(compare_curves) or seed_effects='centred'.",
                         target=far["task"], estimate=far["gap"]))
    reach = fit.context_reach()
    far = reach[~reach["ok"]]
    if len(far):
        worst = far.loc[far["ratio"].idxmax()]
        if fit.config.transfer != "contextual":
            fix = "a smaller transfer_scale"
        elif fit.config.context_prior == "rate":
            fix = ("context_prior='data' (the default since 2026-12-07), which states the "
                   "rates' prior relative to the target's own sizes")
        else:
            fix = f"a smaller context_scale (this fit: {fit.config.context_scale:g})"
        rows.append(_row("trust", f"Transfer places the runs with other tasks of {len(far)} of "
                         f"{len(reach)} tasks far beyond their own runs (worst: "
                         f"{worst['task']}, runs at up to {worst['reach']:,.0f} effective "
                         f"samples against {worst['largest_alone']:,.0f} alone): the curves "
                         f"beyond their own runs are drawn through runs that transfer moved "
                         f"there, so predictions and sample counts for larger sizes are "
                         f"doubtful. Fix: check with leave_future_out, and compare a refit "
                         f"with {fix}.", target=worst["task"], estimate=worst["ratio"]))
    meta = fit._require()
    if (meta.get("has_n_test") and meta.get("test_shared", 0.0) == 0
            and meta.get("test_noise") != "none"):
        rows.append(_row("trust", "Fitted with test_shared=0: each curve is its task's test "
                         "set's, so its intervals and the sample sizes read from it leave out "
                         "the sampling error of that one test set, which all the task's runs "
                         "share. Fix: refit with test_shared set to the share your runs have "
                         "in common (0.55 measured on MoleculeACE, the default for every "
                         "structure but joint, whose sampler did not yet converge with it)."))
    if fixes:
        rows.append(_row("trust", "Sampler diagnostics FAILED: " + "; ".join(fixes) + ". Treat "
                         "the numbers above as provisional.", estimate=diag.max_rhat))
    elif diag.method == "nuts" and diag.n_chains == 1:
        rows.append(_row("trust", f"Sampler diagnostics only partly checked: with one chain, "
                         f"chain agreement (R-hat) cannot be checked; min ESS {worst:.0f} "
                         f"\u2265 {threshold:.0f}, no divergent transitions. Fix: refit with "
                         f"num_chains \u2265 2 (the default is 4).", estimate=worst))
    elif diag.method == "nuts":
        rows.append(_row("trust", f"Sampler diagnostics passed: {diag.n_chains} chains agree "
                         f"(max R-hat {diag.max_rhat:.3f} \u2264 {max_rhat}), min ESS "
                         f"{worst:.0f} \u2265 {threshold:.0f}, no divergent transitions.",
                         estimate=diag.max_rhat))
    seeds = fit.idata.constant_data["seed"].values if "seed" in fit.idata.constant_data else []
    if len(np.unique(seeds)) == 1:
        rows.append(_row("trust", "Every run has one seed: seed-to-seed training variation is "
                         "not replicated, so intervals reflect test-set noise and the curve "
                         "model only. Fix: run two or more seeds."))
    return rows


def fit_findings(fit, *, target_score: float | None = None, top: int = 2,
                 hdi_prob: float = 0.9, alternatives=(), lfo: pd.DataFrame | None = None
                 ) -> pd.DataFrame:
    """The findings of a fit as a tidy table (:data:`FINDING_COLUMNS`), in reading order.

    Parameters
    ----------
    fit : CurveFit
        A fitted (or loaded) curve fit.
    target_score : float, optional
        Expected score for the sample-size rows (default :func:`choose_target_score` of the
        observed scores).
    top : int
        How many credibly positive and credibly negative transfers to list, strongest first
        (when none is credible in a direction, the strongest one is listed as not credible).
    hdi_prob : float
        Interval probability of the transfer and sample-size intervals.
    alternatives : sequence of CurveFit
        Fits of other curve families to the same rows (e.g. ``exp3`` beside ``pow4``). Where a
        sample size lies beyond the largest size trained, the sentence then says what the
        stack of ``fit`` and them gives (:func:`lcurve.curves.required_samples_stacked`, LOO
        stacking weights) instead of advising to compare families.
    lfo : DataFrame, optional
        A :func:`~lcurve.curves.checks.leave_future_out` table of the same runs: adds the
        ``extrapolation`` row (:func:`extrapolation_findings`).

    Returns
    -------
    pandas.DataFrame
        ``kind, source, target, estimate, low, high, p_positive, sentence``: transfer rows
        first (``estimate`` is ``tau``), then samples (``estimate`` is the median number of
        samples), then the ``extrapolation`` row, then ``trust`` rows.
    """
    fit._require()
    from lcurve.curves.checks import lfo_mismatch

    checked = None if lfo is None else lfo_mismatch(lfo, fit)
    if checked:
        raise ValueError(f"the leave-future-out table checks {checked}, not this fit's "
                         f"({fit.config.family!r}, {fit.config.transfer!r})")
    if target_score is None:
        target_score = choose_target_score(fit.idata.observed_data["score"].values)
    rows = [*_transfer_rows(fit, top=top, hdi_prob=hdi_prob),
            *_sample_rows(fit, target_score, hdi_prob, _stacking(fit, list(alternatives))),
            *extrapolation_findings(lfo), *trust_findings(fit)]
    return pd.DataFrame(rows, columns=list(FINDING_COLUMNS))


def format_findings(table: pd.DataFrame, *, width: int = 100) -> str:
    """The sentences of a findings table as indented terminal lines (one sentence per item)."""
    import textwrap

    seen, lines = set(), []
    for sentence in table["sentence"]:
        if sentence and sentence not in seen:
            seen.add(sentence)
            lines.append(textwrap.fill(sentence, width=width, initial_indent="  - ",
                                       subsequent_indent="    "))
    return "\n".join(lines)
