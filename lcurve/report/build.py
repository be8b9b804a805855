"""``write_report(run_dir)``: one self-contained HTML page from whatever a run folder holds.

Sections (each skipped, with the reason stated in the report, when its input is absent):
run overview, configuration and versions, sweep (observed curves, measured pair gains),
curve fit (diagnostics with warnings, posterior curves, transfer, sample-size planning, trace
and rank plots), TAG (table and comparison with the learning-curve transfer), latent factors.

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

from lcurve.report.html import Page, escape
from lcurve.report.inputs import RunInputs, find_inputs

logger = logging.getLogger(__name__)

__all__ = ["write_report", "report_versions", "choose_target_score"]

_SECTIONS = (("config", "Configuration and versions"), ("sweep", "Sweep"),
             ("fit", "Learning-curve fit"), ("tag", "TAG affinities"),
             ("latent", "Latent transfer factors"))


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


def choose_target_score(values) -> float:
    """A target score for sample-size planning: the 75th percentile of the observed scores,
    rounded to 0.05 and kept in [0.6, 0.95]."""
    values = np.asarray(values, float)
    values = values[np.isfinite(values)]
    if not values.size:
        return 0.8
    return float(np.clip(np.round(np.quantile(values, 0.75) / 0.05) * 0.05, 0.6, 0.95))


# ------------------------------------------------------------------------------ sections
def _overview(page: Page, found: RunInputs) -> None:
    page.section("overview", "Run")
    page.text(f"Run folder: {found.folder.resolve()}")
    page.text(f"Report written {datetime.datetime.now().isoformat(timespec='seconds')}.")
    present = {"sweep": found.results is not None, "fit": found.fit is not None,
               "tag": found.tag is not None, "latent": found.latent_dir is not None,
               "config": found.config_text is not None, "manifest": found.manifest is not None}
    rows = [{"input": k, "found": "yes" if v else "no",
             "note": "" if v else found.missing.get(k, "")} for k, v in present.items()]
    page.table(pd.DataFrame(rows))
    for problem in found.problems:
        page.text(f"Warning: {problem}", kind="warning")


def _config(page: Page, found: RunInputs) -> None:
    page.section("config", "Configuration and versions")
    if found.config_text is not None:
        page.raw("<h3>config.toml</h3>")
        page.pre(found.config_text)
    else:
        page.text(f"Skipped the experiment configuration: {found.missing.get('config')}.",
                  kind="note")
    if found.manifest is not None:
        manifest = found.manifest
        page.raw("<h3>Sweep manifest</h3>")
        shown = {k: v for k, v in manifest.items() if k not in ("versions",)}
        page.pre(json.dumps(shown, indent=2, default=str))
        if "versions" in manifest:
            page.raw("<h3>Versions used by the sweep</h3>")
            page.table(pd.DataFrame(sorted(manifest["versions"].items()),
                                    columns=["package", "version"]))
    else:
        page.text(f"Skipped the sweep manifest: {found.missing.get('manifest')}.", kind="note")
    if found.fit is not None:
        page.raw("<h3>Curve-fit settings</h3>")
        page.pre(json.dumps(found.fit.config.to_dict(), indent=2))
    page.raw("<h3>Versions used to write this report</h3>")
    page.table(pd.DataFrame(sorted(report_versions().items()), columns=["package", "version"]))


def _sweep(page: Page, found: RunInputs) -> None:
    from lcurve.design import size_columns
    from lcurve.transfer import TransferError, transfer_table
    from lcurve.plot import plot_curves, plot_transfer_matrix

    page.section("sweep", "Sweep")
    results = found.results
    if results is None:
        page.text(f"Skipped: {found.missing.get('sweep')}.", kind="note")
        return
    metric = "auroc" if "metric" not in results or "auroc" in set(results["metric"]) \
        else str(results["metric"].iloc[0])
    tasks = [c[2:] for c in size_columns(results) if c not in ("n_test", "n_test_pos")]
    n_runs = results["run_id"].nunique() if "run_id" in results else len(results)
    page.text(f"{n_runs} runs, {len(results)} result rows, {len(tasks)} tasks: {', '.join(tasks)}.")
    group = [c for c in ("kind", "task") if c in results.columns]
    if group and "value" in results:
        rows = results[results.get("metric", metric) == metric] if "metric" in results else results
        summary = rows.groupby(group).agg(runs=("value", "size"), mean_score=("value", "mean"),
                                          missing_scores=("value", lambda v: int(v.isna().sum())))
        page.raw(f"<h3>Runs and mean test {escape(metric.upper())} by kind and task</h3>")
        page.table(summary, index=True)
    if "diverged" in results.columns:
        n_div = int(results.drop_duplicates("run_id")["diverged"].fillna(False).astype(bool).sum()) \
            if "run_id" in results else int(results["diverged"].sum())
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
    page.figure(plot_curves(results, metric=metric), "sweep_curves",
                f"Observed test {metric.upper()} vs training size (log scale); circles: task "
                f"trained alone, triangles: with other tasks.")
    try:
        gains = transfer_table(results, metric=metric)
    except TransferError as err:
        page.text(f"No measured pair gains: {err}.", kind="note")
        return
    page.raw("<h3>Measured transfer: gain in target score with a partner vs alone</h3>")
    page.text("Mean over seeds of (pair run - single-task run at the same target size); "
              "strongest first.")
    page.table(gains)
    if len(set(gains["source"]) | set(gains["target"])) >= 2:
        ax = plot_transfer_matrix(gains, colorbar_kwargs={"label": f"gain in test {metric}"})
        ax.set_title("measured gain source \u2192 target (+/\u2212: 90% interval excludes 0)",
                     fontsize=10)
        page.figure(ax.figure, "sweep_gains", "Measured pair gains (rows: source, columns: "
                    "target), tasks ordered by clustering.")


def _fit(page: Page, found: RunInputs) -> None:
    from lcurve.curves import CurveFitWarning
    from lcurve.plot import (plot_contextual, plot_curves, plot_rank, plot_required_samples,
                             plot_trace, plot_transfer_matrix)

    page.section("fit", "Learning-curve fit")
    fit = found.fit
    if fit is None:
        page.text(f"Skipped: {found.missing.get('fit', 'the fit file could not be read')}.",
                  kind="note")
        return
    cfg = fit.config
    page.text(f"{found.fit_path.name}: family {cfg.family}, transfer {cfg.transfer}, "
              f"method {cfg.method}, metric {cfg.metric}, {len(fit.tasks)} tasks.")
    page.raw("<h3>Diagnostics</h3>")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", CurveFitWarning)
        diag = fit.diagnostics()
    page.text(f"{diag.n_chains} chain(s) x {diag.n_draws} draws; max R-hat {diag.max_rhat:.3f}; "
              f"min bulk ESS {diag.min_ess_bulk:.0f}, min tail ESS {diag.min_ess_tail:.0f}; "
              f"{diag.n_divergent} divergent transitions.")
    if cfg.method == "svi":
        page.text("SVI: draws come from an approximate posterior (one 'chain'); R-hat does not "
                  "apply and intervals may be too narrow. Refit with NUTS to confirm.",
                  kind="warning")
    for message in diag.messages:
        page.text(f"Warning: {message}", kind="warning")
    if not diag.messages:
        page.text("No R-hat, ESS or divergence warnings.", kind="ok")
    page.table(diag.table)
    del caught
    page.figure(plot_curves(fit), "fit_curves",
                "Posterior learning curves: mean with 50% and 90% bands, alone (blue) and with "
                "the other tasks at their largest size (red); dashed beyond the data.")
    if cfg.transfer != "none":
        rates = fit.transfer_matrix()
        page.raw("<h3>Transfer rates (strongest first)</h3>")
        page.table(rates.sort_values("mean", key=abs, ascending=False), max_rows=15)
        if cfg.transfer == "contextual":
            ax = plot_contextual(fit)
            page.figure(ax.figure, "fit_contextual", "Contextual transfer per task (90% HDI).")
        else:
            ax = plot_transfer_matrix(fit)
            page.figure(ax.figure, "fit_transfer", "Posterior mean transfer tau; + / \u2212 "
                        "where the 90% HDI excludes zero; tasks ordered by clustering.")
    target = choose_target_score(fit.idata.observed_data["score"].values)
    page.raw("<h3>Sample-size planning</h3>")
    ax = plot_required_samples(fit, target_score=target)
    page.figure(ax.figure, "fit_required_samples",
                f"Samples needed to reach an expected score of {target:g} (median and 90% "
                f"interval), alone vs with the other tasks' data.")
    page.raw("<h3>Sampler diagnostics</h3>")
    axes = plot_trace(fit)
    page.figure(np.ravel(axes)[0].figure, "fit_trace", "Trace plot (ArviZ).", dpi=70)
    if diag.n_chains > 1:
        axes = plot_rank(fit)
        page.figure(np.ravel(axes)[0].figure, "fit_rank", "Rank plot (ArviZ): uniform bars "
                    "mean the chains agree.", dpi=70)
    else:
        page.text("Rank plot skipped: it compares chains and this posterior has one.",
                  kind="note")


def _tag(page: Page, found: RunInputs) -> None:
    from lcurve.transfer import TransferError, transfer_table
    from lcurve.plot import plot_affinity_comparison

    page.section("tag", "TAG affinities")
    if found.tag is None:
        page.text(f"Skipped: {found.missing.get('tag', 'the TAG table could not be read')}.",
                  kind="note")
        return
    page.text(f"{found.tag_path.name}: gradient-based inter-task affinity Z(source \u2192 "
              f"target), highest first.")
    page.table(found.tag.sort_values("affinity", ascending=False), max_rows=15)
    if found.fit is not None and found.fit.config.transfer in ("pairwise", "joint"):
        transfer, what = found.fit, "posterior transfer tau (90% HDI)"
    elif found.results is not None:
        try:
            transfer, what = transfer_table(found.results), "measured pair gain (90% t-interval over seeds)"
        except TransferError as err:
            page.text(f"No learning-curve transfer to compare with: {err}.", kind="note")
            return
    else:
        page.text("No learning-curve transfer to compare with (no pairwise fit, no sweep).",
                  kind="note")
        return
    try:
        ax = plot_affinity_comparison(found.tag, transfer)
    except ValueError as err:
        page.text(f"Comparison skipped: {err}.", kind="note")
        return
    page.figure(ax.figure, "tag_vs_curves", f"TAG affinity vs {what}, one point per ordered pair.")


def _latent(page: Page, found: RunInputs) -> None:
    from lcurve.latent import TransferFactors, plot_biplot

    page.section("latent", "Latent transfer factors")
    folder = found.latent_dir
    if folder is None:
        page.text(f"Skipped: {found.missing.get('latent')}.", kind="note")
        return
    scores = pd.read_csv(folder / "factor_scores.csv", index_col=0)
    loadings = pd.read_csv(folder / "factor_loadings.csv", index_col=0)
    explained_path = folder / "factors_explained.csv"
    explained = pd.read_csv(explained_path) if explained_path.is_file() else None
    if explained is not None:
        page.raw("<h3>Explained variance</h3>")
        page.table(explained)
    matrix_path = folder / "transfer_matrix.csv"
    prepared = pd.read_csv(matrix_path, index_col=0) if matrix_path.is_file() else pd.DataFrame()
    if explained is not None and scores.shape[1] >= 2:
        factors = TransferFactors(explained=explained, scores=scores, loadings=loadings,
                                  prepared=prepared, center="see summary", scale="see summary")
        ax = plot_biplot(factors)
        page.figure(ax.figure, "latent_biplot", "Biplot of the latent transfer factors "
                    "(sources: points, targets: arrows).")
    summary = folder / "summary.md"
    if summary.is_file():
        page.raw("<h3>summary.md</h3>")
        page.pre(summary.read_text())


_BUILDERS = {"config": _config, "sweep": _sweep, "fit": _fit, "tag": _tag, "latent": _latent}


def write_report(run_dir: str | Path, *, out_dir: str | Path | None = None,
                 title: str | None = None) -> Path:
    """Write ``index.html`` (and ``figures/*.png``) describing everything in ``run_dir``.

    Parameters
    ----------
    run_dir : path
        A run folder: a sweep (``results.parquet``, ``manifest.json``, ``config.toml``) and
        optionally ``fit.nc``, a TAG table and ``latent/`` (see :mod:`lcurve.report.inputs`).
        Absent inputs skip their section with a note saying so.
    out_dir : path, optional
        Where to write (default ``run_dir/report``).
    title : str, optional

    Returns
    -------
    pathlib.Path
        The HTML file. A section that fails is replaced by its error message (and logged), so
        one broken input never loses the rest of the report.
    """
    run_dir = Path(run_dir)
    found = find_inputs(run_dir)
    out = Path(out_dir) if out_dir is not None else run_dir / "report"
    out.mkdir(parents=True, exist_ok=True)
    page = Page(out, title or f"lcurve report: {run_dir.resolve().name}")
    _overview(page, found)
    for key, label in _SECTIONS:
        try:
            _BUILDERS[key](page, found)
        except Exception as err:  # noqa: BLE001 - one section must not sink the report
            logger.warning("report section %r failed: %s", key, err)
            page.text(f"Section '{label}' failed: {type(err).__name__}: {err}", kind="warning")
            page.pre(traceback.format_exc(limit=3))
    path = out / "index.html"
    path.write_text(page.render(), encoding="utf-8")
    return path
