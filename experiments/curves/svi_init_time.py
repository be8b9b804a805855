"""Time the initial SVI's first ``init`` and first update in a fresh process, eager (as numpyro
runs ``SVI.init``) or jitted (as ``lcurve.curves._inference.run_svi`` does), on the 5-task
table of ``bench_nuts.py``. Run each mode in its own process: the point is the first call.

Usage::

    python experiments/curves/svi_init_time.py --init eager
    python experiments/curves/svi_init_time.py --init jit
"""

from __future__ import annotations

import argparse
import time
import warnings

import jax
import optax
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoNormal

from bench_nuts import planted_table
from lcurve.curves.fit import CurveFit


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--init", choices=["eager", "jit"], required=True)
    args = parser.parse_args()
    table, _ = planted_table()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        curve_fit = CurveFit(table, transfer="pairwise", method="nuts")
        curve_fit._prepared()  # the fit's data, as CurveFit.fit prepares them
        model, kwargs = curve_fit.model(), curve_fit.model_args(curve_fit._data)
    svi = SVI(model, AutoNormal(model), optax.adam(0.02), Trace_ELBO())
    init = jax.jit(svi.init) if args.init == "jit" else svi.init
    start = time.perf_counter()
    state = jax.block_until_ready(init(jax.random.PRNGKey(0), **kwargs))
    seconds_init = time.perf_counter() - start
    update = jax.jit(svi.update)
    start = time.perf_counter()
    state, loss = jax.block_until_ready(update(state, **kwargs))
    print(f"init={args.init}: first init {seconds_init:.1f} s, first update (compiles) "
          f"{time.perf_counter() - start:.1f} s; {len(table)} rows")


if __name__ == "__main__":
    main()
