"""A posterior in the exact layout of ``CurveFit.save``, written without sampling.

Building a real fit costs ~20 s of compilation on 2 CPU cores; these draws (around known
``exp3`` curves and a planted transfer matrix) are written to netCDF and read back with the
real :func:`lcurve.curves.load_fit`, so every plot and report test runs the real ``CurveFit``
methods (``transfer_matrix``, ``required_samples``, ``diagnostics``) in well under a second.
"""

from __future__ import annotations

import json
from pathlib import Path

import arviz as az
import numpy as np

from lcurve.curves import FitConfig, load_fit

TASKS = ("alpha", "beta", "gamma", "delta")
#: Planted transfer (target, source): alpha <-> beta help each other, gamma hurts delta.
TRANSFER = np.array([[0.0, 0.6, 0.0, 0.0],
                     [0.5, 0.0, 0.0, 0.0],
                     [0.0, 0.0, 0.0, 0.02],
                     [0.0, 0.0, -0.4, 0.0]])
SIZES = (16, 32, 64, 128, 256)
N_REF = 512.0


def fake_fit(path: Path, *, transfer: str = "pairwise", n_chains: int = 2, n_draws: int = 60,
             divergences: int = 0, bad_rhat: bool = False, seed: int = 0,
             stuck_chains: tuple[int, ...] = (), method: str | None = None,
             mode_chains: tuple[int, ...] = (), context_rates=(0.5, 0.3, 0.0, -0.2)):
    """Write a fake ``exp3`` fit to ``path`` and load it with ``load_fit``; the chains in
    ``stuck_chains`` never move (their first draw repeated, as from a stuck sampler);
    ``method`` defaults to NUTS for two or more chains, else SVI; the chains in
    ``mode_chains`` sit in a second mode (their ``a`` 1.5 higher, their total log-likelihood
    90 lower, ~10 within-chain sds); ``context_rates`` are the tasks' contextual
    rates (``transfer="contextual"``)."""
    rng = np.random.default_rng(seed)
    k = len(TASKS)
    shape = (n_chains, n_draws)
    c = np.clip(0.9 + 0.01 * rng.standard_normal(shape + (k,)), 0.5, 0.99)
    a = 3.0 + 0.2 * rng.standard_normal(shape + (k,))
    b = -1.0 + 0.05 * rng.standard_normal(shape + (k,))
    if bad_rhat:
        a[1] += 1.5  # the second chain sits elsewhere: R-hat far above 1.01
    noise_sd = 0.01 + 0.0005 * np.random.default_rng(seed + 1).standard_normal(shape + (k,))
    posterior = {"c": c, "a": a, "b": b, "noise_sd": noise_sd}
    if transfer == "contextual":
        posterior["transfer_context"] = (np.asarray(context_rates, float)
                                         + 0.05 * rng.standard_normal(shape + (k,)))
    elif transfer in ("pairwise", "joint"):
        noise = 0.05 * rng.standard_normal(shape + (k, k))
        noise[..., np.arange(k), np.arange(k)] = 0.0
        posterior["transfer"] = TRANSFER + noise
    for chain in stuck_chains:
        for values in posterior.values():
            values[chain] = values[chain, :1]
    # observations: single-task curves and pairs with each other task at 256
    rows = []
    for t in range(k):
        for n in SIZES:
            for partner in [None, *[j for j in range(k) if j != t]]:
                sizes = np.zeros(k)
                sizes[t] = n
                if partner is not None:
                    sizes[partner] = 256
                for s in (0, 1):
                    rows.append((t, sizes, s))
    task_index = np.array([r[0] for r in rows])
    sizes = np.stack([r[1] for r in rows])
    own = sizes[np.arange(len(rows)), task_index]
    tau = TRANSFER[task_index] @ np.eye(k) if transfer != "none" else 0
    extra = (TRANSFER[task_index] * sizes).sum(1) if transfer in ("pairwise", "joint") else 0
    ratio = extra / own  # the model's effective size (lcurve.curves.model.effective_size)
    x = own * np.where(ratio >= 0, 1 + ratio, np.exp(np.minimum(ratio, 0))) / N_REF
    score = np.clip(0.9 - np.exp(-1.0 - 3.0 * x) + 0.01 * rng.standard_normal(len(rows)), 0, 1)
    del tau
    n_obs = len(rows)
    loglik = -0.5 * rng.standard_normal(shape + (n_obs,)) ** 2
    for chain in mode_chains:  # a second mode: elsewhere, and 90 nats less likely
        a[chain] += 1.5
        loglik[chain] -= 90.0 / n_obs
    diverging = np.zeros(shape, bool)
    diverging.flat[:divergences] = True
    pairs = [f"{TASKS[j]}->{TASKS[i]}" for i in range(k) for j in range(k) if i != j]
    dims = {"c": ["task"], "a": ["task"], "b": ["task"], "noise_sd": ["task"],
            "transfer_context": ["task"], "transfer": ["target", "source"], "score": ["obs"],
            "task_index": ["obs"], "sizes": ["obs", "task"], "n_test": ["obs"],
            "n_test_pos": ["obs"], "seed": ["obs"]}
    idata = az.from_dict(
        posterior=posterior, log_likelihood={"score": loglik},
        sample_stats={"diverging": diverging}, observed_data={"score": score},
        constant_data={"task_index": task_index, "sizes": sizes,
                       "seed": np.array([r[2] for r in rows], float),
                       "n_test": np.full(n_obs, 200.0), "n_test_pos": np.full(n_obs, 60.0)},
        coords={"task": list(TASKS), "source": list(TASKS), "target": list(TASKS),
                "pair": pairs, "obs": np.arange(n_obs)},
        dims={k_: v for k_, v in dims.items() if k_ in posterior or k_ not in
              ("c", "a", "b", "noise_sd", "transfer_context", "transfer")})
    latent = [name for name in ("c", "a", "b", "noise_sd", "transfer_context") if name in posterior]
    method = method or ("nuts" if n_chains > 1 else "svi")
    config = FitConfig(family="exp3", transfer=transfer, method=method,
                       num_chains=n_chains, num_samples=n_draws)
    meta = {"tasks": list(TASKS), "n_ref": N_REF, "has_n_test": True,
            "method": config.method, "latent": latent, "config": config.to_dict()}
    idata.attrs["lcurve_fit"] = json.dumps(meta)
    idata.to_netcdf(str(path))
    return load_fit(path)
