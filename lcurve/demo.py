"""The demo pipeline, the main job on the embedded MoleculeACE data: sweep -> curve fit -> TAG ->
HTML report -> findings in the terminal.

:func:`run_demo` runs the pair sweep of :func:`demo_config` (4 targets, 2 seeds),
fits ``pow4`` learning curves with pairwise transfer by NUTS (:data:`DEMO_FIT`) and ``exp3``
ones beside them (:data:`DEMO_ALTERNATIVE`, stacked where sample sizes extrapolate),
measures TAG affinities on the same tasks, writes the report and prints its findings
(:func:`lcurve.report.run_findings`). Re-running into the same folder resumes the sweep
instead of retraining.

Layer: a pipeline above ``report`` (it drives every layer); only ``cli`` imports it.
"""

from __future__ import annotations

import logging
import math
import time
import warnings
from pathlib import Path

logger = logging.getLogger(__name__)

__all__ = ["run_demo", "demo_config", "DEMO_ALTERNATIVE", "DEMO_FIT", "DEMO_TAG", "DEMO_TASKS"]

#: The demo's MoleculeACE targets: dopamine D3 and D4 and serotonin 5-HT1A receptors (related
#: aminergic GPCRs) and thrombin (a protease), so related and unrelated pairs both appear.
DEMO_TASKS = ("CHEMBL234_Ki", "CHEMBL219_Ki", "CHEMBL214_Ki", "CHEMBL204_Ki")

#: Curve-fit settings of the demo: the library's defaults (NUTS, 4 chains from prior medians,
#: family ``pow4``, logit likelihood with the nested-design effects integrated out, curve
#: parameters' spread across tasks fixed: ``FitConfig.curve_pooling``), with
#: ``target_accept=0.95`` so that the diagnostics pass on this design with either seed
#: (``python experiments/curves/demo_fit.py lcurve_runs/demo/results.parquet --family pow4
#: --set target_accept=0.95 seed=1``; experiments/curves/RESULTS.md sections H and I). Until
#: 2026-12 the demo used SVI without the effects, whose intervals do not pass calibration.
DEMO_FIT = dict(family="pow4", transfer="pairwise", method="nuts", target_accept=0.95, seed=0)
#: The second curve family the demo fits (same settings) and saves as ``fit_exp3.nc``: the
#: report stacks it with ``pow4`` by LOO wherever a sample size lies beyond the sizes trained
#: (:func:`lcurve.curves.required_samples_stacked`). Families agree inside the data and
#: differ beyond it; on simulated tables the stack of the two covered 0.875-1.0 of held-out
#: runs at 4x the fitted sizes where either family alone covered down to 0.65
#: (experiments/curves/RESULTS.md P2).
DEMO_ALTERNATIVE = "exp3"
#: TAG settings of the demo (same network width and steps as the sweep).
DEMO_TAG = dict(hidden=(64,), steps=200, every=10, seeds=(0, 1), max_size=1024)


def demo_config():
    """The main job's configuration: 4 MoleculeACE targets, pair runs, 2 seeds."""
    from lcurve.config import DataConfig, DesignConfig, SweepConfig, TrainConfig

    return SweepConfig(
        name="demo",
        data=DataConfig(source="moleculeace", tasks=DEMO_TASKS),
        design=DesignConfig(kind="pairs", seeds=(0, 1), min_size=32, max_size=1024,
                            points_per_doubling=1, aux_sizes=(256, 1024)),
        train=TrainConfig(hidden=(64,), steps=200, batch_size=64, chunk_size=64),
    )


def run_demo(out_dir, *, progress: bool = True, top: int = 2, config=None,
             fit_options: dict | None = None, tag_options: dict | None = None,
             alternative: str | None = DEMO_ALTERNATIVE, lfo_fraction: float | None = 0.25
             ) -> Path:
    """Run sweep -> fit -> TAG -> report into ``out_dir``; print and return the report path.

    Parameters
    ----------
    out_dir : path
        Run folder (``results.parquet``, ``fit.nc``, ``tag.csv``, ``report/index.html``).
    progress : bool
        Show the sweep's progress bar.
    top : int
        How many credibly positive and credibly negative transfers the findings state.
    config, fit_options, tag_options
        Override the demo's :class:`~lcurve.config.SweepConfig` (default :func:`demo_config`),
        the keyword arguments of :func:`lcurve.curves.fit_curves` (default ``DEMO_FIT``) and
        of :class:`~lcurve.affinity.TagConfig` (default ``DEMO_TAG``): the same pipeline on
        other data or at toy size.
    alternative : str or None
        A second curve family fitted with the same settings (``fit_<family>.nc``), which the
        report stacks with the first where its sample sizes extrapolate; ``None``: none.
    lfo_fraction : float or None
        Refit the first family on each task's sizes up to this fraction of its largest and
        predict the largest (:func:`lcurve.curves.leave_future_out`, ``fit_lfo.csv``; the
        report says how far off it was); ``None``: skip.
    """
    import matplotlib

    matplotlib.use("Agg")
    import jax

    from lcurve.affinity import TagConfig, tag_affinity
    from lcurve.curves import fit_curves, leave_future_out
    from lcurve.curves.checks import lfo_path
    from lcurve.datasets import load_data
    from lcurve.design import design_from_config
    from lcurve.report import FINDINGS_FILE, write_report
    from lcurve.sweep import run_sweep

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    config = config or demo_config()
    fit_options = {**DEMO_FIT, **(fit_options or {})}
    tag_options = {**DEMO_TAG, **(tag_options or {})}
    start = time.perf_counter()
    data = load_data(config.data)
    design = design_from_config(data, config.design)
    print(f"data: {data}")
    print(f"1/4 sweep: {len(design)} runs ({config.design.kind}, seeds {list(config.design.seeds)})")
    config.to_toml(out / "config.toml")
    # On a CPU the sweep runs on one device: the extra CPU devices (``lcurve demo`` asks for
    # one per NUTS chain) share the same cores. Sharded over them it gives the same scores
    # (experiments/reliability/sweep_devices.py), so this only avoids the overhead
    devices = jax.local_devices()[:1] if jax.default_backend() == "cpu" else None
    results = run_sweep(data, design, config.train, out_dir=out, progress=progress,
                        devices=devices)
    print(f"    {results['run_id'].nunique()} runs in {time.perf_counter() - start:.0f} s")

    step = time.perf_counter()
    print(f"2/4 curve fit: {fit_options['family']}, {fit_options['transfer']} transfer, "
          f"{_inference_text(fit_options)}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # dropped undefined scores are reported
        fit = fit_curves(results, **fit_options)
    fit.save(out / "fit.nc")
    print(f"    done in {time.perf_counter() - step:.0f} s -> {out / 'fit.nc'}")
    if alternative and alternative != fit_options["family"]:
        step = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            other = fit_curves(results, **{**fit_options, "family": alternative})
        other.save(out / f"fit_{alternative}.nc")
        print(f"    and {alternative}, to stack with it where it extrapolates: done in "
              f"{time.perf_counter() - step:.0f} s -> {out / f'fit_{alternative}.nc'}")
    if lfo_fraction:
        step = time.perf_counter()
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                lfo = leave_future_out(results, fraction=lfo_fraction, **fit_options)
        except ValueError as err:  # e.g. too few sizes below the fraction: say so, go on
            print(f"    leave-future-out skipped: {err}")
        else:
            lfo.to_csv(lfo_path(out / "fit.nc"), index=False)
            found = lfo.attrs["summary"]
            left = (f" ({', '.join(found['left_out'])}: too few sizes to refit, left out)"
                    if found["left_out"] else "")
            spread = (f" (the refit's 90% range: {found['inside_low']:.0f}-"
                      f"{found['inside_high']:.0f})"
                      if math.isfinite(found.get("inside_low", math.nan)) else "")
            print(f"    and refitted on sizes <= {found['fitted_max']} to predict the "
                  f"{found['n_held']} runs at {'/'.join(map(str, found['sizes']))}{left}: mean "
                  f"error {found['bias']:+.3f}, {found['n_inside']}/{found['n_held']} inside "
                  f"their 90% intervals{spread}, in {time.perf_counter() - step:.0f} s -> "
                  f"{lfo_path(out / 'fit.nc')}")

    step = time.perf_counter()
    print(f"3/4 TAG: {tag_options['steps']} steps, lookahead every {tag_options['every']}, "
          f"seeds {list(tag_options['seeds'])}")
    tag = tag_affinity(data, TagConfig(**tag_options))
    tag.to_csv(out / "tag.csv", index=False)
    print(f"    done in {time.perf_counter() - step:.0f} s -> {out / 'tag.csv'}")

    step = time.perf_counter()
    print("4/4 report")
    path = write_report(out, top=top)
    print(f"    done in {time.perf_counter() - step:.0f} s; total {time.perf_counter() - start:.0f} s")
    print("\nFindings (90% intervals; figures and details in the report):")
    print((path.parent / FINDINGS_FILE).read_text().rstrip())
    print(f"\nreport: {path}")
    return path


def _inference_text(fit_options: dict) -> str:
    """How the demo's fit samples, in words (settings not given take FitConfig's defaults)."""
    from lcurve.curves import FitConfig

    known = {f for f in FitConfig.__dataclass_fields__}
    config = FitConfig(**{k: v for k, v in fit_options.items() if k in known})
    if config.method == "svi":
        return f"SVI ({config.svi_steps} steps, {config.num_samples} draws)"
    start = (f"started from {config.init_steps} SVI steps" if config.init_steps else
             {"median": "each started at the median of 15 prior draws",
              "uniform": "each started at a random point"}[config.resolved_init_strategy()])
    return (f"NUTS ({config.num_chains} chains, {config.num_warmup} warm-up + "
            f"{config.num_samples} draws each, {start})")
