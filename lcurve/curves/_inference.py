"""Inference engines of :class:`~lcurve.curves.CurveFit`: SVI, and NUTS.

NUTS defaults follow the issue's "fast, honest" recipe:

- *initialisation*: each chain starts at the median of its own 15 prior draws (numpyro's
  ``init_to_median``; ``FitConfig.init_strategy="auto"``) with an identity metric, which
  warm-up adapts. Optionally (``init_steps > 0``, the default until the thirteenth session)
  a short mean-field SVI run (``init_steps`` of Adam) first gives every latent's
  unconstrained location and scale; each chain then starts at its own draw from that guide
  and the initial inverse mass matrix is the guide's variances. The SVI start costs two
  compiled programs (SVI's ``init`` and ``update``): a first fit of the 5-task benchmark took
  18.6-19.0 s with it and 13.7-14.6 s without, with the same recovery, uniform SBC ranks and
  about as many diagnostics warnings (``experiments/curves/RESULTS.md`` O; a uniform start
  without SVI diverged more often, N3);
- *metric*: one dense block for the small global sites (curve hyper-parameters and per-task
  curve parameters, transfer rates, noise scales) when it has at most ``DENSE_MAX`` dimensions,
  diagonal for the many nested-design random effects;
- *compile once per model shape*: samplers and SVI steps are cached by the model's static
  settings and the data's shapes (``jit_model_args``), so refitting a table of the same shape
  (simulation studies, leave-future-out, SBC) does not recompile. A cached sampler is given
  each fit's own initial metric (an argument of the parallel chains' program): it used to
  keep the first fit's, so a fit's draws depended on what was fitted before it in the
  process (RESULTS.md M1).
  SVI's ``init`` is jitted too: run as numpyro runs it, eagerly, it dispatches the model op
  by op, which took 8.4-8.7 s the first time in a process for the 5-task benchmark, 2.6-2.7 s
  jitted (a first fit 32.8-39.3 s against 29.3-30.1 s; ``experiments/curves/RESULTS.md`` J1);
- *one compilation of the sampling loop per model shape*: numpyro (0.22) wraps its loop body in a
  fresh ``jax.jit`` at every ``fori_collect`` call and passes it as a *static* argument of
  the jitted loop; two wrappers of one function never compare equal, so with
  ``progress_bar=False`` the whole warm-up and sampling loop was recompiled for every chain
  of every fit (a refit of the 5-task benchmark took 39.9 s, 23.6 s without recompiling).
  :func:`_reused_jit_wrappers` returns the same wrapper for the same function while our
  sampler runs: the loop compiles once per model shape, and the draws are bit-identical
  (``experiments/curves/RESULTS.md`` section H);
  chains in parallel had the same defect another way: numpyro's ``"parallel"`` pmaps a fresh
  partial holding the data at every run, so every fit recompiled its whole program with the
  data as constants (5.4-5.9 s of a 19-21 s refit of the 5-task benchmark). :class:`_ReusedPmap`
  passes the data as arguments and keeps the mapped program per sampler: a refit took 12.0-12.3
  s against 17.6-18.8 s (``bench_nuts.py --variants pmap=reused pmap=numpyro``, RESULTS.md K1);
  chains one after another, vectorized or alone run as one jitted program each, their start
  included (:class:`_JittedChain`): numpyro starts them eagerly, op by op, and each operation
  compiled a small program the first time in a process (RESULTS.md AA1);
  the log-likelihood of the draws, and an SVI fit's draws from its guide, are compiled once
  per model shape too;
- *warm-up trees*: as deep as the draws' by default. With the SVI start (the chains started
  with the guide's diagonal metric) the first ~250 warm-up iterations of the 5-task benchmark
  ran into the 255-step cap (74,000-76,000 warm-up steps against 24,000-29,000 for the draws);
  ``FitConfig.warmup_tree_depth=6`` (numpyro's ``max_tree_depth=(d1, d2)``) took a compiled
  refit to 0.67-0.70x the time, but adapted slightly worse on real data, so it is an option
  (``experiments/curves/step_cost.py``, ``bench_nuts.py``; RESULTS.md L);
- *warm-up windows*: Stan's (numpyro's) by default, the metric first re-estimated from 25
  draws; ``FitConfig.adapt_window`` sets that first window (:func:`adaptation_schedule`)
  and ``FitConfig.init_strategy="median"`` started the SVI guide at the prior median.
  Together with 500 warm-up iterations (and the SVI start) they halved a fit's leapfrog
  steps, but on the demo's design one seed in ten diverged, so they are options (RESULTS.md M);
- *dense metric*: numpyro's (Stan's) estimate at every window by default. With
  ``FitConfig.dense_metric="spanned"`` a dense block is re-estimated dense only from a window
  with at least as many draws as it has dimensions, and from fewer as its diagonal
  (:func:`_spanned_welford`): Stan's dense estimate from 25 draws of a ~57-dimensional block
  is singular, regularised to ~1e-3 variance where the draws do not span it, and sent warm-up
  iterations 100-250 of the 5-task benchmark to the tree cap. A compiled refit took
  0.86-0.90x the time, but real leave-future-out fits diverged more, so it is an option
  (RESULTS.md T1);
- *chains*: in parallel with one JAX device per chain, else one after another on a CPU and
  side by side (vectorised) on an accelerator (:func:`resolve_chain_method`). On the 2-core
  CPU chains one after another took 0.60-0.78x the wall time of vectorised ones for a 5-task
  pairwise fit (``experiments/curves/bench_nuts.py --chain-methods vectorized sequential``):
  lockstep makes every step as long as the longest chain's (1.3-1.5x the mean steps) and a
  batched 4-chain step costs about four single ones there. :func:`request_cpu_devices` (called
  by ``lcurve fit`` and ``lcurve demo`` before any JAX work) gives a CPU one device per chain,
  so ``auto`` runs them in parallel: 0.56x the wall time of chains in turn on that CPU.
"""

from __future__ import annotations

import contextlib
import os
from collections import OrderedDict

import jax
import jax.numpy as jnp
import numpy as np
import numpyro.infer.hmc_util
import numpyro.util
import optax
from numpyro.infer import MCMC, NUTS, SVI, Trace_ELBO, init_to_median, init_to_uniform
from numpyro.infer.autoguide import (AutoLowRankMultivariateNormal, AutoMultivariateNormal,
                                     AutoNormal)

__all__ = ["run_svi", "run_nuts", "resolve_chain_method", "request_cpu_devices", "CHAIN_METHODS",
           "DENSE_MAX", "DENSE_METRICS", "INIT_STRATEGIES", "STAN_INIT_BUFFER", "STAN_WINDOW",
           "adaptation_schedule"]

#: ``FitConfig.chain_method`` values: ``auto`` or one of numpyro's.
CHAIN_METHODS = ("auto", "sequential", "vectorized", "parallel")

#: Largest dense mass-matrix block (dimensions); bigger blocks fall back to diagonal.
DENSE_MAX = 200

#: ``FitConfig.init_strategy`` values: where an SVI guide's means start, or without SVI the
#: chains (numpyro's ``init_to_uniform``, its default, or ``init_to_median`` of 15 prior
#: draws).
INIT_STRATEGIES = ("uniform", "median")

#: Stan's (and numpyro's) first slow adaptation window, in warm-up iterations.
STAN_WINDOW = 25
#: Stan's (and numpyro's) initial fast adaptation buffer, in warm-up iterations.
STAN_INIT_BUFFER = 75
#: ``FitConfig.dense_metric`` values: when a dense block of the metric is estimated dense.
DENSE_METRICS = ("spanned", "always")
#: numpyro's own schedule (Stan's with ``STAN_WINDOW``), kept while ours is installed.
_NUMPYRO_SCHEDULE = numpyro.infer.hmc_util.build_adaptation_schedule
_NUMPYRO_WELFORD = numpyro.infer.hmc_util.welford_covariance
_INIT_LOC_FNS = {"uniform": init_to_uniform, "median": init_to_median(num_samples=15)}
_GUIDES = {"normal": AutoNormal, "lowrank": AutoLowRankMultivariateNormal,
           "mvn": AutoMultivariateNormal}
_CACHE: OrderedDict = OrderedDict()
_CACHE_SIZE = 16


def _cached(key, make, cache: OrderedDict = _CACHE):
    """``cache[key]``, made by ``make()`` on a miss; the least recently used of more than
    ``_CACHE_SIZE`` entries is dropped."""
    if key in cache:
        cache.move_to_end(key)
        return cache[key]
    value = cache[key] = make()
    while len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
    return value


_JIT_WRAPPERS: OrderedDict = OrderedDict()
#: ``False`` runs numpyro's loop as it comes (recompiled per chain): for benchmarks.
REUSE_JIT_WRAPPERS = True
#: ``False`` runs SVI's ``init`` eagerly, as numpyro does: for benchmarks.
JIT_SVI_INIT = True
#: ``False`` runs parallel chains with numpyro's ``"parallel"`` (recompiled every fit): for
#: benchmarks.
REUSE_PMAP = True
#: ``False`` starts chains run one after another (or vectorized) as numpyro does, eagerly: for
#: benchmarks.
JIT_CHAIN = True


def _with_metric(sampler, run_chain, options: dict):
    """``run_chain`` (numpyro's ``MCMC._single_chain_mcmc``) as a function of ``(init, model
    args, model kwargs, initial metric)``, numpyro's static ``options`` fixed. The sampler reads
    its initial metric while the chain is traced: it must be an argument, not the constant of
    the fit that compiled the program."""
    def chain(init, model_args, model_kwargs, metric):
        kept, sampler._inverse_mass_matrix = sampler._inverse_mass_matrix, metric
        try:
            return run_chain(init, args=model_args, kwargs=model_kwargs, **options)
        finally:
            sampler._inverse_mass_matrix = kept

    return chain


class _ReusedPmap:
    """A numpyro ``chain_method``: chains in parallel, one device per chain, as numpyro's
    ``"parallel"`` runs them, but compiled once per sampler.

    numpyro's ``"parallel"`` calls ``jax.pmap`` on a fresh ``functools.partial`` that holds the
    model's data at every ``MCMC.run``, so every fit recompiles the whole warm-up and sampling
    program with the data as constants (module docstring). Here the data are arguments of the
    mapped function (broadcast to every chain, ``in_axes=None``) and the mapped function is
    kept for the sampler's lifetime: a refit of a table of the same shape reuses the compiled
    program. One instance belongs to one ``MCMC`` object (the mapped function calls that
    object's ``_single_chain_mcmc``).
    """

    def __init__(self):
        self._mapped = {}

    def __call__(self, partial_map_fn):
        options = dict(partial_map_fn.keywords)
        args, kwargs = options.pop("args"), options.pop("kwargs")
        run_chain = partial_map_fn.func
        sampler = run_chain.__self__.sampler
        key = tuple(sorted(options.items()))
        if key not in self._mapped:
            self._mapped[key] = jax.pmap(_with_metric(sampler, run_chain, options),
                                         in_axes=(0, None, None, None))
        mapped = self._mapped[key]
        metric = sampler._inverse_mass_matrix
        return lambda map_args: mapped(map_args, args, kwargs, metric)


class _JittedChain:
    """``MCMC._single_chain_mcmc`` compiled whole, for chains run one after another, vectorized
    or alone: the chain's start as well as its warm-up and sampling loop.

    numpyro runs a chain's start eagerly outside ``"parallel"``: the model is initialised
    (``init_to_median``'s prior draws, a first potential energy and gradient) and the kernel
    set up op by op, each operation a small XLA program compiled the first time it is seen
    in a process: ~400 of them, about half of a first fit's compilation time on a 2-core CPU
    (RESULTS.md AA1). Here the chain runs as one jitted function, the model's data and the
    initial metric its arguments (as :class:`_ReusedPmap`'s), kept for the sampler's
    lifetime. Installed on one ``MCMC`` object, in place of its own method.
    """

    def __init__(self, mcmc):
        self._run = type(mcmc)._single_chain_mcmc.__get__(mcmc)
        self._sampler = mcmc.sampler
        self._compiled = {}

    def __call__(self, init, *, args, kwargs, **options):
        # numpyro passes the model's data as ``args``/``kwargs`` and static settings
        # (``collect_fields``, ``remove_sites``) by keyword, as to :class:`_ReusedPmap`
        key = tuple(sorted(options.items()))
        if key not in self._compiled:
            self._compiled[key] = jax.jit(_with_metric(self._sampler, self._run, options))
        return self._compiled[key](init, args, kwargs, self._sampler._inverse_mass_matrix)


@contextlib.contextmanager
def _reused_jit_wrappers():
    """While active, ``numpyro.util.maybe_jit`` returns one jit wrapper per (function,
    options): the cached loop body numpyro passes as a static argument then hashes the same
    from chain to chain and fit to fit, so its loop is not recompiled (module docstring).
    A no-op where numpyro has no ``maybe_jit``."""
    original = getattr(numpyro.util, "maybe_jit", None)
    if original is None or not REUSE_JIT_WRAPPERS:
        yield
        return

    def reused(fn, *args, **kwargs):
        key = (fn, args, tuple(sorted(kwargs.items())))
        try:
            return _cached(key, lambda: original(fn, *args, **kwargs), _JIT_WRAPPERS)
        except TypeError:  # unhashable options: numpyro's own behaviour
            return original(fn, *args, **kwargs)

    numpyro.util.maybe_jit = reused
    try:
        yield
    finally:
        numpyro.util.maybe_jit = original


def adaptation_schedule(num_steps: int, window: int = STAN_WINDOW,
                        init_buffer: int = STAN_INIT_BUFFER) -> list:
    """Stan's windowed warm-up schedule (Stan Reference Manual, "HMC algorithm parameters:
    automatic parameter tuning"; CmdStan's ``adapt init_buffer=75 term_buffer=50 window``): an
    ``init_buffer``-iteration fast buffer (Stan's 75), slow windows of ``window``, ``2
    window``, ``4 window``, ... iterations (the last stretched to 50 iterations before the
    end) at whose ends the mass matrix is re-estimated from that window's draws, then a
    50-iteration fast buffer. numpyro's ``build_adaptation_schedule`` is this with ``window``
    25 and ``init_buffer`` 75 (and is used as it is for those and for warm-ups too short for
    the buffers)."""
    stan = window == STAN_WINDOW and init_buffer == STAN_INIT_BUFFER
    if stan or num_steps < init_buffer + 50 + window:
        return _NUMPYRO_SCHEDULE(num_steps)
    return _stan_windows(num_steps, window, init_buffer)


def _stan_windows(num_steps: int, window: int, init_buffer: int = STAN_INIT_BUFFER) -> list:
    AdaptWindow = numpyro.infer.hmc_util.AdaptWindow
    schedule, end = [AdaptWindow(0, init_buffer - 1)], num_steps - 50
    start, size = init_buffer, window
    while start < end:
        if 3 * size > end - start:  # as Stan: a window too short to double ends the slow phase
            size = end - start
        schedule.append(AdaptWindow(start, start + size - 1))
        start, size = start + size, 2 * size
    return schedule + [AdaptWindow(end, num_steps - 1)]


@contextlib.contextmanager
def _hmc_util_swapped(name: str, replacement):
    """While active, numpyro's ``hmc_util.<name>`` is ``replacement`` (``None``: left as it
    is); restored after. numpyro's warm-up adapter looks these up when a sampler is
    initialised (inside ``MCMC.run``)."""
    original = getattr(numpyro.infer.hmc_util, name)
    if replacement is not None:
        setattr(numpyro.infer.hmc_util, name, replacement)
    try:
        yield
    finally:
        setattr(numpyro.infer.hmc_util, name, original)


def _adaptation_window(window: int, init_buffer: int = STAN_INIT_BUFFER):
    """Context: numpyro's warm-up adapter uses :func:`adaptation_schedule` with ``window``
    and ``init_buffer`` (``hmc_util.build_adaptation_schedule``). A no-op for Stan's."""
    stan = window == STAN_WINDOW and init_buffer == STAN_INIT_BUFFER
    return _hmc_util_swapped("build_adaptation_schedule", None if stan else (
        lambda num_steps: adaptation_schedule(num_steps, window, init_buffer)))


def _spanned_welford(diagonal=True):
    """numpyro's Welford (co)variance estimator (``hmc_util.welford_covariance``) whose dense
    blocks are estimated dense only from at least as many draws as the block has dimensions:
    from fewer the sample covariance is singular, Stan's regularisation gives it variance
    ``~1e-3`` in every direction the draws do not span, and trajectories ran into the tree
    cap until a larger window (RESULTS.md L2b, T1). Below that the block's metric is its
    diagonal, each variance regularised as Stan regularises a diagonal metric. Diagonal blocks
    and windows with enough draws are numpyro's estimate, unchanged."""
    init_fn, update_fn, final_fn = _NUMPYRO_WELFORD(diagonal=diagonal)

    def final(state, regularize=False):
        if isinstance(state, dict):
            parts = {block: final(part, regularize) for block, part in state.items()}
            return tuple({block: part[i] for block, part in parts.items()} for i in range(3))
        mean, m2, n = state
        if jnp.ndim(m2) == 1:
            return final_fn(state, regularize)
        dense = final_fn(state, regularize)
        diag = final_fn((mean, jnp.diagonal(m2), n), regularize)
        spanned = n >= m2.shape[0]
        return tuple(jnp.where(spanned, full, jnp.diag(part)) for full, part in zip(dense, diag))

    return init_fn, update_fn, final


def _dense_metric(rule: str):
    """Context: with ``rule="spanned"`` numpyro's warm-up adapter estimates dense blocks with
    :func:`_spanned_welford` (``hmc_util.welford_covariance``). A no-op for ``"always"``
    (numpyro's and Stan's estimate at every window)."""
    return _hmc_util_swapped("welford_covariance",
                             _spanned_welford if rule == "spanned" else None)


def _shapes(kwargs) -> tuple:
    return tuple((k, None if v is None else (tuple(v.shape), str(v.dtype)))
                 for k, v in sorted(kwargs.items()))


def run_svi(model, kwargs, *, model_key, guide: str, steps: int, learning_rate: float, key,
            init_strategy: str = "uniform"):
    """Fit a guide by SVI, its means started as ``init_strategy`` says
    (:data:`INIT_STRATEGIES`); return ``(guide, params, losses)``."""
    def make():
        g = _GUIDES[guide](model, init_loc_fn=_INIT_LOC_FNS[init_strategy])
        svi = SVI(model, g, optax.adam(learning_rate), Trace_ELBO())
        # both jitted: run eagerly, init dispatches the model op by op (8-9 s for a 5-task
        # pairwise model the first time in a process); a Python loop of updates: XLA compiles
        # a scan body far slower
        return g, svi, jax.jit(svi.init) if JIT_SVI_INIT else svi.init, jax.jit(svi.update)

    g, svi, init, update = _cached(("svi", model_key, guide, init_strategy, learning_rate,
                                    JIT_SVI_INIT, _shapes(kwargs)), make)
    state = init(key, **kwargs)
    losses = []
    for _ in range(steps):
        state, loss = update(state, **kwargs)
        losses.append(loss)
    return g, svi.get_params(state), np.asarray(jnp.stack(losses))


def _guide_moments(params) -> tuple[dict, dict]:
    """Per-site unconstrained means and scales of a fitted ``AutoNormal`` guide's params."""
    def site(suffix):
        return {k[: -len(suffix)]: v for k, v in params.items() if k.endswith(suffix)}

    return site("_auto_loc"), site("_auto_scale")


def _blocks(sizes: dict[str, int], dense_sites) -> list[tuple[str, ...]]:
    block = tuple(s for s in sizes if s in dense_sites)
    if 1 < sum(sizes[s] for s in block) <= DENSE_MAX:
        return [block]
    return []


def resolve_chain_method(requested: str, num_chains: int) -> str:
    """numpyro's ``chain_method`` for ``requested`` (``"auto"``: parallel with a device per
    chain, else sequential on a CPU and vectorised on an accelerator)."""
    if requested != "auto":
        return requested
    if num_chains > 1 and jax.local_device_count() >= num_chains:
        return "parallel"
    return "sequential" if jax.default_backend() == "cpu" else "vectorized"


def request_cpu_devices(n: int) -> bool:
    """Ask JAX for ``n`` CPU devices, so that ``chain_method="auto"`` runs up to ``n`` NUTS
    chains in parallel on a CPU, one device per chain (numpyro's recommended set-up,
    ``numpyro.set_host_device_count``; the ``lcurve`` command does this for ``lcurve demo``
    and ``lcurve fit``).

    Process-wide, and only possible before JAX's first computation, so call it at the start of
    a program. Only the CPU platform is affected (on an accelerator chains stay vectorised).
    An explicit choice is left alone (``XLA_FLAGS=--xla_force_host_platform_device_count=N``
    or ``jax_num_cpu_devices`` already set). Returns whether the request took effect.

    The devices are threads over the same cores: on the 2-core CPU four parallel chains took
    0.56x the wall time of four chains one after another (5-task benchmark,
    ``experiments/curves/RESULTS.md`` section I). Draws differ from sequential chains' (each
    chain's random key is used differently), not their distribution.
    """
    if n < 1:
        raise ValueError(f"request_cpu_devices needs n >= 1, got {n}")
    if ("xla_force_host_platform_device_count" in os.environ.get("XLA_FLAGS", "")
            or jax.config.jax_num_cpu_devices != -1):
        return False
    try:
        jax.config.update("jax_num_cpu_devices", int(n))
    except RuntimeError:  # JAX has already computed something: too late in this process
        return False
    return True


def run_nuts(model, kwargs, *, model_key, key, num_warmup: int, num_samples: int,
             num_chains: int, target_accept: float, init_steps: int, dense_sites,
             site_sizes: dict[str, int] | None = None, max_tree_depth: int = 8,
             warmup_tree_depth: int | None = None, chain_method: str = "auto",
             adapt_window: int = STAN_WINDOW, init_strategy: str = "uniform",
             init_buffer: int = STAN_INIT_BUFFER, dense_metric: str = "always"):
    """NUTS, started from a mean-field SVI fit of ``init_steps`` when > 0 (module docstring);
    chains run as :func:`resolve_chain_method` says. Trajectories have at most
    ``2**max_tree_depth`` steps, during warm-up at most ``2**warmup_tree_depth`` (default: the
    same; capped at ``max_tree_depth``). Warm-up follows :func:`adaptation_schedule` with
    ``adapt_window`` and ``init_buffer``, dense blocks estimated as ``dense_metric`` says
    (:func:`_dense_metric`); the SVI guide starts as ``init_strategy`` says (``"uniform"`` or
    ``"median"``). Without SVI (``init_steps=0``) chains start where ``init_strategy`` says
    (numpyro's ``init_to_uniform``, or ``init_to_median`` of 15 prior draws) with an identity
    metric, dense over ``dense_sites`` when ``site_sizes`` (each site's size) keeps the block
    within :data:`DENSE_MAX`.

    Returns ``(samples by chain, sample stats)``.
    """
    method = resolve_chain_method(chain_method, num_chains)
    init_key, jitter_key, run_key = jax.random.split(key, 3)
    init_params, inverse_mass, dense = None, None, []
    if init_steps == 0 and site_sizes:
        dense = _blocks(site_sizes, dense_sites)
    if init_steps > 0:
        guide, params, _ = run_svi(model, kwargs, model_key=model_key, guide="normal",
                                   steps=init_steps, learning_rate=0.02, key=init_key,
                                   init_strategy=init_strategy)
        locs, scales = _guide_moments(params)
        sizes = {name: int(np.size(v)) for name, v in locs.items()}
        dense = _blocks(sizes, dense_sites)
        init_params = {}
        for i, (name, loc) in enumerate(locs.items()):
            noise = jax.random.normal(jax.random.fold_in(jitter_key, i),
                                      (num_chains,) + jnp.shape(loc))
            start = loc + 0.5 * scales[name] * noise
            init_params[name] = start[0] if num_chains == 1 else start  # no chain axis for one
        inverse_mass = {}
        in_dense = {s for block in dense for s in block}
        for block in dense:
            diag = jnp.concatenate([jnp.ravel(scales[s]) ** 2 for s in block])
            inverse_mass[block] = jnp.diag(diag)
        for name in locs:
            if name not in in_dense:
                inverse_mass[(name,)] = jnp.ravel(scales[name]) ** 2
    depths = (min(warmup_tree_depth or max_tree_depth, max_tree_depth), max_tree_depth)
    settings = (num_warmup, num_samples, num_chains, target_accept, depths,
                tuple(dense), init_steps > 0, method, adapt_window,
                None if init_steps > 0 else init_strategy, init_buffer, dense_metric)

    reuse_pmap = method == "parallel" and REUSE_PMAP

    def make():
        kernel = NUTS(model, target_accept_prob=target_accept, dense_mass=dense or False,
                      inverse_mass_matrix=inverse_mass, max_tree_depth=depths,
                      init_strategy=_INIT_LOC_FNS[init_strategy])
        mcmc = MCMC(kernel, num_warmup=num_warmup, num_samples=num_samples,
                    num_chains=num_chains, chain_method=_ReusedPmap() if reuse_pmap else method,
                    progress_bar=False, jit_model_args=True)
        if jit_chain:
            mcmc._single_chain_mcmc = _JittedChain(mcmc)
        return mcmc

    jit_chain = method != "parallel" and JIT_CHAIN
    mcmc = _cached(("nuts", model_key, settings, reuse_pmap, jit_chain, _shapes(kwargs)), make)
    # a cached sampler was built with the metric of the fit that made it: this fit's own
    mcmc.sampler._inverse_mass_matrix = inverse_mass
    with (_reused_jit_wrappers(), _adaptation_window(adapt_window, init_buffer),
          _dense_metric(dense_metric)):
        mcmc.run(run_key, init_params=init_params, extra_fields=("diverging", "num_steps"),
                 **kwargs)
    samples = mcmc.get_samples(group_by_chain=True)
    extra = mcmc.get_extra_fields(group_by_chain=True)
    stats = {"diverging": np.asarray(extra["diverging"]),
             "n_steps": np.asarray(extra["num_steps"])}
    return samples, stats
