"""``write_report(run_dir)``: one self-contained HTML page from whatever a run folder holds.

The page answers first and documents last:

1. **Findings** (:mod:`lcurve.report.findings`): transfers, task groups, samples needed, TAG
   agreement and a trust line, in sentences.
2. Figures: learning curves per target and partner, the transfer heatmap with intervals,
   samples needed, TAG vs learning curves, latent factors, a one-figure summary of the sampler
   diagnostics (the full ArviZ plots collapsed in ``<details>``), the sweep's runs.
3. **Appendix**: the inputs found, configuration, manifest and versions.

Each part whose input is absent says so (and how to get it) instead of failing.

Example
-------
>>> from pathlib import Path
>>> import tempfile
>>> from lcurve.curves import simulate_results
>>> folder = Path(tempfile.mkdtemp())
>>> simulate_results(n_tasks=2, seed=0)[0].to_parquet(folder / "results.parquet")
>>> write_report(folder).name
'index.html'
"""

from __future__ import annotations

import datetime
import json
import logging
import traceback
import warnings
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from lcurve.curves.findings import choose_target_score
from lcurve.report.findings import (findings_html, findings_text, metric_of, run_findings,
                                    transfer_for_findings)
from lcurve.report.html import Page, escape
from lcurve.report.inputs import RunInputs, find_inputs

logger = logging.getLogger(__name__)

__all__ = ["write_report", "report_versions", "choose_target_score", "SECTIONS", "FINDINGS_FILE"]

#: Plain-text findings written beside ``index.html`` (what ``lcurve demo`` prints).
FINDINGS_FILE = "findings.txt"

#: Sections of the page, in order (anchor, title).
SECTIONS = (("findings", "Findings"), ("curves", "Learning curves per partner"),
            ("transfer", "Transfer between tasks"), ("planning", "Samples needed"),
            ("tag", "TAG vs learning curves"), ("latent", "Latent transfer factors"),
            ("diagnostics", "Sampler diagnostics"), ("sweep", "Sweep runs"),
            ("appendix", "Appendix: inputs, configuration, versions"))


def report_versions() -> dict[str, str]:
    """Versions of the packages the report was written with."""
    from lcurve.sweep import versions

    out = versions()
    for name in ("arviz", "matplotlib", "pandas", "scipy"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


class _Context:
    """What several sections share, computed once: the fit's findings, the transfer table."""

    def __init__(self, found: RunInputs, *, top: int = 2):
        self.found = found
        self.top = top
        self.findings = []
        self.fit_table = None
        self.fit_error = None
        if found.fit is not None:
            try:
                self.fit_table = found.fit.findings(top=top, alternatives=found.alternatives,
                                                   lfo=found.lfo)
            except Exception as err:  # noqa: BLE001 - reported in the findings
                self.fit_error = err
        self.transfer, self.transfer_kind, self.transfer_note = transfer_for_findings(found)

    @property
    def metric(self) -> str:
        return metric_of(self.found)


def _skip(page: Page, reason: str) -> None:
    page.text(f"Skipped: {reason}.", kind="note")


# ------------------------------------------------------------------------------ sections
def _findings(page: Page, ctx: _Context) -> None:
    page.section("findings", "Findings")
    ctx.findings = run_findings(ctx.found, top=ctx.top, fit_table=ctx.fit_table,
                                fit_error=ctx.fit_error)
    page.raw(findings_html(ctx.findings))


def _curves(page: Page, ctx: _Context) -> None:
    from lcurve.plot import plot_curves

    page.section("curves", "Learning curves per partner")
    found = ctx.found
    if found.fit is not None:
        fig = plot_curves(found.fit)
        caption = ("One panel per target task. Open circles: trained alone; coloured markers: "
                   "trained with one partner (colour: partner; marker: partner's size; shifted "
                   "slightly right so they do not hide the alone points). Lines: posterior mean "
                   "alone (black, 50% and 90% bands) and with each partner at its largest size "
                   "(90% band); hatched and dashed: beyond the largest observed size "
                   "(extrapolated).")
    elif found.results is not None:
        fig = plot_curves(found.results, metric=ctx.metric)
        caption = ("Observed test scores (no curve fit in this folder). Open circles: trained "
                   "alone; coloured markers: with one partner (colour: partner, marker: its "
                   "size).")
    else:
        _skip(page, found.missing.get("sweep", "no sweep results and no fit"))
        return
    page.figure(fig, "curves", caption)


def _transfer(page: Page, ctx: _Context) -> None:
    from lcurve.plot import plot_contextual, plot_transfer_matrix

    page.section("transfer", "Transfer between tasks")
    fit = ctx.found.fit
    if fit is not None and fit.config.transfer == "contextual":
        ax = plot_contextual(fit)
        page.figure(ax.figure, "transfer", "Contextual transfer per task: target samples worth "
                    "one sample of the other tasks' data (mean, 90% interval).")
        page.table(fit.transfer_matrix())
        return
    table, kind = ctx.transfer, ctx.transfer_kind
    if table is None:
        _skip(page, ctx.transfer_note)
        return
    if kind == "posterior":
        ax = plot_transfer_matrix(table)
        caption = ("Posterior transfer tau, source (row) \u2192 target (column): target samples "
                   "worth one source sample; each cell gives the mean and 90% interval, bold "
                   "where it excludes 0; tasks ordered by clustering.")
    else:
        ax = plot_transfer_matrix(table, colorbar_kwargs={
            "label": f"gain in test {ctx.metric.upper()} with the source"})
        caption = (f"Measured gain in the target's test {ctx.metric.upper()} when trained with "
                   f"the source vs alone (mean over seeds and sizes, 90% t-interval over seeds).")
    page.figure(ax.figure, "transfer", caption)
    page.open_details(f"All {len(table)} transfer rates (table)")
    page.table(table.sort_values("mean", key=abs, ascending=False), max_rows=200)
    page.close_details()


def _planning(page: Page, ctx: _Context) -> None:
    from lcurve.plot import plot_required_samples

    page.section("planning", "Samples needed")
    if ctx.found.fit is None:
        _skip(page, ctx.found.missing.get("fit", "no curve fit"))
        return
    if ctx.fit_table is None:
        _skip(page, f"the fit's findings failed ({ctx.fit_error})")
        return
    rows = ctx.fit_table[ctx.fit_table["kind"].str.startswith("samples_")]
    table = pd.DataFrame({
        "task": rows["target"], "median": rows["estimate"], "low": rows["low"],
        "high": rows["high"],
        "scenario": rows["kind"].map({"samples_alone": "alone",
                                      "samples_with_partners": "with_context"})})
    score = choose_target_score(ctx.found.fit.idata.observed_data["score"].values)
    table["target_score"] = score
    ax = plot_required_samples(table)
    page.figure(ax.figure, "planning", f"Training samples of each task needed to reach an "
                f"expected {ctx.metric.upper()} of {score:g} (median and 90% interval), alone and "
                f"with the other tasks' data at their largest size; arrow: not reached.")


def _tag(page: Page, ctx: _Context) -> None:
    from lcurve.plot import plot_affinity_comparison

    page.section("tag", "TAG vs learning curves")
    found = ctx.found
    if found.tag is None:
        _skip(page, found.missing.get("tag", "the TAG table could not be read"))
        return
    if ctx.transfer is None:
        page.text(f"No learning-curve transfer to compare with: {ctx.transfer_note}.",
                  kind="note")
    else:
        what = ("posterior transfer tau (90% interval)" if ctx.transfer_kind == "posterior"
                else "measured pair gain (90% t-interval over seeds)")
        try:
            ax = plot_affinity_comparison(found.tag, ctx.transfer)
            page.figure(ax.figure, "tag_vs_curves", f"TAG affinity vs {what}, one point per "
                        f"ordered pair; the strongest transfers are labelled first.")
        except ValueError as err:
            page.text(f"Comparison skipped: {err}.", kind="note")
    page.open_details(f"TAG affinities ({found.tag_path.name}, highest first)")
    page.table(found.tag.sort_values("affinity", ascending=False), max_rows=200)
    page.close_details()


def _latent(page: Page, ctx: _Context) -> None:
    from lcurve.latent import TransferFactors
    from lcurve.plot import plot_biplot

    page.section("latent", "Latent transfer factors")
    folder = ctx.found.latent_dir
    if folder is None:
        _skip(page, ctx.found.missing.get("latent"))
        return
    scores = pd.read_csv(folder / "factor_scores.csv", index_col=0)
    loadings = pd.read_csv(folder / "factor_loadings.csv", index_col=0)
    explained_path = folder / "factors_explained.csv"
    explained = pd.read_csv(explained_path) if explained_path.is_file() else None
    matrix_path = folder / "transfer_matrix.csv"
    prepared = pd.read_csv(matrix_path, index_col=0) if matrix_path.is_file() else pd.DataFrame()
    if explained is not None and scores.shape[1] >= 2:
        factors = TransferFactors(explained=explained, scores=scores, loadings=loadings,
                                  prepared=prepared, center="see summary", scale="see summary")
        ax = plot_biplot(factors)
        page.figure(ax.figure, "latent_biplot", "Biplot of the latent transfer factors "
                    "(sources: points, targets: arrows).")
    if explained is not None:
        page.raw("<h3>Explained variance</h3>")
        page.table(explained)
    summary = folder / "summary.md"
    if summary.is_file():
        page.open_details("summary.md of `lcurve latent`")
        page.pre(summary.read_text())
        page.close_details()


def _diagnostics(page: Page, ctx: _Context) -> None:
    from lcurve.curves import CurveFitWarning
    from lcurve.curves._summaries import divergent_transitions
    from lcurve.plot import plot_diagnostics, plot_rank, plot_trace

    page.section("diagnostics", "Sampler diagnostics")
    fit = ctx.found.fit
    if fit is None:
        _skip(page, ctx.found.missing.get("fit", "the fit file could not be read"))
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CurveFitWarning)
        diag = fit.diagnostics()
    rhat = f"{diag.max_rhat:.3f}" if np.isfinite(diag.max_rhat) else "n/a (one chain)"
    page.text(f"{diag.method.upper()}: {diag.n_chains} chain(s) x {diag.n_draws} draws; max R-hat "
              f"{rhat}; min bulk ESS {diag.min_ess_bulk:.0f}, min tail ESS "
              f"{diag.min_ess_tail:.0f}; {divergent_transitions(diag.n_divergent)}.")
    for message in diag.messages:
        page.text(f"Warning: {message}", kind="warning")
    if not diag.messages:
        page.text("No R-hat, ESS or divergence warnings.", kind="ok")
    page.figure(plot_diagnostics(fit), "diagnostics", "Worst R-hat and ESS per sampled variable "
                "(orange: past the dashed threshold).", dpi=90)
    page.open_details("Full ArviZ diagnostics: table, trace plot, rank plot")
    page.table(diag.table)
    axes = plot_trace(fit)
    page.figure(np.ravel(axes)[0].figure, "fit_trace", "Trace plot (ArviZ).", dpi=70)
    if diag.n_chains > 1:
        axes = plot_rank(fit)
        page.figure(np.ravel(axes)[0].figure, "fit_rank", "Rank plot (ArviZ): uniform bars "
                    "mean the chains agree.", dpi=70)
    else:
        page.text("Rank plot skipped: it compares chains and this posterior has one.",
                  kind="note")
    page.close_details()


def _sweep(page: Page, ctx: _Context) -> None:
    from lcurve.design import size_columns
    from lcurve.plot import plot_transfer_matrix
    from lcurve.transfer import TransferError, transfer_table

    page.section("sweep", "Sweep runs")
    results, metric = ctx.found.results, ctx.metric
    if results is None:
        _skip(page, ctx.found.missing.get("sweep"))
        return
    tasks = [c[2:] for c in size_columns(results) if c not in ("n_test", "n_test_pos")]
    n_runs = results["run_id"].nunique() if "run_id" in results else len(results)
    seeds = results["seed"].nunique() if "seed" in results else 1
    page.text(f"{n_runs} runs, {len(results)} result rows, {len(tasks)} tasks "
              f"({', '.join(tasks)}), {seeds} seed(s).")
    if "diverged" in results.columns:
        runs = results.drop_duplicates("run_id") if "run_id" in results else results
        n_div = int(runs["diverged"].fillna(False).astype(bool).sum())
        if n_div:
            page.text(f"Warning: {n_div} training run(s) diverged (non-finite loss); their "
                      f"scores are missing and left out of every fit.", kind="warning")
        else:
            page.text("No training run diverged.", kind="ok")
    undefined = int(results["value"].isna().sum()) if "value" in results else 0
    if undefined:
        page.text(f"Warning: {undefined} result rows have no score (a single-class test set or a "
                  f"diverged run).", kind="warning")
    if "seconds" in results.columns and "run_id" in results:
        seconds = results.drop_duplicates("run_id")["seconds"].sum()
        page.text(f"Training time summed over runs: {seconds:.1f} s.")
    train = (ctx.found.manifest or {}).get("train") or results.attrs.get("train_config")
    protocol = protocol_text(train, results)
    if protocol:
        page.text(protocol, kind="warning" if "hit the maximum" in protocol else None)
    group = [c for c in ("kind", "task") if c in results.columns]
    if group and "value" in results:
        rows = results[results["metric"] == metric] if "metric" in results else results
        summary = rows.groupby(group).agg(runs=("value", "size"), mean_score=("value", "mean"),
                                          missing_scores=("value", lambda v: int(v.isna().sum())))
        page.open_details(f"Runs and mean test {metric.upper()} by kind and task")
        page.table(summary, index=True)
        page.close_details()
    if ctx.transfer_kind == "empirical":
        return  # the measured gains are already the transfer section
    try:
        gains = transfer_table(results, metric=metric)
    except TransferError as err:
        page.text(f"No measured pair gains: {err}.", kind="note")
        return
    page.open_details("Measured pair gains (pair run minus single run, mean over seeds)")
    if len(set(gains["source"]) | set(gains["target"])) >= 2:
        ax = plot_transfer_matrix(gains, colorbar_kwargs={"label": f"gain in test {metric}"})
        page.figure(ax.figure, "sweep_gains", "Measured gain in the target's score with the "
                    "source vs alone (mean and 90% t-interval over seeds).")
    page.table(gains, max_rows=200)
    page.close_details()


def protocol_text(train: dict | None, results: pd.DataFrame) -> str:
    """One sentence on how the runs were trained (the protocol the curves were measured under)
    and how many optimizer steps they used; ``""`` when the settings are unknown.

    Example
    -------
    >>> protocol_text({"objective": "pooled", "batches": "uniform", "stopping": "fixed",
    ...                "steps": 300}, pd.DataFrame())
    'Training protocol: pooled loss over all labels, uniform batches, a fixed 300 steps per run.'
    """
    if not isinstance(train, dict) or "steps" not in train:
        return ""
    objective = {"balanced": "task-balanced loss (mean of per-task losses)",
                 "pooled": "pooled loss over all labels"}.get(train.get("objective"),
                                                              "pooled loss over all labels")
    batches = {"stratified": "stratified batches (an equal share per task)",
               "uniform": "uniform batches"}.get(train.get("batches"), "uniform batches")
    if train.get("stopping") == "early":
        budget = (f"early stopping on held-out {train.get('criterion', 'auroc').upper()} "
                  f"(1 in {train.get('holdout')} training labels held out; checked every "
                  f"{train.get('eval_every')} steps, patience {train.get('patience')}; at most "
                  f"{train['steps']} steps)")
    else:
        budget = f"a fixed {train['steps']} steps per run"
    text = f"Training protocol: {objective}, {batches}, {budget}."
    if "steps_used" in results.columns and "run_id" in results.columns:
        used = results.drop_duplicates("run_id")["steps_used"].dropna()
        if len(used):
            at_max = float((used >= train["steps"]).mean())
            text += (f" Steps used per run: median {used.median():.0f} (range {used.min():.0f}"
                     f"-{used.max():.0f}).")
            if train.get("stopping") == "early" and at_max > 0.1:
                text += (f" {at_max:.0%} of runs hit the maximum before stopping: raise "
                         f"train.steps so that the curves measure data, not the budget.")
    return text


def _appendix(page: Page, ctx: _Context) -> None:
    found = ctx.found
    page.section("appendix", "Appendix: inputs, configuration, versions")
    present = {"sweep": found.results is not None, "fit": found.fit is not None,
               "tag": found.tag is not None, "latent": found.latent_dir is not None,
               "config": found.config_text is not None, "manifest": found.manifest is not None}
    rows = [{"input": k, "found": "yes" if v else "no",
             "note": "" if v else found.missing.get(k, "")} for k, v in present.items()]
    page.raw("<h3>Inputs found</h3>")
    page.text(f"Run folder: {found.folder.resolve()}")
    page.table(pd.DataFrame(rows))
    for problem in found.problems:
        page.text(f"Warning: {problem}", kind="warning")
    if found.config_text is not None:
        page.raw("<h3>config.toml</h3>")
        page.pre(found.config_text)
    else:
        page.text(f"No experiment configuration: {found.missing.get('config')}.", kind="note")
    if found.manifest is not None:
        page.raw("<h3>Sweep manifest</h3>")
        page.pre(json.dumps({k: v for k, v in found.manifest.items() if k != "versions"},
                            indent=2, default=str))
        if "versions" in found.manifest:
            page.raw("<h3>Versions used by the sweep</h3>")
            page.table(pd.DataFrame(sorted(found.manifest["versions"].items()),
                                    columns=["package", "version"]))
    else:
        page.text(f"No sweep manifest: {found.missing.get('manifest')}.", kind="note")
    if found.fit is not None:
        page.raw(f"<h3>Curve-fit settings ({escape(found.fit_path.name)})</h3>")
        page.pre(json.dumps(found.fit.config.to_dict(), indent=2))
    page.raw("<h3>Versions used to write this report</h3>")
    page.table(pd.DataFrame(sorted(report_versions().items()), columns=["package", "version"]))


_BUILDERS = {"findings": _findings, "curves": _curves, "transfer": _transfer,
             "planning": _planning, "tag": _tag, "latent": _latent,
             "diagnostics": _diagnostics, "sweep": _sweep, "appendix": _appendix}


def _subtitle(found: RunInputs) -> str:
    parts = [f"run folder {found.folder.resolve().name}"]
    if found.fit is not None:
        cfg = found.fit.config
        parts.append(f"fit: {cfg.family} curves, {cfg.transfer} transfer, {cfg.method.upper()}, "
                     f"{len(found.fit.tasks)} tasks")
    elif found.results is not None:
        parts.append("no curve fit")
    parts.append(f"written {datetime.datetime.now().isoformat(timespec='minutes')}")
    return " \u00b7 ".join(parts)


def write_report(run_dir: str | Path, *, out_dir: str | Path | None = None,
                 title: str | None = None, top: int = 2) -> Path:
    """Write ``index.html``, ``figures/*.png`` and ``findings.txt`` describing ``run_dir``.

    Parameters
    ----------
    run_dir : path
        A run folder: a sweep (``results.parquet``, ``manifest.json``, ``config.toml``) and
        optionally ``fit.nc``, a TAG table and ``latent/`` (see :mod:`lcurve.report.inputs`).
        Absent inputs skip their section with a note saying so.
    out_dir : path, optional
        Where to write (default ``run_dir/report``).
    title : str, optional
    top : int
        How many credibly positive and negative transfers the findings state.

    Returns
    -------
    pathlib.Path
        The HTML file. A section that fails is replaced by its error message (and logged), so
        one broken input never loses the rest of the report.
    """
    import matplotlib.pyplot as plt

    run_dir = Path(run_dir)
    found = find_inputs(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    page = Page(out, title or f"lcurve report: {run_dir.resolve().name}")
    ctx = _Context(found, top=top)
    for key, label in SECTIONS:
        try:
            _BUILDERS[key](page, ctx)
        except Exception as err:  # noqa: BLE001 - one section must not sink the report
            logger.warning("report section %r failed: %s", key, err)
            page.text(f"Section '{label}' failed: {type(err).__name__}: {err}", kind="warning")
            page.pre(traceback.format_exc(limit=3))
            plt.close("all")
    path = out / "index.html"
    path.write_text(page.render(subtitle=_subtitle(found)), encoding="utf-8")
    (out / FINDINGS_FILE).write_text(findings_text(ctx.findings) + "\n", encoding="utf-8")
    return path
