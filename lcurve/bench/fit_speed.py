"""Bayesian curve-fit speed: NUTS vs SVI on joint multi-task fits, and per-task point fits.

Tables are simulated (:func:`lcurve.curves.simulate_results`, pairs design, known pairwise
transfer), so the benchmark needs no sweep. For each number of tasks it times a ``joint``
fit with NUTS and with SVI (wall time including compilation, which a user pays), reads the
worst R-hat and the smallest bulk ESS over all sampled sites, and times per-task
``scipy.optimize.curve_fit`` of the same family on the single-task runs, for reference: a
point estimate with no transfer and no uncertainty.
"""

from __future__ import annotations

import time
import warnings

import numpy as np

__all__ = ["measure_fit_speed", "point_fits"]


def _exp3(x, a, b, c):
    return c - np.exp(b - a * x)


def point_fits(table, *, metric: str = "auroc") -> dict:
    """``scipy.optimize.curve_fit`` of ``exp3`` per task on its single-task rows.

    ``x`` is the task's size over the table's largest size (as in the Bayesian model).
    Returns ``{"seconds", "n_tasks", "n_failed", "params": {task: [a, b, c]}}``.
    """
    from scipy.optimize import curve_fit

    cols = [c for c in table.columns if c.startswith("n_") and c not in ("n_test", "n_test_pos")]
    n_ref = float(table[cols].to_numpy().max())
    start = time.perf_counter()
    params, failed = {}, 0
    rows = table[table["metric"] == metric]
    for task, block in rows.groupby("task"):
        others = [c for c in cols if c != f"n_{task}"]
        single = block[(block[others] == 0).all(axis=1)]
        x = single[f"n_{task}"].to_numpy(float) / n_ref
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                p, _ = curve_fit(_exp3, x, single["value"].to_numpy(float), p0=(3.0, 0.0, 0.9),
                                 maxfev=5000)
            params[task] = p.tolist()
        except RuntimeError:
            failed += 1
    return {"seconds": time.perf_counter() - start, "n_tasks": int(rows["task"].nunique()),
            "n_failed": failed, "params": params}


def measure_fit_speed(*, n_tasks=(10, 30), num_warmup: int = 500, num_samples: int = 500,
                      num_chains: int = 4, svi_steps: int = 3000, family: str = "exp3",
                      transfer: str = "joint", seed: int = 0) -> list[dict]:
    """Time NUTS, SVI and per-task point fits on simulated tables of ``n_tasks`` tasks.

    Returns one dict per (n_tasks, method): ``n_tasks, n_obs, method, seconds, max_rhat,
    min_ess_bulk, ess_per_s, n_divergent, draws`` (R-hat is NaN for SVI: one set of
    independent guide draws).
    """
    from lcurve.curves import fit_curves, simulate_results

    rows = []
    for k in n_tasks:
        table, _ = simulate_results(n_tasks=k, family=family, structure="pairwise",
                                    sizes=(16, 32, 64, 128, 256), source_sizes=(256,),
                                    seeds=(0,), seed=seed)
        n_obs = int((table["metric"] == "auroc").sum())
        for method, opts in (("nuts", dict(num_warmup=num_warmup, num_samples=num_samples,
                                           num_chains=num_chains)),
                             ("svi", dict(svi_steps=svi_steps, num_samples=num_samples))):
            start = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fit = fit_curves(table, family=family, transfer=transfer, method=method,
                                 seed=seed, **opts)
                seconds = time.perf_counter() - start
                diag = fit.diagnostics()
            rows.append({"n_tasks": k, "n_obs": n_obs, "method": method, "seconds": seconds,
                         "max_rhat": diag.max_rhat, "min_ess_bulk": diag.min_ess_bulk,
                         "ess_per_s": diag.min_ess_bulk / seconds,
                         "n_divergent": diag.n_divergent,
                         "draws": diag.n_chains * diag.n_draws, **opts})
        point = point_fits(table)
        rows.append({"n_tasks": k, "n_obs": n_obs, "method": "curve_fit (per task, point)",
                     "seconds": point["seconds"], "max_rhat": float("nan"),
                     "min_ess_bulk": float("nan"), "ess_per_s": float("nan"),
                     "n_divergent": 0, "draws": 0, "n_failed": point["n_failed"]})
    return rows
