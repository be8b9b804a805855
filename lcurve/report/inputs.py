"""What a run folder holds: sweep results, manifest, config, curve fit, TAG table, latent outputs.

Every input is optional; :func:`find_inputs` records what it found and, for what is absent,
why (so the report can say which sections were skipped).

Recognised files (``DIR`` is the run folder)::

    DIR/results.parquet or DIR/chunks/     sweep results (lcurve.run_sweep)
    DIR/manifest.json, DIR/config.toml     what was run, versions, configuration
    DIR/fit.nc (else the first DIR/*.nc)   curve fit (CurveFit.save / lcurve fit --out)
    DIR/tag.csv | tag_affinity.csv | tag.parquet   TAG affinities (source, target, affinity)
    DIR/latent/                            outputs of ``lcurve latent DIR``
"""

from __future__ import annotations

import dataclasses
import json
import logging
import warnings
from pathlib import Path

import pandas as pd

logger = logging.getLogger(__name__)

__all__ = ["RunInputs", "find_inputs", "TAG_FILES", "FIT_FILE"]

FIT_FILE = "fit.nc"
TAG_FILES = ("tag.csv", "tag_affinity.csv", "tag.parquet")


@dataclasses.dataclass
class RunInputs:
    """The inputs found in a run folder (``None`` when absent) and notes on what is missing."""

    folder: Path
    results: pd.DataFrame | None = None
    manifest: dict | None = None
    config_text: str | None = None
    fit: object | None = None
    fit_path: Path | None = None
    alternatives: list = dataclasses.field(default_factory=list)
    lfo: pd.DataFrame | None = None
    tag: pd.DataFrame | None = None
    tag_path: Path | None = None
    latent_dir: Path | None = None
    missing: dict[str, str] = dataclasses.field(default_factory=dict)
    problems: list[str] = dataclasses.field(default_factory=list)


def _read_table(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path)


def _alternatives(folder: Path, found: RunInputs) -> list:
    """The folder's other lcurve fits of the same tasks, structure and metric as the main fit,
    with another curve family (what the findings stack with it; ``fit_<family>.nc``)."""
    from lcurve.curves import load_fit

    fit, out = found.fit, []
    for path in sorted(folder.glob("*.nc")):
        if path == found.fit_path:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                other = load_fit(path)
        except (ValueError, OSError, KeyError) as err:
            found.problems.append(f"{path.name} is not a readable lcurve fit: {err}")
            continue
        same = (other.tasks == fit.tasks and other.config.transfer == fit.config.transfer
                and other.config.metric == fit.config.metric)
        if same and other.config.family != fit.config.family:
            out.append(other)
    return out


def _lfo(found: RunInputs) -> pd.DataFrame | None:
    """The main fit's leave-future-out table, if one of the same family and structure is
    beside it (:func:`lcurve.curves.leave_future_out`, written by ``lcurve demo`` and
    ``lcurve fit --leave-future-out``)."""
    from lcurve.curves.checks import lfo_mismatch, lfo_missing, lfo_path

    path = lfo_path(found.fit_path)
    if not path.is_file():
        return None
    try:
        table = pd.read_csv(path)
    except (ValueError, OSError) as err:
        found.problems.append(f"{path.name} is not a readable table: {err}")
        return None
    missing = lfo_missing(table)
    if missing:
        found.problems.append(f"{path.name} is not a leave-future-out table (no columns "
                              f"{', '.join(missing)})")
        return None
    other = lfo_mismatch(table, found.fit)
    if other:
        found.problems.append(f"{path.name} checks another model ({other[0]}, {other[1]}) "
                              f"than {found.fit_path.name}; left out")
        return None
    return table


def find_inputs(folder: str | Path) -> RunInputs:
    """Look for every recognised input in ``folder``; unreadable files become ``problems``."""
    from lcurve.sweep import read_results

    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"no run folder at {folder}")
    found = RunInputs(folder=folder)
    try:
        found.results = read_results(folder)
    except FileNotFoundError:
        found.missing["sweep"] = "no results.parquet or chunks/ (not a sweep folder)"
    manifest = folder / "manifest.json"
    if manifest.is_file():
        try:
            found.manifest = json.loads(manifest.read_text())
        except json.JSONDecodeError as err:
            found.problems.append(f"{manifest.name} is not valid JSON: {err}")
    else:
        found.missing["manifest"] = "no manifest.json"
    config = folder / "config.toml"
    if config.is_file():
        found.config_text = config.read_text()
    else:
        found.missing["config"] = "no config.toml (sweeps run from the CLI write one)"
    candidates = [folder / FIT_FILE] if (folder / FIT_FILE).is_file() else sorted(folder.glob("*.nc"))
    if candidates:
        from lcurve.curves import load_fit

        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                found.fit = load_fit(candidates[0])
            found.fit_path = candidates[0]
        except (ValueError, OSError, KeyError) as err:
            found.problems.append(f"{candidates[0].name} is not a readable lcurve fit: {err}")
        else:
            found.alternatives = _alternatives(folder, found)
            found.lfo = _lfo(found)
    else:
        found.missing["fit"] = f"no {FIT_FILE} (run `lcurve fit {folder}/results.parquet " \
                               f"--out {folder}/{FIT_FILE}`)"
    for name in TAG_FILES:
        path = folder / name
        if path.is_file():
            table = _read_table(path)
            if {"source", "target", "affinity"} <= set(table.columns):
                found.tag, found.tag_path = table, path
            else:
                found.problems.append(f"{name} lacks source, target, affinity columns")
            break
    else:
        found.missing["tag"] = f"no TAG table ({' / '.join(TAG_FILES)})"
    latent = folder / "latent"
    if (latent / "factor_scores.csv").is_file():
        found.latent_dir = latent
    else:
        found.missing["latent"] = f"no latent/ outputs (run `lcurve latent {folder}`)"
    return found
