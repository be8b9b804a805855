"""write_report / lcurve report: sections from whatever a run folder holds, links, a browser."""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from lcurve.curves import simulate_results  # noqa: E402
from lcurve.latent import transfer_factors  # noqa: E402
from lcurve.transfer import transfer_matrix  # noqa: E402
from lcurve.report import choose_target_score, write_report  # noqa: E402
from lcurve.report._cli import add_report_parser, run_report  # noqa: E402

_spec = importlib.util.spec_from_file_location(
    "lcurve_test_fake_fit_report", Path(__file__).parent / "plot" / "fake_fit.py")
fake = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fake)

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "",
                             shutil.which("chromium-browser") or "") if p and Path(p).exists()),
                None)


def _sweep_folder(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    table, _ = simulate_results(n_tasks=3, seed=0, sizes=(16, 64, 256), source_sizes=(64,))
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


def test_sweep_only_skips_the_rest_and_says_so(tmp_path):
    path = write_report(_sweep_folder(tmp_path / "run"))
    html = path.read_text()
    assert path == tmp_path / "run" / "report" / "index.html"
    assert _sections(html) == ["overview", "config", "sweep", "fit", "tag", "latent"]
    assert "failed" not in html
    for reason in ("no fit.nc", "no TAG table", "no latent/ outputs"):
        assert f"Skipped: {reason}" in html
    assert "9.9.9-test" in html and "report-test" in html        # versions and config
    assert "2 training run(s) diverged" in html                   # divergence warning
    images = _images(html)
    assert images == ["figures/sweep_curves.png", "figures/sweep_gains.png"]
    for src in images:
        assert (path.parent / src).is_file()


def test_everything_present(tmp_path):
    folder = _sweep_folder(tmp_path / "run")
    fake.fake_fit(folder / "fit.nc", divergences=3, bad_rhat=True)
    rng = np.random.default_rng(1)
    rows = [(s, t, rng.normal()) for s in fake.TASKS for t in fake.TASKS if s != t]
    pd.DataFrame(rows, columns=["source", "target", "affinity"]).to_csv(folder / "tag.csv",
                                                                          index=False)
    latent = folder / "latent"
    latent.mkdir()
    table = pd.DataFrame(rows, columns=["source", "target", "mean"])
    matrix = transfer_matrix(table)
    factors = transfer_factors(matrix)
    factors.scores.to_csv(latent / "factor_scores.csv")
    factors.loadings.to_csv(latent / "factor_loadings.csv")
    factors.explained.to_csv(latent / "factors_explained.csv", index=False)
    matrix.to_csv(latent / "transfer_matrix.csv")
    (latent / "summary.md").write_text("# latent summary marker\n")

    path = write_report(folder, out_dir=tmp_path / "out", title="everything")
    html = path.read_text()
    assert "failed" not in html and "Skipped" not in html
    assert "3 divergent transitions" in html and "R-hat" in html  # warnings are shown
    assert html.count("class='warning'") >= 3
    assert "latent summary marker" in html
    names = {Path(src).stem for src in _images(html)}
    assert names == {"sweep_curves", "sweep_gains", "fit_curves", "fit_transfer",
                     "fit_required_samples", "fit_trace", "fit_rank", "tag_vs_curves",
                     "latent_biplot"}
    for src in _images(html):
        assert (path.parent / src).is_file() and (path.parent / src).stat().st_size > 5000
    # nothing outside the report folder, no network
    assert not re.search(r"(src|href)=['\"](https?:|/)", html)


def test_empty_folder_and_unreadable_fit(tmp_path):
    (tmp_path / "fit.nc").write_text("not netcdf")
    html = write_report(tmp_path).read_text()
    assert "Skipped: no results.parquet" in html
    assert "not a readable lcurve fit" in html
    assert not _images(html)


def test_target_score_choice():
    assert choose_target_score([0.5, 0.6, 0.7, 0.9]) == pytest.approx(0.75)
    assert choose_target_score([0.99] * 4) == 0.95
    assert choose_target_score([]) == 0.8


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
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    image = np.asarray(Image.open(shot).convert("L"), dtype=float)
    assert image.shape == (1800, 1000)
    dark = (image < 128).mean()
    assert image.std() > 20 and 0.005 < dark < 0.5  # text and figures drawn, not a blank page
