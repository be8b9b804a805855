"""Fitting multi-task learning curves: :class:`FitConfig`, :class:`CurveFit`, :func:`fit_curves`.

A :class:`CurveFit` is configured in ``__init__`` (nothing is computed), does its work in
:meth:`CurveFit.fit` (NUTS, its chains run as ``FitConfig.chain_method`` says, or SVI with
an AutoNormal / low-rank guide) and returns itself. The posterior lives in ``fit.idata``
(ArviZ, dims ``task``, ``source``, ``target``, ``pair``, ``obs``; one log-likelihood variable
``score``) and round-trips through netCDF with :meth:`CurveFit.save` and :func:`load_fit`.

Example
-------
>>> from lcurve.curves import fit_curves, simulate_results
>>> table, truth = simulate_results(n_tasks=3, seed=0)
>>> fit = fit_curves(table, transfer="pairwise", method="svi", svi_steps=300)
>>> fit.transfer_matrix().columns.tolist()[:9]
['source', 'target', 'mean', 'sd', 'se', 'hdi_low', 'hdi_high', 'n', 'p_positive']
"""

from __future__ import annotations

import dataclasses
import functools
import json
import warnings
from pathlib import Path

import arviz as az
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import pandas as pd
from numpyro.infer import Predictive

from lcurve._io import atomic_path
from lcurve.config import ConfigError, ConfigSection, require_positive
from lcurve.curves import _summaries, planning
from lcurve.curves._inference import (CHAIN_METHODS, DENSE_METRICS, INIT_STRATEGIES, _cached,
                                      _shapes, run_nuts, run_svi)
from lcurve.curves._table import METRICS, STRUCTURES, CurveData, prepare
from lcurve.curves.families import FAMILIES, SIZE_UNIT, get_family
from lcurve.curves.model import (CONTEXT_PRIORS, CURVE_POOLINGS, INTEGRATED_NEEDS,
                                 LIKELIHOOD_SITE, LIKELIHOODS, NOISE_DECAY_NEEDS, NOISE_DECAYS,
                                 PAIRWISE_PRIORS, SEED_EFFECTS,
                                 TEST_NOISE, TEST_OFFSETS, context_reference, curve_model,
                                 design_points, observed_test_score, offdiag_index)

__all__ = ["FitConfig", "CurveFit", "fit_curves", "load_fit"]

#: Evaluate the curve once per distinct design point (:func:`~lcurve.curves.model.design_points`),
#: not once per observation; ``False`` only to benchmark the two side by side
#: (``experiments/curves/bench_nuts.py --variants points=row points=shared``).
SHARE_DESIGN_POINTS = True

METHODS = ("nuts", "svi")
GUIDES = ("normal", "lowrank", "mvn")
#: ``FitConfig.test_shared="auto"``: the share of a run's test-set (Hanley-McNeil) AUROC
#: variance common to all runs of a MoleculeACE target, measured by
#: ``experiments/curves/test_set_share.py`` (0.57 over 8 targets, 0.42-0.66 per target; 0.47
#: between runs 8x or more apart in size, 0.67 at 2x).
TEST_SHARED = 0.55
#: ``FitConfig.test_share="by_size"``: the share at 100 samples and the slope of its logit
#: in the log size, ``logit(share) = logit(0.40) + 0.73 log(n / 100)``: a least-squares line
#: through the logits of the same-size, other-seed shares of ``test_set_share.py --seeds 0 1
#: 2 3`` (8 targets, 0.34 at 64 labels to 0.88 at 2,048; the script prints the fit;
#: ``experiments/curves/RESULTS.md`` AC3, AD1).
TEST_SHARED_AT_REF = 0.40
TEST_SHARE_SLOPE = 0.73
#: The structures under which ``FitConfig.noise_decay="learned"`` passed simulation-based
#: calibration (200 simulated tables each). Under ``contextual`` it failed over 600 (``c_mu``,
#: ``test_z``, ``curve_max``), as the default ``noise_decay="none"`` does there too, and under
#: ``none`` over 500 (``test_z``, ``curve_max``; from ``test_noise="observed"``, the test-set
#: variance at the observed scores); ``joint`` was not run (``experiments/curves/RESULTS.md``
#: AC2, AD2, AE2). A fit of another structure with it warns.
NOISE_DECAY_CALIBRATED = ("none", "pairwise")
#: How the test-set share depends on a run's own size (``FitConfig.test_share``).
TEST_SHARES = ("constant", "by_size")

_TASK_SITES = {"noise_sd", "transfer_context", "transfer_context_z", "context_log_gain",
               "context_shift", "test_z", "test_z_decentered"}
_GROUP_SITES = {"subsample_z": ["subsample"], "trajectory_z": ["trajectory"]}


@dataclasses.dataclass(frozen=True, kw_only=True)
class FitConfig(ConfigSection):
    """How to fit curves: model (family, transfer structure, priors) and inference settings.

    A ``[fit]`` table in TOML (:class:`lcurve.config.ConfigSection`: frozen, keyword-only,
    validated on construction, ``from_dict``/``to_dict`` round-trip).

    Parameters
    ----------
    family, transfer, metric
        The model: a curve family of ``lcurve.curves.FAMILIES``, a transfer structure
        (``none``, ``contextual``, ``pairwise``, ``joint``) and the metric fitted. The default
        family ``pow4`` (Domhan et al. 2015) follows leave-future-out on MoleculeACE (fit
        sizes <= 512, predict 2048; ``experiments/curves/RESULTS.md``): every family
        under-predicts there, ``exp3`` most (bias -0.053, 90% coverage 0.31) and ``pow4``
        among the least with converged chains (bias -0.027, coverage 0.88).
    method
        ``"nuts"`` (``num_warmup``, ``num_samples``, ``num_chains`` chains (``chain_method``),
        ``target_accept``; 1000 warm-up steps because with 300 the MoleculeACE contextual and
        pairwise fits ended with R-hat 1.30 and 1.19, with 1000 1.04 and 1.03; 1000 draws per
        chain because with 300 the 5-task benchmark and the 30-task MoleculeACE ``joint``
        fit had R-hat 1.017-1.024 and bulk ESS 194-411, with 1000 R-hat 1.003-1.012 and ESS
        803-1287, for 1.07-1.3x the wall time; RESULTS.md section I)
        or ``"svi"`` (``svi_steps`` of Adam at ``learning_rate`` with guide
        ``"normal"`` (AutoNormal), ``"lowrank"`` or ``"mvn"`` (full-rank), then
        ``num_samples`` draws).
    init_steps, max_tree_depth, warmup_tree_depth
        NUTS starts (default ``init_steps=0``) each chain at the median of 15 prior draws of
        its own (``init_strategy="auto"``) with an identity metric, dense over the global sites,
        or, with ``init_steps > 0``, from a mean-field SVI fit of that many Adam steps (each
        chain at its own draw of that guide, its variances as the initial metric; 500 was the
        default until the thirteenth session). Without SVI a first fit compiles two programs
        fewer: the 5-task benchmark took 13.7-14.6 s instead of 18.6-19.0, with the same
        recovery, SBC uniform for every structure, and about as many warnings on 30 planted
        tables, the demo's design and real leave-future-out fits
        (``experiments/curves/RESULTS.md`` O). NUTS builds
        trajectories of at most ``2**max_tree_depth`` steps, during warm-up of at
        most ``2**warmup_tree_depth`` (numpyro's ``max_tree_depth=(d1, d2)``; capped at
        ``max_tree_depth``; 0, the default: the same as the draws). Warm-up draws are
        discarded; a shallower warm-up tree makes its first iterations cheaper (with the
        guide's metric the first ~250 warm-up iterations of the 5-task benchmark ran into
        the 255-step cap: 74,000-76,000 warm-up steps against 24,000-29,000 for the draws).
        ``warmup_tree_depth=6`` took a compiled refit of that benchmark to 0.67-0.70x the
        time with the same recovery, and suits refitting one design many times (simulation
        studies, SBC). It is not the default because on real data it adapted slightly worse:
        on the demo's design 1 of 10 seeds had a divergence (none at full depth) and lower
        ESS, and the 8-target ``joint`` leave-future-out fit had 8 divergences against 3;
        depth 5 had 82 and 37 on two hard fits (``experiments/curves/RESULTS.md`` L).
    adapt_window, init_strategy
        Warm-up's first slow window, in iterations (Stan's ``window``; later windows double;
        the mass matrix is re-estimated at each window's end from that window's draws;
        default 25, Stan's and numpyro's) and where the chains (``init_steps=0``) or the SVI
        guide's means start: ``"uniform"`` (numpyro's default, a random point in (-2, 2) on
        the unconstrained scale), ``"median"`` (of 15 prior draws) or ``"auto"`` (default: the
        median for NUTS without SVI, else uniform; a uniform start without SVI diverged more
        often, RESULTS.md N3 and O). On the 5-task benchmark the 25-draw first estimate of the
        48 x 48 metric sent warm-up iterations 100-250 to the tree cap, and from the uniform
        start the 500-step SVI ended far from converged (loss -79 to -763 against -1,089 from
        the median start). With that SVI start (then the default),
        ``adapt_window=100, init_strategy="median", num_warmup=500`` took
        0.44-0.51x the leapfrog steps of one chain and 0.47-0.59x the time of a compiled
        4-chain refit, with the same ESS and recovery. It is not the default: on the demo's
        design 1 of 10 seeds had 5 divergences (none with the defaults) and the 30-target
        leave-future-out ``pairwise`` fit ended at R-hat 1.011; with ``num_warmup=1000``
        2 of 10 demo seeds had 1 divergence each (``experiments/curves/RESULTS.md`` M).
    dense_metric, adapt_init_buffer
        When warm-up estimates the dense block of the metric (the global sites) as a dense
        covariance: ``"always"`` (default) at every window, as numpyro and Stan do;
        ``"spanned"`` once a window holds at least as many draws as the block has dimensions,
        and from fewer as its diagonal (each variance regularised as Stan regularises a
        diagonal metric). From fewer draws than dimensions the sample covariance is singular
        and Stan's regularisation leaves a variance of ~1e-3 in the directions the draws do
        not span: on the 5-task benchmark warm-up iterations 100-250 ran into the tree cap
        (70,000-81,000 warm-up steps against 18,000-29,000 for the draws), and ``"spanned"``
        took warm-up to 57,000-64,000 steps and a compiled refit to 0.86-0.90x the time.
        ``adapt_init_buffer`` is Stan's initial fast buffer before the first slow window
        (default 75 iterations, Stan's ``init_buffer``); 25 with ``"spanned"`` took warm-up
        to 47,000-55,000 steps and a compiled refit to 0.73x. Neither is the default: on
        the hardest MoleculeACE leave-future-out fits (8-target ``contextual`` and ``joint``,
        30-target ``none``, three seeds each) ``"spanned"`` had better R-hat (at most 1.015
        against 1.035) but 29 divergent transitions against 16, and with the 25-iteration
        buffer 1 of 10 demo seeds had a divergence (none without). Both suit
        refitting one design many times (simulation studies), where each fit's diagnostics
        are checked anyway (``experiments/curves/RESULTS.md`` T1).
    chain_method
        How NUTS runs its chains (numpyro's ``chain_method``): ``"auto"`` (default) runs them
        in parallel when JAX has a device per chain, else one after another on a CPU
        (``"sequential"``: vectorised chains move in lockstep, each step as long as the
        longest chain's, and on a CPU a 4-chain batched step costs about as much as four
        single ones; one after another took 0.60-0.78x the wall time,
        ``experiments/curves/RESULTS.md``) and
        side by side on an accelerator (``"vectorized"``).
    seed
        Seed of the ``jax.random`` key of the fit.
    transfer_scale, global_scale
        Prior sd of pairwise rates and slab scale of the joint horseshoe (and, times
        ``1 / sqrt(K-1)``, of the contextual rates under ``context_prior="rate"``); the
        horseshoe's global scale.
    context_shift
        Add a per-task asymptote shift under context (``contextual`` only; ``Normal(0, 0.5)``
        on the logit scale). Off by default since 2026-12: the shifted runs share the
        single-task curve's approach to its asymptote, and a shift that cannot fade with the
        target's own size (as a benefit of context does) bent that shared approach. On
        MoleculeACE LOO preferred the fits without it on both contextual data sets (elpd
        +19.9, se 6.2, over 2,100 runs of 30 targets; +6.3, se 2.9, over 1,008 runs of 8;
        stacking weights 0.96 and 1.0), and in leave-future-out the 30 targets' single-task
        runs were predicted with bias +0.001 and MAE 0.024 against +0.011 and 0.026 with it
        (below ``none``'s 0.0245), the 8 targets' with MAE 0.019 against 0.016 (``none``:
        0.034) (``experiments/curves/RESULTS.md`` V5).
    pair_shift
        Add the same per-task asymptote shift in every run with a partner (``pairwise``,
        ``joint``); off: on MoleculeACE it left the pairwise leave-future-out bias where it
        was (-0.074 against -0.076; ``experiments/curves/RESULTS.md``).
    pairwise_prior
        Prior of the pairwise rates ``tau_ij = s z_ij``, ``z_ij ~ Normal(0, 1)``:
        ``"hierarchical"`` learns the spread, ``s ~ HalfNormal(transfer_scale)`` (partial
        pooling across the K(K-1) pairs); ``"fixed"`` sets ``s = transfer_scale`` (the only
        prior before 2026-12); ``"auto"`` (default): ``"hierarchical"`` under NUTS,
        ``"fixed"`` under SVI. With fixed N(0, 1) rates the 56 MoleculeACE pair rates traded
        off against the curve's shape (NUTS leave-future-out bias -0.076); learning the
        spread took it to -0.023. SVI's guides cannot follow the funnel between the spread
        and the rates: on flat, transfer-free data the mean-field fit reported a credibly
        negative rate (-0.57, 90% interval -0.77 to -0.29) where NUTS and the fixed prior
        straddle zero (``tests/curves/test_reliability.py``; ``experiments/curves/RESULTS.md``).
    curve_pooling
        Spread across tasks of each curve parameter (on its unconstrained scale, around the
        learned population mean): ``"learned"``, ``sd ~ HalfNormal(Param.pool_scale)``;
        ``"fixed"`` (default), ``sd = Param.pool_scale`` (a prior statement that tasks'
        curves differ by about that much). Few tasks cannot estimate a spread: on the
        4-target demo the learned spread of ``alpha`` was a funnel, and every NUTS setting
        tried warned (divergences, or an ESS of 124-382 in ``alpha_sd``, whatever
        ``target_accept``), and on
        the 8 MoleculeACE targets of leave-future-out learned spreads gave R-hat 1.034 and 7
        divergences (``none``) where fixed ones gave 1.010 and none, with the same error
        (``experiments/curves/RESULTS.md`` section H). On 30 targets a learned spread did
        not change the leave-future-out predictions either (MAE 0.0232 and 0.0236 for
        ``none`` and ``contextual`` against 0.0241 and 0.0235; ``none`` then had 11
        divergences, RESULTS.md Y3). Fits saved before the field load as ``"learned"``.
    context_spread
        ``contextual``: spread of the per-task context effects around their mean (``log_gain_i
        = mu + sd z_i`` under ``context_prior="data"``, ``tau_i = mu + sd z_i`` under
        ``"rate"``): ``"fixed"`` (default), ``sd`` equal to the prior scale of ``mu``
        (``context_scale``, or ``transfer_scale / sqrt(K-1)``); ``"learned"``, ``sd ~
        HalfNormal`` of that scale (the only behaviour before the fourteenth session; fits
        saved before load as such). As with
        ``curve_pooling``, a few tasks cannot estimate a spread: on ten simulated 4-task
        context tables (leave-future-out, ``experiments/curves/lfo.py --data synthetic``) the
        learned spread gave 459 divergences (0-113 per fit; max R-hat 1.037, min ESS 183),
        mostly where the spread was large and the non-centred rates sat on a narrow ridge;
        the fixed one 29 (0-10 per fit; R-hat <= 1.009, ESS >= 801), with the same
        predictions (bias and MAE within 0.002 in every table, coverage within one of eight
        held-out runs) (``experiments/curves/RESULTS.md`` P).
    context_prior, context_scale
        ``contextual``: where the rates' prior is stated. ``"data"`` (default): on the data's
        scale, ``log_gain_i ~`` a pooled ``Normal(0, context_scale)`` (mean and spread), the
        log of the factor by which context multiplies task i's effective size at its
        reference context ratio (the geometric mean over its fitted runs with context of the
        context's labels over its own; kept with the fit, so predictions use the fitted
        table's), and the rate ``tau_i`` derived from it
        (:func:`lcurve.curves.model.context_rate`). At one sd of the mean
        (``context_scale=0.5``, default) a context is worth about two thirds of the target's
        own samples (``e^0.5 - 1``), whether it holds 10^2 or 10^4 labels. The scale matters
        on MoleculeACE: at 2 the 30-target refit below was biased again (-0.074, its
        context runs ~8 times further along), at 1 and 0.5 it was not (-0.002, +0.001);
        0.5 keeps a margin from that edge, and on simulated sweeps its rate intervals
        covered as many planted rates (0.87) with a smaller error (0.021). ``"rate"``:
        ``tau_i ~ Normal(0, transfer_scale / sqrt(K-1))`` pooled likewise (the only prior
        before 2026-12-07; fits saved before load as such), whose meaning grows with the
        context's size: on 30 MoleculeACE targets beside
        ~17,000-35,000 labels of context a leave-future-out refit valued the context at ~100
        times the targets' own runs and under-predicted their runs at 512 by 0.083; with
        ``"data"`` the same refit's bias is +0.001 (MAE 0.0233, ``none``: -0.009, 0.0241), and
        on simulated 5-task sweeps with planted rates the rates' 90% coverage is 0.87 (the
        same) with a smaller error (0.021 against 0.037) (``experiments/curves/RESULTS.md``
        Y1, Y4).
    use_all_rows
        Disable the per-structure row selection (for LOO comparisons).
    random_effects
        Model the nested design (shared subsample and seed-trajectory effects); ``False``
        treats rows as independent.
    centred_curves
        Centred per-task curve parameters (default non-centred).
    zero_sum_curves
        Non-centred per-task curve parameters as the population mean plus deviations that sum
        to zero over the tasks (:func:`lcurve.curves.model.curve_model`; default): the same
        prior of the tasks' curves, ``*_mu`` then their mean. On the 30-task MoleculeACE
        ``joint`` fit it took max R-hat from 1.010-1.014 to 1.007-1.009 and min bulk ESS from
        659-1153 to 903-928 (``experiments/curves/RESULTS.md`` K2). ``False``: ``z`` iid, as
        fits before 2026-12-05 (they load as such).
    likelihood
        ``"logit"`` (logit-normal score, nested-design effects integrated out exactly; the
        log-likelihood has one term per (task, seed) trajectory) or ``"truncnormal"`` (normal
        truncated to [0, 1], effects sampled; one term per row). See
        :func:`lcurve.curves.model.curve_model`.
    seed_effects
        ``"independent"``, ``"sum_to_zero"`` (seed-trajectory effects sum to zero within a
        task, so they cannot shift its level when seeds are few) or ``"centred"`` (also the
        subsample effects, over the seeds at each size, so they cannot carry a size's level);
        logit likelihood with effects only; both give one log-likelihood term per task.
    test_noise
        ``"observed"`` (default): an observed score's test-set (Hanley–McNeil) variance is
        evaluated at the mean observed score of the task's runs at that own size, a known
        sampling variance; ``"curve"``: at the curve's mean (the exact generative story, but
        the variance then rewards a curve nearer 0.5, which pulled pairwise fits of
        MoleculeACE pairs 0.3 below their runs, a defect today's model no longer shows on the
        demo's pairs). The default is an approximation that simulation-based calibration
        sees: over 500-600 simulated tables (``none``, ``contextual``) a task's curve at its
        largest size lies below the truth's in 56-57% of them (90% intervals still cover
        0.88-0.89) and its test-set offset above, where ``"curve"`` passes on 300 of the same
        tables in each (lowest p 0.017-0.035; ``experiments/curves/RESULTS.md`` AE2, AE2b);
        ``"none"``: no per-run test-set term (runs scored on one shared test set). See
        :func:`lcurve.curves.model.curve_model`.
    test_shared
        Share (in [0, 1)) of a run's test-set variance that all runs of its task have in
        common, because they are scored on the task's one test set: a per-task offset that
        shifts every run of the task and is not part of the curve, so the curve (and
        ``required_samples``) is the score expected on a new test set, with the uncertainty
        of a finite test set in its interval, and ``predict``'s ``pred_low, pred_high`` are
        for a new run on the task's own test set (``test_mean`` its centre). ``None``
        (default, "auto"): :data:`TEST_SHARED` where the table has test-set sizes
        (``n_test``) and ``test_noise != "none"``, else 0; and 0 for ``transfer="joint"``,
        whose 30-task MoleculeACE fit does not converge with the offsets: they make the runs
        of a task agree more closely, and one pair's horseshoe local scale (of 870) then
        sits between shrunk and unshrunk (max R-hat 1.008-1.019, min bulk ESS 225-305 over
        three seeds, 1.015 and 429 with 2,000 draws per chain, against 1.006 and 873
        without; RESULTS.md S1). ``0`` gives every run its own
        test-set error and lets the curve's level absorb the common part: the curve is then
        the test set's, and its interval leaves out that set's uncertainty (the only
        behaviour before 2026-12-06; fits saved before load as such). An explicit value
        above 0 needs ``n_test`` and ``test_noise != "none"``. See
        :func:`lcurve.curves.model.curve_model` and ``experiments/curves/RESULTS.md`` R.
    test_offsets
        ``"sampled"`` (default): the tasks' test-set offsets (``test_z``) are sampled
        parameters. ``"integrated"``: they are integrated out of the likelihood exactly and
        each draw's ``test_z`` comes from its conditional posterior (the same model; needs
        the logit likelihood, ``random_effects`` and ``seed_effects="independent"``). The
        sampler then takes fewer leapfrog steps, each dearer: side by side on the 2-core CPU
        the 30-task ``joint`` fit took 57 s instead of 68 s, while the 5-task pairs fit
        and six MoleculeACE leave-future-out refits took up to 20% longer (RESULTS.md S1).
    test_share
        ``"constant"`` (default): ``test_shared`` is the share at every size. ``"by_size"``
        (an option): the share grows with the run's own size, ``logit(share) =
        logit(test_shared) + TEST_SHARE_SLOPE log(n / 100)``, ``test_shared`` the share at
        100 samples ("auto": :data:`TEST_SHARED_AT_REF`): two seeds' runs of a
        MoleculeACE target share 0.34 of their test-set variance at 64 labels and 0.88 at
        2,048 (``experiments/curves/RESULTS.md`` AC3), so the constant 0.55 gives large runs
        too much test noise of their own and the curve too little of the test set's common
        error. See :func:`lcurve.curves.model.test_share_at`.
    noise_decay
        ``"none"`` (default): a task's run noise (``noise_sd``) and the seed-trajectory
        effect's sd are the same at every size. ``"learned"``: both shrink with the run's own
        size as ``(100 / n)^gamma``, ``gamma`` learned (one for all tasks, prior
        ``HalfNormal(0.5)``; not with ``seed_effects="centred"``; see
        :func:`lcurve.curves.model.curve_model`): two seeds' runs of a MoleculeACE target
        differ less at 512 labels than at 32, which the constant noise, fitted to the small
        sizes, carries unchanged to the sizes it predicts (``experiments/curves/RESULTS.md``
        AC2). An option until it is checked on every structure and data set.

    Raises
    ------
    lcurve.config.ConfigError
        (a ``ValueError``) naming the bad value and the valid options.
    """

    _section = "fit"
    family: str = "pow4"
    transfer: str = "pairwise"
    method: str = "nuts"
    metric: str = "auroc"
    seed: int = 0
    num_warmup: int = 1000
    num_samples: int = 1000
    num_chains: int = 4
    target_accept: float = 0.9
    init_steps: int = 0
    max_tree_depth: int = 8
    warmup_tree_depth: int = 0
    adapt_window: int = 25
    adapt_init_buffer: int = 75
    dense_metric: str = "always"
    init_strategy: str = "auto"
    chain_method: str = "auto"
    svi_steps: int = 3000
    guide: str = "normal"
    learning_rate: float = 0.01
    transfer_scale: float = 1.0
    global_scale: float = 0.1
    context_shift: bool = False
    pair_shift: bool = False
    pairwise_prior: str = "auto"
    curve_pooling: str = "fixed"
    use_all_rows: bool = False
    random_effects: bool = True
    centred_curves: bool = False
    zero_sum_curves: bool = True
    context_spread: str = "fixed"
    context_prior: str = "data"
    context_scale: float = 0.5
    likelihood: str = "logit"
    seed_effects: str = "independent"
    test_noise: str = "observed"
    test_shared: float | None = None
    test_offsets: str = "sampled"
    noise_decay: str = "none"
    test_share: str = "constant"

    def resolved_pairwise_prior(self) -> str:
        """``pairwise_prior`` with ``"auto"`` resolved: ``"hierarchical"`` under NUTS, else
        ``"fixed"``."""
        if self.pairwise_prior != "auto":
            return self.pairwise_prior
        return "hierarchical" if self.method == "nuts" else "fixed"

    def resolved_test_shared(self, has_n_test: bool) -> float:
        """``test_shared`` with ``None`` resolved: :data:`TEST_SHARED` for a table with
        test-set sizes and a test-set term (``test_noise != "none"``) unless the structure
        is ``joint``, else 0."""
        if self.test_shared is not None:
            return float(self.test_shared)
        usable = has_n_test and self.test_noise != "none" and self.transfer != "joint"
        if not usable:
            return 0.0
        return TEST_SHARED_AT_REF if self.test_share == "by_size" else TEST_SHARED

    def resolved_test_share_slope(self, has_n_test: bool) -> float:
        """The slope of :func:`lcurve.curves.model.test_share_at`: :data:`TEST_SHARE_SLOPE`
        with ``test_share="by_size"`` where a test-set share is modelled, else 0."""
        by_size = self.test_share == "by_size" and self.resolved_test_shared(has_n_test) > 0
        return TEST_SHARE_SLOPE if by_size else 0.0

    def resolved_init_strategy(self) -> str:
        """``init_strategy`` with ``"auto"`` resolved: ``"median"`` for NUTS chains started
        without SVI (``init_steps=0``), else ``"uniform"`` (numpyro's autoguide default)."""
        if self.init_strategy != "auto":
            return self.init_strategy
        return "median" if self.method == "nuts" and self.init_steps == 0 else "uniform"

    def _validate(self) -> None:
        for name, valid in (("family", sorted(FAMILIES)), ("transfer", STRUCTURES),
                            ("method", METHODS), ("metric", METRICS), ("guide", GUIDES),
                            ("likelihood", LIKELIHOODS), ("chain_method", CHAIN_METHODS),
                            ("seed_effects", SEED_EFFECTS), ("test_noise", TEST_NOISE),
                            ("test_offsets", TEST_OFFSETS),
                            ("pairwise_prior", PAIRWISE_PRIORS),
                            ("init_strategy", ("auto",) + INIT_STRATEGIES),
                            ("dense_metric", DENSE_METRICS),
                            ("curve_pooling", CURVE_POOLINGS),
                            ("context_spread", CURVE_POOLINGS),
                            ("context_prior", CONTEXT_PRIORS),
                            ("noise_decay", NOISE_DECAYS),
                            ("test_share", TEST_SHARES)):
            if getattr(self, name) not in valid:
                raise ConfigError(f"fit.{name}: unknown {name} {getattr(self, name)!r}; "
                                  f"valid: {list(valid)}")
        if self.seed_effects != "independent" and (self.likelihood != "logit"
                                                   or not self.random_effects):
            raise ConfigError(f"fit.seed_effects={self.seed_effects!r} needs the logit "
                              f"likelihood with the nested-design effects (likelihood='logit', "
                              f"random_effects=True); got likelihood={self.likelihood!r}, "
                              f"random_effects={self.random_effects}")
        if self.noise_decay != "none" and self.seed_effects == "centred":
            raise ConfigError(f"fit.{NOISE_DECAY_NEEDS}")
        if self.init_steps < 0 or not 1 <= self.max_tree_depth <= 12:
            raise ConfigError(f"fit.init_steps must be >= 0 and fit.max_tree_depth in 1..12, "
                              f"got {self.init_steps}, {self.max_tree_depth}")
        if self.adapt_window < 1 or self.adapt_init_buffer < 1:
            raise ConfigError(f"fit.adapt_window and fit.adapt_init_buffer must be >= 1, got "
                              f"{self.adapt_window}, {self.adapt_init_buffer}")
        if not 0 <= self.warmup_tree_depth <= 12:
            raise ConfigError(f"fit.warmup_tree_depth must be in 0..12 (0: max_tree_depth), "
                              f"got {self.warmup_tree_depth}")
        for name in ("num_warmup", "num_samples", "num_chains", "svi_steps"):
            if getattr(self, name) < 1:
                raise ConfigError(f"fit.{name} must be >= 1, got {getattr(self, name)}")
        require_positive("fit", learning_rate=self.learning_rate,
                         transfer_scale=self.transfer_scale, global_scale=self.global_scale,
                         context_scale=self.context_scale)
        if self.test_shared is not None and not 0 <= self.test_shared < 1:
            raise ConfigError(f"fit.test_shared must be in [0, 1), got {self.test_shared}")
        if (self.test_shared or 0) > 0 and self.test_noise == "none":
            raise ConfigError("fit.test_shared > 0 splits the test-set variance, which "
                              "test_noise='none' leaves out: use test_noise='observed'")
        if not 0 < self.target_accept < 1:
            raise ConfigError(f"fit.target_accept must be in (0, 1), got {self.target_accept}")
        if self.test_offsets == "integrated" and not (
                self.likelihood == "logit" and self.random_effects
                and self.seed_effects == "independent"):
            raise ConfigError(f"fit.{INTEGRATED_NEEDS}; got likelihood={self.likelihood!r}, "
                              f"random_effects={self.random_effects}, "
                              f"seed_effects={self.seed_effects!r}")


def _site_names(model, kwargs) -> tuple[list[str], list[str], dict[str, int]]:
    """Names of the latent and deterministic sites of ``model``, and each latent site's size
    (values on the support; abstract trace, no compile)."""
    names: dict[str, list[str]] = {"latent": [], "deterministic": []}
    sizes: dict[str, int] = {}

    def run():
        trace = numpyro.handlers.trace(numpyro.handlers.seed(model, 0)).get_trace(**kwargs)
        for name, site in trace.items():
            if site["type"] == "sample" and not site["is_observed"]:
                names["latent"].append(name)
                sizes[name] = int(np.prod(jnp.shape(site["value"])))
            elif site["type"] == "deterministic":
                names["deterministic"].append(name)
        return 0

    jax.eval_shape(run)
    return names["latent"], names["deterministic"], sizes


def _with_loglik(model, kwargs, latent, draws):
    """The pointwise log-likelihood of flat posterior ``draws`` (jit this).

    Pointwise means per row, or per (task, seed) trajectory when the likelihood integrates
    the nested-design effects out (:class:`~lcurve.curves.likelihood.NestedLogitNormal`).
    Returns ``(derived, loglik)``: ``derived`` holds ``test_z`` where the likelihood
    integrates the test-set offsets out and draws them (its ``offset_z``), computed here,
    once per draw, not inside the sampler; else it is empty.
    """
    def one(draw):
        seeded = numpyro.handlers.seed(numpyro.handlers.substitute(model, data=draw), 0)
        site = numpyro.handlers.trace(seeded).get_trace(**kwargs)[LIKELIHOOD_SITE]
        fn, value = site["fn"], site["value"]
        offsets = getattr(fn, "offset_z", None)
        derived = {} if offsets is None else {"test_z": offsets}
        split = getattr(fn, "pointwise", None)
        return (split(value) if split is not None else fn.log_prob(value)), derived

    loglik, derived = jax.vmap(one)({k: draws[k] for k in latent})
    return derived, loglik


class CurveFit:
    """A Bayesian multi-task learning-curve fit of one metric of a results table.

    Parameters
    ----------
    results : DataFrame
        Sweep results: ``task, metric, value, seed``, one ``n_<task>`` column per task, and
        optionally ``n_test, n_test_pos`` (test-set sizes, for the score's sampling noise).
    config : FitConfig, optional
        Model and inference settings; keyword arguments override its fields.
    """

    def __init__(self, results: pd.DataFrame, config: FitConfig | None = None, **options):
        self.config = dataclasses.replace(config or FitConfig(), **options)
        self.results = results
        self.idata: az.InferenceData | None = None
        self.svi_losses: np.ndarray | None = None
        self._data: CurveData | None = None
        self._meta: dict | None = None

    # ------------------------------------------------------------------ model plumbing
    @property
    def family(self):
        return get_family(self.config.family)

    @property
    def tasks(self) -> list[str]:
        return list(self._require()["tasks"])

    def _require(self) -> dict:
        if self._meta is None or self.idata is None:
            raise RuntimeError("this CurveFit has not been fitted yet; call .fit() first")
        return self._meta

    def _prepared(self) -> dict:
        """Validate the table and set up the model's static settings (no inference)."""
        if self._meta is None:
            cfg = self.config
            data = prepare(self.results, metric=cfg.metric, transfer=cfg.transfer,
                           use_all_rows=cfg.use_all_rows)
            if (cfg.test_shared or 0) > 0 and data.n_test is None:
                raise ConfigError("fit.test_shared > 0 needs each run's test-set size: the "
                                  "table has no n_test, n_test_pos columns")
            self._data = data
            self._meta = dict(tasks=list(data.tasks), n_ref=SIZE_UNIT,
                              has_n_test=data.n_test is not None, method=cfg.method,
                              n_subsample=data.n_subsample, n_trajectory=data.n_trajectory,
                              max_cells=data.max_cells, random_effects=cfg.random_effects,
                              likelihood=cfg.likelihood, seed_effects=cfg.seed_effects,
                              test_noise=cfg.test_noise,
                              test_shared=cfg.resolved_test_shared(data.n_test is not None),
                              test_share_slope=cfg.resolved_test_share_slope(
                                  data.n_test is not None),
                              pairwise_prior=cfg.resolved_pairwise_prior(),
                              curve_pooling=cfg.curve_pooling)
            if cfg.transfer == "contextual" and cfg.context_prior == "data":
                self._meta["context_ref"] = context_reference(
                    data.task, data.sizes, len(data.tasks)).tolist()
        return self._meta

    def _loglik_unit(self) -> str:
        """What one pointwise log-likelihood term covers: ``"obs"`` (a row), ``"trajectory"``
        (a task's seed, when the logit likelihood integrates the effects out) or ``"task"``
        (all its seeds, when those effects sum to zero within a task)."""
        meta = self._prepared()
        if not (meta.get("likelihood", "truncnormal") == "logit"
                and meta.get("random_effects", False) and meta.get("n_subsample", 0) > 0):
            return "obs"
        return ("trajectory" if meta.get("seed_effects", "independent") == "independent"
                else "task")

    def model(self):
        """The NumPyro model with this fit's static settings bound (call with data arrays)."""
        meta = self._prepared()
        cfg = self.config
        return functools.partial(
            curve_model, family=self.family, structure=cfg.transfer, n_tasks=len(meta["tasks"]),
            n_ref=meta["n_ref"], metric=cfg.metric, transfer_scale=cfg.transfer_scale,
            global_scale=cfg.global_scale, context_shift=cfg.context_shift,
            pair_shift=cfg.pair_shift,
            pairwise_prior=meta["pairwise_prior"], curve_pooling=meta["curve_pooling"],
            n_subsample=meta.get("n_subsample", 0), n_trajectory=meta.get("n_trajectory", 0),
            max_cells=meta.get("max_cells", 0), random_effects=meta.get("random_effects", False),
            centred_curves=cfg.centred_curves, zero_sum_curves=cfg.zero_sum_curves,
            context_spread=cfg.context_spread, context_prior=cfg.context_prior,
            context_scale=cfg.context_scale,
            likelihood=meta.get("likelihood", "truncnormal"),  # fits saved before "logit"
            seed_effects=meta.get("seed_effects", "independent"),
            test_noise=meta.get("test_noise", "curve"),  # fits saved before "observed"
            test_shared=meta.get("test_shared", 0.0), test_offsets=cfg.test_offsets,
            noise_decay=cfg.noise_decay, test_share_slope=meta.get("test_share_slope", 0.0))

    def _model_key(self) -> tuple:
        """Key of the compiled programs of this fit's model (with the data's shapes): its
        static settings, exactly those bound in :meth:`model` (the family by name)."""
        keywords = self.model().keywords
        return (self.config.family, *sorted((k, v) for k, v in keywords.items()
                                            if k != "family"))

    def model_args(self, data: CurveData, *, observed: bool = True,
                   groups: bool | None = None) -> dict:
        """Keyword arguments of :meth:`model` for ``data`` (``value=None`` if not observed).

        ``groups`` (default: ``observed``) passes the nested-design group indices; without
        them the model predicts new runs (new subsamples, new seeds).
        """
        meta = self._prepared()
        has_test = meta["has_n_test"]
        groups = observed if groups is None else groups
        with_groups = groups and data.subsample is not None
        points = design_points(data.task, data.sizes) if SHARE_DESIGN_POINTS else None
        point, point_task, point_sizes = ((None,) * 3 if points is None
                                          else (jnp.asarray(a) for a in points))
        return dict(task=jnp.asarray(data.task), sizes=jnp.asarray(data.sizes),
                    point=point, point_task=point_task, point_sizes=point_sizes,
                    n_test=jnp.asarray(data.n_test) if has_test else None,
                    n_test_pos=jnp.asarray(data.n_test_pos) if has_test else None,
                    value=jnp.asarray(data.value) if observed else None,
                    subsample=jnp.asarray(data.subsample) if with_groups else None,
                    trajectory=jnp.asarray(data.trajectory) if with_groups else None,
                    test_score=(jnp.asarray(observed_test_score(data.task, data.sizes,
                                                                data.value))
                                if observed and has_test else None),
                    context_ref=(jnp.asarray(meta["context_ref"]) if "context_ref" in meta
                                 else None))

    # ------------------------------------------------------------------ fitting
    def fit(self) -> CurveFit:
        """Run inference; return ``self`` with ``idata`` filled in."""
        cfg = self.config
        if cfg.method == "svi" and cfg.random_effects and cfg.likelihood == "truncnormal":
            warnings.warn(
                "SVI with random_effects=True and likelihood='truncnormal': the mean-field guide "
                "can let the sampled per-(task, seed, size) effects absorb the learning curve "
                "(flat fitted curves; seen on the MoleculeACE demo). Use likelihood='logit' "
                "(effects integrated out), random_effects=False, or method='nuts'.",
                _summaries.CurveFitWarning, stacklevel=2)
        if cfg.noise_decay == "learned" and cfg.transfer not in NOISE_DECAY_CALIBRATED:
            warnings.warn(
                f"noise_decay='learned' has passed simulation-based calibration only for "
                f"transfer in {NOISE_DECAY_CALIBRATED}; with transfer={cfg.transfer!r} its "
                "intervals are not checked (contextual: over 600 simulated tables the ranks "
                "of c_mu, test_z and curve_max were not uniform; experiments/curves/RESULTS.md "
                "AD2, AE2).",
                _summaries.CurveFitWarning, stacklevel=2)
        self._meta = None
        self._prepared()
        data = self._data
        model, kwargs = self.model(), self.model_args(data)
        key = jax.random.PRNGKey(cfg.seed)
        latent, deterministic, sizes = _site_names(model, kwargs)
        self._meta["latent"] = latent
        stats = None
        model_key = self._model_key()
        if cfg.method == "nuts":
            dense_sites = {s for s in latent
                           if s not in ("subsample_z", "trajectory_z", "hs_local")}
            samples, stats = run_nuts(
                model, kwargs, model_key=model_key, key=key, num_warmup=cfg.num_warmup,
                num_samples=cfg.num_samples, num_chains=cfg.num_chains,
                target_accept=cfg.target_accept, init_steps=cfg.init_steps,
                dense_sites=dense_sites, site_sizes=sizes,
                max_tree_depth=cfg.max_tree_depth, warmup_tree_depth=cfg.warmup_tree_depth,
                chain_method=cfg.chain_method, adapt_window=cfg.adapt_window,
                init_strategy=cfg.resolved_init_strategy(), init_buffer=cfg.adapt_init_buffer,
                dense_metric=cfg.dense_metric)
        else:
            fit_key, draw_key = jax.random.split(key)
            guide, params, self.svi_losses = run_svi(
                model, kwargs, model_key=model_key, guide=cfg.guide, steps=cfg.svi_steps,
                learning_rate=cfg.learning_rate, key=fit_key,
                init_strategy=cfg.resolved_init_strategy())
            sites = latent + deterministic

            def draw(k, params, kw):  # the fitting model (scores observed): its deterministic
                draws = Predictive(model, guide=guide, params=params,  # sites too
                                   num_samples=cfg.num_samples, return_sites=sites)(k, **kw)
                derived, loglik = _with_loglik(model, kw, latent, draws)
                return {**draws, **derived}, loglik

            # compiled once per guide and model shape, the guide's parameters and the data
            # arguments (they were the constants of a new program at every fit); the entry
            # holds its guide, so the guide's id is not reused while it is cached
            drawer = _cached(("svi_draw", id(guide), model_key, cfg.num_samples, tuple(sites),
                              _shapes(kwargs)), lambda: jax.jit(draw))
            draws, loglik = drawer(draw_key, params, kwargs)
            samples = {k: v[None] for k, v in draws.items() if k != "expected_score"}
        n_chains = next(iter(samples.values())).shape[0]
        if cfg.method == "nuts":
            flat = {k: v.reshape((-1,) + v.shape[2:]) for k, v in samples.items() if k in latent}
            # compiled once per model shape, the data an argument (as the sampler's)
            pointwise = _cached(("loglik", model_key, tuple(latent), _shapes(kwargs)),
                                lambda: jax.jit(lambda s, kw: _with_loglik(model, kw, latent, s)))
            derived, loglik = pointwise(flat, kwargs)
            samples.update({k: np.asarray(v).reshape((n_chains, -1) + v.shape[1:])
                            for k, v in derived.items()})
        loglik = np.asarray(loglik)
        loglik = loglik.reshape(n_chains, -1, loglik.shape[-1])
        self.idata = self._to_idata(samples, loglik, stats, data)
        return self

    def _to_idata(self, samples, loglik, stats, data: CurveData) -> az.InferenceData:
        tasks = list(data.tasks)
        rows, cols = offdiag_index(len(tasks))
        pairs = [f"{tasks[j]}->{tasks[i]}" for i, j in zip(np.asarray(rows), np.asarray(cols))]
        dims = {name: ["task"] for name in samples
                if name in _TASK_SITES or name in self.family.param_names
                or (name.endswith("_z") and name[:-2] in self.family.param_names)
                or (name.endswith("_raw") and name[:-4] in self.family.param_names)}
        dims.update(_GROUP_SITES)
        dims.update(transfer=["target", "source"], transfer_z=["pair"], hs_local=["pair"],
                    **{LIKELIHOOD_SITE: ["obs"]}, task_index=["obs"], sizes=["obs", "task"],
                    n_test=["obs"], n_test_pos=["obs"], seed=["obs"])
        coords = dict(task=tasks, source=tasks, target=tasks, pair=pairs,
                      obs=np.arange(data.n_obs))
        constant = dict(task_index=data.task, sizes=data.sizes, seed=np.asarray(data.seed, float))
        if data.subsample is not None:
            constant.update(subsample_index=data.subsample, trajectory_index=data.trajectory)
            dims.update(subsample_index=["obs"], trajectory_index=["obs"])
        if data.n_test is not None:
            constant.update(n_test=data.n_test, n_test_pos=data.n_test_pos)
        unit = self._loglik_unit()
        idata = az.from_dict(
            posterior={k: np.asarray(v) for k, v in samples.items()},
            log_likelihood={LIKELIHOOD_SITE: loglik} if unit == "obs" else None,
            sample_stats=stats, observed_data={LIKELIHOOD_SITE: data.value},
            constant_data=constant, coords=coords, dims=dims)
        if unit != "obs":  # the observed scores keep dim obs; the log-likelihood has its own
            idata.extend(az.from_dict(
                log_likelihood={LIKELIHOOD_SITE: loglik},
                coords={unit: tasks if unit == "task" else np.arange(loglik.shape[-1])},
                dims={LIKELIHOOD_SITE: [unit]}))
        meta = {**self._meta, "config": self.config.to_dict()}
        if self.svi_losses is not None:
            meta["svi_final_loss"] = float(self.svi_losses[-1])
        idata.attrs["lcurve_fit"] = json.dumps(meta)
        return idata

    # ------------------------------------------------------------------ persistence
    def save(self, path: str | Path) -> Path:
        """Write the posterior and the fit's settings to an ArviZ netCDF file, atomically
        (an interrupted save leaves the previous file, never a partial one)."""
        self._require()
        path = Path(path)
        with atomic_path(path) as tmp:
            self.idata.to_netcdf(str(tmp))
        return path

    # ------------------------------------------------------------------ results
    def prior_predictive(self, *, num_samples: int = 200, hdi_prob: float = 0.9,
                         seed: int | None = None) -> pd.DataFrame:
        """Prior predictive check at the table's observations (no fit needed); see
        :func:`lcurve.curves.checks.prior_predictive`."""
        from lcurve.curves.checks import prior_predictive

        return prior_predictive(self, num_samples=num_samples, hdi_prob=hdi_prob, seed=seed)

    def transfer_matrix(self, *, hdi_prob: float = 0.9) -> pd.DataFrame:
        """The shared transfer table ``source, target, mean, sd, se, hdi_low, hdi_high, n,
        p_positive`` (``sd`` = posterior sd; ``se``, ``n`` NaN) plus ``n_obs``."""
        return _summaries.transfer_matrix(self, hdi_prob=hdi_prob)

    def curve_params(self, *, hdi_prob: float = 0.9) -> pd.DataFrame:
        """Tidy ``task, parameter, mean, sd, hdi_low, hdi_high`` of the per-task curve params."""
        return _summaries.curve_params(self, hdi_prob=hdi_prob)

    def summary(self, *, hdi_prob: float = 0.9) -> pd.DataFrame:
        """``az.summary`` of the interpretable quantities (curve params, transfer, noise)."""
        return _summaries.summary(self, hdi_prob=hdi_prob)

    def diagnostics(self, *, max_rhat: float = 1.01, min_ess: float = 100.0):
        """R-hat, ESS and divergences of the sampled sites; warns when they look bad."""
        return _summaries.diagnostics(self, max_rhat=max_rhat, min_ess=min_ess)

    def predict(self, sizes, *, hdi_prob: float = 0.9, seed: int | None = None) -> pd.DataFrame:
        """Posterior predictive scores at new per-task training sizes (see :mod:`planning`)."""
        return planning.predict(self, sizes, hdi_prob=hdi_prob, seed=seed)

    def curve_gaps(self, **options) -> pd.DataFrame:
        """Mean gap between each task's runs and its fitted curve (:func:`planning.curve_gaps`)."""
        return planning.curve_gaps(self, **options)

    def context_reach(self, **options) -> pd.DataFrame:
        """How far transfer places each task's runs with other tasks along its curve, against
        its largest run alone (:func:`planning.context_reach`)."""
        return planning.context_reach(self, **options)

    def required_samples(self, task: str, target_score: float, **options) -> pd.DataFrame:
        """Posterior of the samples of ``task`` needed to reach ``target_score``."""
        return planning.required_samples(self, task, target_score, **options)

    def findings(self, *, target_score: float | None = None, top: int = 2,
                 hdi_prob: float = 0.9, alternatives=(), lfo=None) -> pd.DataFrame:
        """What the fit says in plain sentences, one row per finding (:mod:`.findings`;
        ``alternatives``: fits of other families to stack with it where it extrapolates;
        ``lfo``: a :func:`~lcurve.curves.checks.leave_future_out` table of the same runs)."""
        from lcurve.curves.findings import fit_findings

        return fit_findings(self, target_score=target_score, top=top, hdi_prob=hdi_prob,
                            alternatives=alternatives, lfo=lfo)

    def __repr__(self) -> str:
        state = "fitted" if self.idata is not None else "not fitted"
        return (f"CurveFit(family={self.config.family!r}, transfer={self.config.transfer!r}, "
                f"method={self.config.method!r}, {state})")


def fit_curves(results: pd.DataFrame, *, family: str = "pow4", transfer: str = "pairwise",
               method: str = "nuts", metric: str = "auroc", seed: int = 0, **options) -> CurveFit:
    """Fit multi-task learning curves to a results table; ``CurveFit(...).fit()`` in one call.

    Parameters
    ----------
    results : DataFrame
        ``task, metric, value, seed`` and one ``n_<task>`` column per task (``n_test``,
        ``n_test_pos`` optional). Rows with a missing score are dropped with a warning.
    family : str
        Curve family, one of ``lcurve.curves.FAMILIES`` (``exp3``, ``pow3``, ``pow4``, ``exp4``,
        ``mmf``, ``weibull``, ``ilog2``, ``logpower3``); default ``pow4`` (see :class:`FitConfig`).
    transfer : {"none", "contextual", "pairwise", "joint"}
        Transfer structure.
    method : {"nuts", "svi"}
        Inference method.
    **options
        Further :class:`FitConfig` fields (``num_warmup``, ``num_samples``, ``svi_steps``, ...).

    Example
    -------
    >>> from lcurve.curves import simulate_results
    >>> table, _ = simulate_results(n_tasks=2, seed=1)
    >>> fit = fit_curves(table, transfer="none", method="svi", svi_steps=200)
    >>> sorted(fit.curve_params()["parameter"].unique())  # the default family, pow4
    ['a', 'alpha', 'b', 'c']
    """
    config = FitConfig(family=family, transfer=transfer, method=method, metric=metric, seed=seed,
                       **options)
    return CurveFit(results, config).fit()


def load_fit(path: str | Path) -> CurveFit:
    """Read a fit written by :meth:`CurveFit.save` (predict and plan without refitting)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no fit file at {path}")
    idata = az.from_netcdf(str(path))
    if "lcurve_fit" not in idata.attrs:
        raise ValueError(f"{path} is not an lcurve fit (no 'lcurve_fit' attribute)")
    meta = json.loads(idata.attrs["lcurve_fit"])
    config = meta.pop("config")
    config.setdefault("pairwise_prior", "fixed")  # fits saved before the field: fixed scale
    meta.setdefault("pairwise_prior", "fixed")
    config.setdefault("curve_pooling", "learned")  # fits saved before the field: learned
    config.setdefault("context_spread", "learned")  # likewise the context rates' spread
    config.setdefault("zero_sum_curves", False)  # fits saved before the field: iid z
    config.setdefault("warmup_tree_depth", 0)  # before the field: as deep as the draws'
    config.setdefault("adapt_window", 25)  # before these fields: numpyro's schedule and start
    config.setdefault("init_strategy", "uniform")
    config.setdefault("adapt_init_buffer", 75)  # before these fields: Stan's buffer and metric
    config.setdefault("dense_metric", "always")
    config.setdefault("test_offsets", "sampled")  # before the field: the only way
    config.setdefault("context_prior", "rate")  # before the field: the prior on the rate
    config.setdefault("noise_decay", "none")  # before the field: the same noise at every size
    config.setdefault("test_share", "constant")  # before the field: one share at every size
    meta.setdefault("curve_pooling", "learned")
    if "test_share_decay" in meta:  # lcurve of 2026-12-07 only: the share's power-law form
        raise ValueError(f"{path} was fitted with test_share='by_size' in its earlier "
                         "power-law form, which lcurve no longer has; refit it")
    if "test_shared" not in meta:  # fits saved before the field: no shared offset
        meta["test_shared"] = config["test_shared"] = 0.0
    fit = CurveFit(pd.DataFrame(), FitConfig.from_dict(config))
    fit.idata, fit._meta = idata, meta
    return fit
