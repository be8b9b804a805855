"""Checked linear solves ``(C + damping I) x = b`` for influence functions.

Influence functions are only as good as the inverse-curvature products under them, so every
solve here returns its own evidence: the relative residual ``||(C + damping I) x - b|| / ||b||``
recomputed with the full operator after the solver stops (``jax.scipy.sparse.linalg.cg``
discards its convergence information, so it is not used), the iterations it took, and whether
it met negative curvature. :func:`check_solves` turns that evidence into an error (or a loud
warning) before any influence is computed from a bad solve.

Solvers (the :data:`SOLVERS` registry):

``"cg"``
    Conjugate gradients (Hestenes & Stiefel 1952; Nocedal & Wright 2006, Algorithm 5.2). CG is
    only valid for a symmetric positive-definite operator; a search direction with
    ``p^T A p <= 0`` proves the operator indefinite (Steihaug 1983) and is reported as
    ``negative_curvature`` (the iteration stops there).
``"lissa"``
    LiSSA (Agarwal, Bullins & Hazan 2017, Algorithm 1; as used by Koh & Liang 2017, Sec. 3):
    the truncated Neumann series ``A^-1 = sum_j (I - A / s)^j / s`` written as the recursion
    ``y_j = b / s + y_{j-1} - A_j y_{j-1} / s`` with ``A_j`` a full-batch or mini-batch
    estimate of ``A``, averaged over ``repeats`` independent recursions. It converges when
    every eigenvalue of ``A`` lies in ``(0, 2 s)``; with a negative eigenvalue it diverges,
    which the residual check catches. (:class:`~lcurve.influence.MTIF` with
    ``lissa_scale=None`` sets ``s`` to 1.5 times the largest eigenvalue found by
    :func:`largest_eigenvalue`.)

Example
-------
>>> import jax.numpy as jnp
>>> a = jnp.array([[3.0, 1.0], [1.0, 2.0]])
>>> out = cg(lambda v: a @ v, jnp.array([[1.0, 0.0]]), tol=1e-6, max_iter=10)
>>> bool(out.relative_residual[0] < 1e-5), bool(out.negative_curvature[0])
(True, False)
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["IndefiniteCurvatureError", "InfluenceSolveError", "InfluenceWarning", "SOLVERS",
           "SolveResult", "check_solves", "cg", "cg_arrays", "largest_eigenvalue", "lissa",
           "lissa_arrays"]


class InfluenceSolveError(RuntimeError):
    """A solve (or the fit under it) is not good enough to compute influences from."""


class IndefiniteCurvatureError(InfluenceSolveError):
    """The curvature operator has a direction with ``v^T (C + damping I) v <= 0``."""


class InfluenceWarning(UserWarning):
    """A failed check that the caller chose to be warned about instead of stopped by."""


@dataclasses.dataclass(frozen=True)
class SolveResult:
    """Solutions and evidence of a batch of solves (one row per right-hand side)."""

    solution: jnp.ndarray  # (n_rhs, P)
    relative_residual: np.ndarray  # (n_rhs,) ||A x - b|| / ||b||, recomputed after the solve
    iterations: np.ndarray  # (n_rhs,)
    negative_curvature: np.ndarray  # (n_rhs,) bool: p^T A p <= 0 met (CG) or diverged (LiSSA)


def _relative_residual(matvec, x, b):
    r = jax.vmap(matvec)(x) - b
    return jnp.linalg.norm(r, axis=1) / jnp.maximum(jnp.linalg.norm(b, axis=1), 1e-30)


def cg(matvec: Callable, rhs, *, tol: float = 1e-5, max_iter: int = 500) -> SolveResult:
    """Conjugate gradients for ``A x = b`` with each row of ``rhs`` as a ``b`` (vmapped).

    Parameters
    ----------
    matvec
        ``v -> A v`` for a flat vector (damping already included), traceable by JAX.
    rhs
        ``(n_rhs, P)`` right-hand sides.
    tol
        Stop when the recursive residual falls below ``tol * ||b||``.
    max_iter
        Iteration cap.

    Returns
    -------
    SolveResult
        The residual is recomputed with ``matvec`` (the recursive one drifts in float32).
    """
    rhs = jnp.atleast_2d(jnp.asarray(rhs))
    out = jax.jit(lambda b: cg_arrays(matvec, b, tol=tol, max_iter=max_iter))(rhs)
    return SolveResult(out[0], *(np.asarray(o) for o in out[1:]))


def cg_arrays(matvec, rhs, *, tol, max_iter):
    """:func:`cg` as traceable arrays ``(x, relative_residual, iterations, negative_curvature)``
    (for use inside a caller's ``jit``)."""
    tol = jnp.asarray(tol, rhs.dtype)
    def one(b):
        bound = (tol * jnp.linalg.norm(b)) ** 2

        def cond(state):
            _, r, _, rr, k, neg = state
            return (rr > bound) & (k < max_iter) & ~neg

        def body(state):
            x, r, p, rr, k, _ = state
            ap = matvec(p)
            curvature = p @ ap
            neg = curvature <= 0
            alpha = jnp.where(neg, 0.0, rr / jnp.where(neg, 1.0, curvature))
            x = x + alpha * p
            r = r - alpha * ap
            rr_new = r @ r
            p = r + (rr_new / jnp.maximum(rr, 1e-38)) * p
            return x, r, p, rr_new, k + 1, neg

        zero = jnp.zeros_like(b)
        x, _, _, _, k, neg = jax.lax.while_loop(
            cond, body, (zero, b, b, b @ b, jnp.int32(0), jnp.bool_(False)))
        return x, k, neg

    x, k, neg = jax.vmap(one)(rhs)
    return x, _relative_residual(matvec, x, rhs), k, neg


def largest_eigenvalue(matvec: Callable, size: int, key, *, iterations: int = 50) -> float:
    """Largest-magnitude eigenvalue of a symmetric operator by power iteration (Rayleigh quotient)."""
    v = jax.random.normal(key, (size,))

    def body(_, v):
        w = matvec(v)
        return w / jnp.maximum(jnp.linalg.norm(w), 1e-30)

    v = jax.lax.fori_loop(0, iterations, body, v / jnp.linalg.norm(v))
    return float(v @ matvec(v))


def lissa(matvec: Callable, rhs, *, scale: float, depth: int = 1000, repeats: int = 1,
          sample_matvec: Callable | None = None, key=None) -> SolveResult:
    """LiSSA estimate of ``A^-1 b`` for each row of ``rhs`` (Agarwal et al. 2017, Alg. 1).

    Parameters
    ----------
    matvec
        ``v -> A v`` with the full data (used for the residual and, without
        ``sample_matvec``, for the recursion: the deterministic Neumann series).
    rhs
        ``(n_rhs, P)`` right-hand sides.
    scale
        ``s`` in ``y_j = b / s + y_{j-1} - A_j y_{j-1} / s``; needs ``s > lambda_max(A) / 2``
        (``s >= lambda_max`` in Koh & Liang's setting).
    depth
        Recursion depth ``j`` (Agarwal et al.'s ``S_2``).
    repeats
        Independent recursions averaged (``S_1``); only useful with ``sample_matvec``.
    sample_matvec
        ``(v, key) -> A_j v``: an unbiased mini-batch estimate of ``A v``.
    key
        PRNG key of the mini-batch draws (required with ``sample_matvec``).

    Returns
    -------
    SolveResult
        ``negative_curvature`` flags a recursion that diverged (non-finite or residual > 1),
        the signature of an eigenvalue outside ``(0, 2 s)``.
    """
    rhs = jnp.atleast_2d(jnp.asarray(rhs))
    if not scale > 0:
        raise ValueError(f"lissa scale must be > 0, got {scale!r}")
    if sample_matvec is not None and key is None:
        raise ValueError("lissa with sample_matvec needs a key")
    out = jax.jit(lambda b: lissa_arrays(matvec, b, scale=scale, depth=depth, repeats=repeats,
                                         sample_matvec=sample_matvec, key=key))(rhs)
    return SolveResult(out[0], *(np.asarray(o) for o in out[1:]))


def lissa_arrays(matvec, rhs, *, scale, depth, repeats=1, sample_matvec=None, key=None):
    """:func:`lissa` as traceable arrays (for use inside a caller's ``jit``)."""
    if sample_matvec is None:
        sample_matvec = lambda v, _key: matvec(v)  # noqa: E731
        repeats = 1
    key = jax.random.key(0) if key is None else key
    s = jnp.asarray(scale, rhs.dtype)

    def one(b, k):
        def body(j, y):
            return b / s + y - sample_matvec(y, jax.random.fold_in(k, j)) / s

        return jax.lax.fori_loop(0, int(depth), body, b / s)

    keys = jax.random.split(key, (int(repeats), rhs.shape[0]))
    x = jnp.mean(jnp.stack([jax.vmap(one)(rhs, keys[r]) for r in range(int(repeats))]), axis=0)
    res = _relative_residual(matvec, x, rhs)
    diverged = ~jnp.isfinite(res) | (res > 1.0)
    return x, res, jnp.full(rhs.shape[0], int(depth), jnp.int32), diverged


SOLVERS = ("cg", "lissa")


def check_solves(result: SolveResult, *, max_residual: float, on_failure: str,
                 what: str = "solve") -> None:
    """Raise (or warn, ``on_failure="warn"``) when a solve met negative curvature or its
    relative residual exceeds ``max_residual``."""
    if on_failure not in ("raise", "warn"):
        raise ValueError(f"on_failure must be 'raise' or 'warn', got {on_failure!r}")
    worst = float(np.nanmax(result.relative_residual)) if len(result.relative_residual) else 0.0
    message = None
    error = InfluenceSolveError
    if result.negative_curvature.any():
        error = IndefiniteCurvatureError
        message = (f"{what}: the curvature is not positive definite "
                   f"({int(result.negative_curvature.sum())} of {len(result.negative_curvature)} "
                   f"solves met v^T (C + damping I) v <= 0 or diverged; worst relative residual "
                   f"{worst:.3g}). Use curvature='gauss_newton' (positive semi-definite), raise "
                   "damping, or fit to a minimum.")
    elif not worst <= max_residual:
        message = (f"{what}: relative residual {worst:.3g} exceeds max_residual="
                   f"{max_residual:g}; raise max_iter / depth or damping")
    if message is None:
        return
    if on_failure == "raise":
        raise error(message)
    warnings.warn("INFLUENCES UNRELIABLE: " + message, InfluenceWarning, stacklevel=3)
    logger.warning(message)
