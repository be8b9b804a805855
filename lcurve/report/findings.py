"""The answer first: findings of a whole run folder, as sentences for the page and the terminal.

:func:`run_findings` reads what :func:`~lcurve.report.find_inputs` found and answers, in order:

1. **Transfer**: the strongest positive and negative transfers with their intervals and
   ``P(tau > 0)`` (a fit's :meth:`~lcurve.curves.CurveFit.findings`), or, without a fit, the
   measured gains of pair runs over single runs (:func:`lcurve.transfer.transfer_table`).
2. **Task groups**: which tasks to train together, chosen with the transfer's uncertainty
   (:func:`lcurve.affinity.group_tasks` with ``uncertainty="sample"``), and the expected gain.
3. **Samples needed** to reach a target score alone vs with the other tasks' data.
4. **TAG vs curves**: where the gradient-based affinities agree with the learning curves.
5. **Trust**: sampler diagnostics (passed or not, why, the fix), diverged runs, one seed.

A part whose input is missing becomes a note that says what is missing and how to get it.

Example
-------
>>> from pathlib import Path
>>> import tempfile
>>> from lcurve.curves import simulate_results
>>> from lcurve.report import find_inputs
>>> folder = Path(tempfile.mkdtemp())
>>> simulate_results(n_tasks=3, seed=0)[0].to_parquet(folder / "results.parquet")
>>> [f.topic for f in run_findings(find_inputs(folder))][:2]
['Transfer', 'Transfer']
"""

from __future__ import annotations

import dataclasses
import logging
import textwrap
import warnings

import numpy as np
import pandas as pd

from lcurve.curves.findings import extrapolation_flags
from lcurve.report.html import escape

logger = logging.getLogger(__name__)

__all__ = ["Finding", "TOPICS", "findings_html", "findings_text", "run_findings"]

#: Topics of the findings, in reading order.
TOPICS = ("Transfer", "Task groups", "Samples needed", "TAG vs curves", "Trust")


@dataclasses.dataclass(frozen=True)
class Finding:
    """One sentence of the findings. ``level``: ``"info"``, ``"ok"``, ``"warning"``, ``"note"``
    (a part that could not be computed, with what is missing)."""

    topic: str
    text: str
    level: str = "info"


def metric_of(found) -> str:
    """The metric the run is read in: the fit's, else ``auroc`` if measured, else the first."""
    if found.fit is not None:
        return found.fit.config.metric
    results = found.results
    if results is not None and "metric" in results and "auroc" not in set(results["metric"]):
        return str(results["metric"].iloc[0])
    return "auroc"


def transfer_for_findings(found):
    """``(table, kind, note)``: the transfer table the findings use and what it measures.

    ``kind`` is ``"posterior"`` (a pairwise/joint fit's tau), ``"empirical"`` (measured gains
    of pair runs) or ``None`` (``note`` says why there is none).
    """
    from lcurve.transfer import TransferError, transfer_table

    fit = found.fit
    if fit is not None and fit.config.transfer in ("pairwise", "joint"):
        return fit.transfer_matrix(), "posterior", ""
    if found.results is None:
        return None, None, "no sweep results and no pairwise fit"
    try:
        return transfer_table(found.results, metric=metric_of(found)), "empirical", ""
    except TransferError as err:
        return None, None, f"no measured pair transfer ({err})"


def _gain_sentence(row, metric: str) -> str:
    verdict = ("credibly positive" if row["hdi_low"] > 0 else "credibly negative"
               if row["hdi_high"] < 0 else "not distinguishable from no gain")
    interval = (f"90% interval {row['hdi_low']:+.3f} to {row['hdi_high']:+.3f} over "
                f"{int(row['n'])} seeds" if np.isfinite(row["hdi_low"])
                else f"one seed ({int(row['n'])}), no interval")
    return (f"Training {row['target']} together with {row['source']} changes its test "
            f"{metric.upper()} by {row['mean']:+.3f} on average ({interval}): {verdict}.")


def _transfer(found, fit_table, table, kind, note) -> list[Finding]:
    if fit_table is not None and fit_table["kind"].str.startswith("transfer").any():
        rows = fit_table[fit_table["kind"].str.startswith("transfer")]
        return [Finding("Transfer", s, "note" if k in ("transfer_none", "transfer_unmeasured")
                        else "info") for k, s in zip(rows["kind"], rows["sentence"])]
    if kind != "empirical":
        return [Finding("Transfer", f"No transfer to report: {note}. Run a pair sweep "
                        f"(design kind 'pairs') and `lcurve fit` with transfer 'pairwise'.",
                        "note")]
    metric = metric_of(found)
    out = []
    credible_up, credible_down = table["hdi_low"] > 0, table["hdi_high"] < 0
    for part, credible in ((table[table["mean"] > 0].sort_values("mean", ascending=False),
                            credible_up),
                           (table[table["mean"] < 0].sort_values("mean"), credible_down)):
        shown = part[credible.reindex(part.index)].head(2)
        for _, row in (shown if len(shown) else part.head(1)).iterrows():
            out.append(Finding("Transfer", _gain_sentence(row, metric)))
    why = ("no curve fit in this folder" if found.fit is None
           else f"the fit's transfer is '{found.fit.config.transfer}', not pairwise")
    out.append(Finding("Transfer", f"These are measured gains in test {metric.upper()}, not "
                       f"sample exchange rates ({why}); `lcurve fit` with --transfer pairwise "
                       f"gives rates that also account for sizes.", "note"))
    return out


def _basis(found) -> str:
    """Why the grouping and TAG comparison use measured gains rather than a fit."""
    if found.fit is None:
        return "measured gains of pair runs (no curve fit)"
    return f"measured gains of pair runs (the fit's transfer is '{found.fit.config.transfer}')"


def _groups(found, table, kind, note) -> list[Finding]:
    from lcurve.affinity import group_tasks

    if table is None:
        return [Finding("Task groups", f"No grouping: {note}.", "note")]
    tasks = sorted(set(table["source"]) | set(table["target"]))
    grouping = group_tasks(table, max_groups=len(tasks), value="mean", uncertainty="sample",
                           seed=0)
    together = [g for g in grouping.groups if len(g) > 1]
    alone = [g[0] for g in grouping.groups if len(g) == 1]
    unit = ("target samples per partner sample" if kind == "posterior"
            else f"change in test {metric_of(found).upper()}")
    basis = "" if kind == "posterior" else f" Based on {_basis(found)}."
    if not together:
        return [Finding("Task groups", "Train each task alone: no grouping of tasks beats it "
                        f"(chosen in {100 * grouping.support:.0f}% of draws from the transfer's "
                        f"uncertainty).{basis}")]
    rates = table.set_index(["source", "target"])["mean"]
    parts = []
    for group in together:
        gains = [np.mean([rates.get((s, t), np.nan) for s in group if s != t]) for t in group]
        parts.append(f"{' + '.join(group)} (mean transfer onto each member "
                     f"{np.nanmean(gains):+.3f} {unit})")
    text = f"Train together: {'; '.join(parts)}"
    if alone:
        text += f"; train alone: {', '.join(alone)}"
    weak = ("" if grouping.support >= 0.5 else
            " (weakly supported: other groupings are nearly as likely)")
    text += (f". This grouping was chosen in {100 * grouping.support:.0f}% of 200 draws from the "
             f"transfer's uncertainty{weak}; its total expected gain is {grouping.score:+.3f} "
             f"{unit} summed over tasks.{basis}")
    return [Finding("Task groups", text, "ok" if grouping.support >= 0.5 else "info")]


def _samples(found, fit_table) -> list[Finding]:
    if found.fit is None:
        return [Finding("Samples needed", "No sample-size planning without a curve fit: run "
                        f"`lcurve fit {found.folder}/results.parquet --out "
                        f"{found.folder}/fit.nc`.", "note")]
    rows = fit_table[fit_table["kind"] == "samples_alone"]
    out = [Finding("Samples needed", s) for s in dict.fromkeys(rows["sentence"])]
    flagged = found.lfo is not None and extrapolation_flags(found.lfo)["flagged"]
    for sentence in fit_table.loc[fit_table["kind"] == "extrapolation", "sentence"]:
        out.append(Finding("Samples needed", sentence, "warning" if flagged else "info"))
    return out


def _tag(found, table, kind) -> list[Finding]:
    from scipy.stats import spearmanr

    if found.tag is None:
        return [Finding("TAG vs curves", f"No TAG comparison: "
                        f"{found.missing.get('tag', 'the TAG table could not be read')}.",
                        "note")]
    if table is None:
        return [Finding("TAG vs curves", "No TAG comparison: no learning-curve transfer to "
                        "compare with.", "note")]
    pairs = found.tag[["source", "target", "affinity"]].merge(table, on=["source", "target"])
    pairs = pairs[np.isfinite(pairs["affinity"]) & np.isfinite(pairs["mean"])]
    if len(pairs) < 3:
        return [Finding("TAG vs curves", f"Only {len(pairs)} pair(s) have both a TAG affinity "
                        f"and a learning-curve transfer: too few to compare.", "note")]
    rho = spearmanr(pairs["affinity"], pairs["mean"]).statistic
    what = "posterior transfer" if kind == "posterior" else _basis(found)
    strength = ("agree" if rho >= 0.5 else "partly agree" if rho >= 0.2 else "disagree")
    text = (f"TAG and the learning curves {strength} on the ranking of the {len(pairs)} pairs "
            f"(Spearman rho {rho:+.2f} between TAG affinity and {what}).")
    credible = pairs[(pairs["hdi_low"] > 0) | (pairs["hdi_high"] < 0)]
    out = [Finding("TAG vs curves", text)]
    if len(credible):
        same = np.sign(credible["affinity"]) == np.sign(credible["mean"])
        wrong = credible[~same].reindex(credible[~same]["mean"].abs()
                                        .sort_values(ascending=False).index)
        sentence = (f"Of the {len(credible)} pair(s) whose transfer interval excludes zero, TAG "
                    f"has the same sign for {int(same.sum())}")
        if len(wrong):
            listed = ", ".join(f"{r.source}\u2192{r.target} (curves {r.mean:+.3f}, TAG "
                               f"{r.affinity:+.4f})" for r in wrong.head(3).itertuples())
            sentence += f"; it disagrees on {listed}"
        out.append(Finding("TAG vs curves", sentence + ".",
                           "ok" if not len(wrong) else "warning"))
    else:
        out.append(Finding("TAG vs curves", "No pair's transfer interval excludes zero, so no "
                           "pair can show TAG right or wrong on sign.", "note"))
    return out


def _trust(found, fit_table) -> list[Finding]:
    out = []
    if fit_table is not None:
        for sentence in fit_table.loc[fit_table["kind"] == "trust", "sentence"]:
            level = ("ok" if sentence.startswith("Sampler diagnostics passed") else "warning")
            out.append(Finding("Trust", sentence, level))
    elif found.fit is None:
        out.append(Finding("Trust", "No curve fit, so no posterior to check: the transfer above "
                           "is measured directly from the runs.", "note"))
    results = found.results
    if results is not None and "diverged" in results.columns:
        runs = results.drop_duplicates("run_id") if "run_id" in results else results
        n_div = int(runs["diverged"].fillna(False).astype(bool).sum())
        if n_div:
            out.append(Finding("Trust", f"{n_div} training run(s) diverged (non-finite loss); "
                               f"their scores are left out. Fix: lower the learning rate.",
                               "warning"))
    if found.fit is None and results is not None and "seed" in results \
            and results["seed"].nunique() == 1:
        out.append(Finding("Trust", "One seed per run: no interval for measured gains. Fix: "
                           "run two or more seeds.", "warning"))
    for problem in found.problems:
        out.append(Finding("Trust", f"Unreadable input: {problem}.", "warning"))
    return out


def run_findings(found, *, target_score: float | None = None, top: int = 2,
                 fit_table: pd.DataFrame | None = None,
                 fit_error: Exception | None = None) -> list[Finding]:
    """The findings of a run folder, in the order of :data:`TOPICS`.

    Parameters
    ----------
    found : RunInputs
        What :func:`~lcurve.report.find_inputs` found.
    target_score : float, optional
        Target expected score of the sample-size sentences (default
        :func:`lcurve.curves.findings.choose_target_score` of the fitted scores).
    top : int
        How many credible positive and negative transfers to state.
    fit_table, fit_error
        The fit's findings table (``found.fit.findings()``) or the error it raised, when the
        caller has computed it already (the report shares it between sections).

    Returns
    -------
    list of Finding
        Never raises for a missing or failing part: that part becomes a ``note`` or
        ``warning`` saying what went wrong.
    """
    out: list[Finding] = []
    if fit_error is not None:
        out.append(Finding("Trust", f"The fit's findings failed: {type(fit_error).__name__}: "
                           f"{fit_error}.", "warning"))
    elif found.fit is not None and fit_table is None:
        try:
            fit_table = found.fit.findings(target_score=target_score, top=top,
                                           alternatives=found.alternatives, lfo=found.lfo)
        except Exception as err:  # noqa: BLE001 - a failing part must not sink the rest
            logger.warning("fit findings failed: %s", err)
            out.append(Finding("Trust", f"The fit's findings failed: {type(err).__name__}: "
                               f"{err}.", "warning"))
    table, kind, note = transfer_for_findings(found)
    parts = (("Transfer", lambda: _transfer(found, fit_table, table, kind, note)),
             ("Task groups", lambda: _groups(found, table, kind, note)),
             ("Samples needed", lambda: _samples(found, fit_table) if fit_table is not None
              or found.fit is None else []),
             ("TAG vs curves", lambda: _tag(found, table, kind)),
             ("Trust", lambda: _trust(found, fit_table)))
    for topic, make in parts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                out += make()
        except Exception as err:  # noqa: BLE001
            logger.warning("findings on %s failed: %s", topic, err)
            out.append(Finding(topic, f"Could not be computed: {type(err).__name__}: {err}.",
                               "warning"))
    order = {t: k for k, t in enumerate(TOPICS)}
    return sorted(out, key=lambda f: order.get(f.topic, len(order)))


def findings_text(findings, *, width: int = 100) -> str:
    """Terminal text: one heading per topic, one wrapped bullet per sentence."""
    lines, topic = [], None
    marks = {"warning": "! ", "note": "~ ", "ok": "", "info": ""}
    for finding in findings:
        if finding.topic != topic:
            topic = finding.topic
            lines.append(f"{topic}:")
        lines.append(textwrap.fill(marks.get(finding.level, "") + finding.text, width=width,
                                   initial_indent="  - ", subsequent_indent="    "))
    return "\n".join(lines)


def findings_html(findings) -> str:
    """An HTML block: one row per topic with its sentences as a list."""
    blocks, topics = [], list(dict.fromkeys(f.topic for f in findings))
    for topic in topics:
        items = "".join(f"<li class='f-{escape(f.level)}'>{escape(f.text)}</li>"
                        for f in findings if f.topic == topic)
        blocks.append(f"<div class='finding'><h3>{escape(topic)}</h3><ul>{items}</ul></div>")
    return f"<div class='findings'>{''.join(blocks)}</div>"
