"""write_report / lcurve report: findings first, every part degrades with a note, appendix last."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lcurve.curves import simulate_results  # noqa: E402
from lcurve.latent import transfer_factors  # noqa: E402
from lcurve.report import (FINDINGS_FILE, SECTIONS, find_inputs, findings_text,  # noqa: E402
                           run_findings, write_report)
from lcurve.report._cli import add_report_parser, run_report  # noqa: E402
from lcurve.transfer import transfer_matrix, transfer_table  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "lcurve_test_fake_fit_report", Path(__file__).parent / "plot" / "fake_fit.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and Path(p).exists()),
                None)
ANCHORS = [anchor for anchor, _ in SECTIONS]


def _sweep_folder(folder: Path, *, seeds=(0, 1)) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table, _ = simulate_results(n_tasks=3, seed=0, sizes=(16, 64, 256), source_sizes=(64,),
                                seeds=seeds)
    table["diverged"] = False
    table.loc[table.index[:2], ["diverged", "value"]] = [True, np.nan]
    table["seconds"] = 0.01
    table.to_parquet(folder / "results.parquet")
    (folder / "manifest.json").write_text(json.dumps(
        {"n_runs": int(table["run_id"].nunique()), "versions": {"lcurve": "9.9.9-test"}}))
    (folder / "config.toml").write_text('name = "report-test"\n')
    return folder


def _images(html: str) -> list[str]:
    return re.findall(r"<img src='([^']+)'", html)


def _sections(html: str) -> list[str]:
    return re.findall(r"<h2 id='([^']+)'>", html)


def _section(html: str, anchor: str) -> str:
    start = html.index(f"<h2 id='{anchor}'>")
    nxt = html.find("<h2 id=", start + 1)
    return unescape(html[start:nxt if nxt > 0 else len(html)])


def test_sweep_only_answers_from_measured_gains_and_says_what_is_missing(tmp_path):
    folder = _sweep_folder(tmp_path / "run")
    path = write_report(folder)
    html = path.read_text()
    assert path == folder / "report" / "index.html"
    assert _sections(html) == ANCHORS and ANCHORS[0] == "findings"
    assert "failed" not in html
    findings = _section(html, "findings")
    # the strongest credibly positive measured gain (else the largest) is stated with the
    # table's own numbers
    gains = transfer_table(pd.read_parquet(folder / "results.parquet"))
    credible = gains[gains["hdi_low"] > 0]
    best = (credible if len(credible) else gains).iloc[0]
    assert (f"Training {best.target} together with {best.source} changes its test AUROC by "
            f"{best['mean']:+.3f}") in findings
    assert "No sample-size planning without a curve fit" in findings
    assert "No TAG comparison" in findings
    assert "2 training run(s) diverged" in findings               # trust line
    for anchor in ("planning", "diagnostics", "latent"):
        assert "Skipped:" in _section(html, anchor)
    appendix = _section(html, "appendix")
    assert "9.9.9-test" in appendix and "report-test" in appendix  # versions, config: at the end
    assert "9.9.9-test" not in html[:html.index("<h2 id='appendix'>")]
    assert _images(html) == ["figures/curves.png", "figures/transfer.png"]
    for src in _images(html):
        assert (path.parent / src).is_file()
    # findings.txt is the same findings, for the terminal
    text = (path.parent / FINDINGS_FILE).read_text()
    assert text.rstrip() == findings_text(run_findings(find_inputs(folder)))


def _everything(folder: Path, **fit_options) -> Path:
    _sweep_folder(folder)
    fake.fake_fit(folder / "fit.nc", **fit_options)
    rng = np.random.default_rng(1)
    rows = [(s, t, rng.normal()) for s in fake.TASKS for t in fake.TASKS if s != t]
    pd.DataFrame(rows, columns=["source", "target", "affinity"]).to_csv(folder / "tag.csv",
                                                                          index=False)
    latent = folder / "latent"
    latent.mkdir()
    matrix = transfer_matrix(pd.DataFrame(rows, columns=["source", "target", "mean"]))
    factors = transfer_factors(matrix)
    factors.scores.to_csv(latent / "factor_scores.csv")
    factors.loadings.to_csv(latent / "factor_loadings.csv")
    factors.explained.to_csv(latent / "factors_explained.csv", index=False)
    matrix.to_csv(latent / "transfer_matrix.csv")
    (latent / "summary.md").write_text("# latent summary marker\n")
    return folder


def test_everything_present_findings_figures_and_collapsed_diagnostics(tmp_path):
    folder = _everything(tmp_path / "run", divergences=3, bad_rhat=True)
    path = write_report(folder, out_dir=tmp_path / "out", title="everything")
    html = path.read_text()
    assert _sections(html) == ANCHORS
    assert "failed" not in html and "Skipped" not in html
    findings = _section(html, "findings")
    # planted transfer, in words, with the fit's numbers
    rates = fake.load_fit(folder / "fit.nc").transfer_matrix().set_index(["source", "target"])
    beta_alpha = rates.loc[("beta", "alpha")]
    assert (f"One sample of beta is worth {beta_alpha['mean']:.2f} samples of alpha (90% "
            f"interval {beta_alpha['hdi_low']:.2f} to {beta_alpha['hdi_high']:.2f}") in findings
    assert "costs delta" in findings                                   # gamma -> delta < 0
    assert "Train together: alpha + beta" in findings                  # the planted group
    assert findings.count("To reach an expected AUROC") == 4           # one per task
    assert "TAG and the learning curves" in findings
    assert "Sampler diagnostics FAILED" in findings and "3 divergent" in findings
    assert "latent summary marker" in html
    names = {Path(src).stem for src in _images(html)}
    assert names == {"curves", "transfer", "planning", "tag_vs_curves", "latent_biplot",
                     "diagnostics", "fit_trace", "fit_rank", "sweep_gains"}
    for src in _images(html):
        assert (path.parent / src).is_file() and (path.parent / src).stat().st_size > 5000
    # the full ArviZ plots are collapsed; the one-figure summary is not
    diagnostics = html[html.index("<h2 id='diagnostics'>"):html.index("<h2 id='sweep'>")]
    details = diagnostics[diagnostics.index("<details>"):diagnostics.index("</details>")]
    assert "fit_trace.png" in details and "fit_rank.png" in details
    assert "figures/diagnostics.png" not in details
    # nothing outside the report folder, no network
    assert not re.search(r"(src|href)=['\"](https?:|/)", html)


def test_contextual_fit_and_one_seed_degrade_with_notes(tmp_path):
    folder = _sweep_folder(tmp_path / "run", seeds=(0,))
    fake.fake_fit(folder / "fit.nc", transfer="contextual", n_chains=1)
    html = write_report(folder).read_text()
    findings = _section(html, "findings")
    assert "One sample of the other tasks' data is worth" in findings
    assert "SVI" in findings and "NUTS" in findings                    # trust: approximate
    # contextual fit: groups and TAG fall back to the measured pair gains, and say so
    assert "measured gains of pair runs (the fit's transfer is 'contextual')" in findings
    assert "No TAG comparison" in findings
    assert "contextual" in _section(html, "transfer").lower()
    assert "failed" not in html


def test_one_seed_sweep_without_fit_says_there_is_no_interval(tmp_path):
    folder = _sweep_folder(tmp_path / "run", seeds=(0,))
    findings = run_findings(find_inputs(folder))
    transfer = [f.text for f in findings if f.topic == "Transfer"]
    assert any("one seed (1), no interval" in text for text in transfer)
    trust = [f for f in findings if f.topic == "Trust"]
    assert any("One seed per run" in f.text and f.level == "warning" for f in trust)
    assert [f.topic for f in findings] == sorted(
        (f.topic for f in findings), key=["Transfer", "Task groups", "Samples needed",
                                          "TAG vs curves", "Trust"].index)


def test_empty_folder_and_unreadable_fit(tmp_path):
    (tmp_path / "fit.nc").write_text("not netcdf")
    html = unescape(write_report(tmp_path).read_text())
    assert _sections(html) == ANCHORS
    assert "Skipped: no results.parquet" in html
    assert "not a readable lcurve fit" in html
    assert "No transfer to report" in html
    assert not _images(html)


def test_cli(tmp_path, capsys):
    folder = _sweep_folder(tmp_path / "run")
    parser = argparse.ArgumentParser()
    add_report_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["report", str(folder), "--out", str(tmp_path / "html")])
    assert args.func is run_report
    assert run_report(args) == 0
    assert f"report: {tmp_path / 'html' / 'index.html'}" in capsys.readouterr().out
    args = parser.parse_args(["report", str(tmp_path / "missing")])
    assert run_report(args) == 2


@pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium installed (Debian: "
                                             "apt-get install chromium); browser check skipped")
def test_report_renders_in_headless_chromium(tmp_path):
    from PIL import Image

    path = write_report(_sweep_folder(tmp_path / "run"))
    shot = tmp_path / "shot.png"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=1000,1800",
           f"--screenshot={shot}", path.resolve().as_uri()]
    subprocess.run(cmd, check=True, capture_output=True, timeout=600)
    image = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert image.shape == (1800, 1000)
    dark = (image < 128).mean()
    assert image.std() > 20 and 0.005 < dark < 0.5  # text and figures drawn, not a blank page


def test_protocol_line_says_how_runs_were_trained_and_flags_a_saturated_budget():
    from lcurve.report.build import protocol_text

    train = {"objective": "balanced", "batches": "stratified", "stopping": "early",
             "criterion": "auroc", "holdout": 5, "eval_every": 25, "patience": 4, "steps": 1000}
    runs = pd.DataFrame({"run_id": [0, 0, 1, 2], "steps_used": [200, 200, 1000, 400]})
    text = protocol_text(train, runs)
    assert "task-balanced" in text and "early stopping on held-out AUROC" in text
    assert "median 400 (range 200-1000)" in text  # per run, not per result row
    assert "hit the maximum" in text  # 1 of 3 runs used the whole budget
    calm = protocol_text(train, runs.assign(steps_used=[200, 200, 300, 400]))
    assert "hit the maximum" not in calm
    assert protocol_text(None, runs) == ""


def test_other_families_fitted_in_the_folder_are_stacked_with_the_fit(tmp_path):
    from lcurve.curves import fit_curves

    folder = _sweep_folder(tmp_path / "run")
    table = pd.read_parquet(folder / "results.parquet")
    options = dict(method="svi", svi_steps=300, num_samples=200)
    fit_curves(table, family="exp3", **options).save(folder / "fit.nc")
    fit_curves(table, family="pow4", **options).save(folder / "fit_pow4.nc")
    fit_curves(table, family="pow4", transfer="none", **options).save(folder / "fit_none.nc")
    (folder / "junk.nc").write_text("not netcdf")
    found = find_inputs(folder)
    assert found.fit.config.family == "exp3"
    # the same tasks, structure and metric in another family; not the 'none' fit
    assert [fit.config.family for fit in found.alternatives] == ["pow4"]
    assert any("junk.nc is not a readable lcurve fit" in p for p in found.problems)
    findings = run_findings(found, target_score=0.9)
    samples = [f.text for f in findings if f.topic == "Samples needed"]
    assert len(samples) == 3 and not any("failed" in f.text for f in findings)
    beyond = [text for text in samples if "extrapolation" in text]
    assert beyond and all("stacking it with pow4 by LOO over the sizes trained" in text
                          for text in beyond)


def test_the_fits_leave_future_out_table_qualifies_the_sample_sizes(tmp_path):
    from lcurve.curves import fit_curves, leave_future_out
    from lcurve.curves.checks import lfo_path

    folder = _sweep_folder(tmp_path / "run")
    table = pd.read_parquet(folder / "results.parquet")
    options = dict(family="exp3", method="svi", svi_steps=300, num_samples=200)
    fit_curves(table, **options).save(folder / "fit.nc")
    lfo = leave_future_out(table, fraction=0.5, **options)
    lfo.to_csv(lfo_path(folder / "fit.nc"), index=False)
    found = find_inputs(folder)
    assert found.lfo is not None and len(found.lfo) == len(lfo) and not found.problems
    samples = [f for f in run_findings(found) if f.topic == "Samples needed"]
    (check,) = [f for f in samples if f.text.startswith("Leave-future-out on these runs")]
    assert f"{len(lfo)} single-task runs" in check.text
    assert check.level == "warning"  # an SVI refit is provisional, whatever its error
    lfo.assign(family="pow4").to_csv(lfo_path(folder / "fit.nc"), index=False)
    other = find_inputs(folder)
    assert other.lfo is None
    assert any("checks another model (pow4, pairwise)" in p for p in other.problems)
    # a table without what the summary reads is a problem, not a crash of the findings
    lfo.drop(columns="low").to_csv(lfo_path(folder / "fit.nc"), index=False)
    partial = find_inputs(folder)
    assert partial.lfo is None
    assert any("is not a leave-future-out table (no columns low)" in p
               for p in partial.problems)
    assert run_findings(partial)  # the rest of the findings still come
