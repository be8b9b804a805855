"""Curvature-vector products of the influence objective ``J`` (see :mod:`lcurve.influence._fit`).

Both are matrix-free products ``C v`` for a flat parameter vector ``v``, written once as pure
functions of ``(model, unravel, flat, problem, v)`` with ``problem = (X, Y, weights, task_scale,
l2)``, and registered in :data:`CURVATURE_PRODUCTS`:

``"gauss_newton"``
    The generalised Gauss-Newton matrix (Schraudolph 2002; Martens 2020, Sec. 8)
    ``G = sum_z c_z w_z sigma_z (1 - sigma_z) grad f_z grad f_z^T + l2 I``, with ``f_z`` the
    label's logit: positive semi-definite by construction (positive definite for ``l2 > 0``).
    For the Bernoulli likelihood with its canonical logit link it equals the Fisher information
    (Martens 2020, Sec. 9.2). Computed as ``J^T (D (J v))`` with one ``jax.jvp`` and one
    ``jax.vjp`` of the logits.
``"hessian"``
    The exact Hessian ``H = G + sum_z c_z w_z (sigma_z - y_z) grad^2 f_z``, forward over
    reverse (``jax.jvp`` of ``jax.grad``). Away from a minimum, and even at one for a ReLU
    network, the second term can make ``H`` indefinite.

Example
-------
>>> import jax, jax.numpy as jnp
>>> from jax.flatten_util import ravel_pytree
>>> from lcurve.train import MultiTaskMLP
>>> model = MultiTaskMLP(hidden=(3,), n_tasks=2)
>>> X = jax.random.normal(jax.random.key(0), (5, 4))
>>> flat, unravel = ravel_pytree(model.init(jax.random.key(1), X))
>>> problem = (X, jnp.ones((5, 2)), jnp.ones((5, 2)), jnp.full(2, 0.1), 0.01)
>>> v = jnp.ones_like(flat)
>>> float(v @ gauss_newton_product(model, unravel, flat, problem, v)) > 0
True
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from lcurve.influence._fit import objective

__all__ = ["CURVATURE_PRODUCTS", "dense_curvature", "gauss_newton_product", "hessian_product", "objective_flat"]


def objective_flat(model, unravel, flat, problem):
    """``J`` at a flat parameter vector."""
    X, Y, weights, task_scale, l2 = problem
    return objective(model, unravel(flat), X, Y, weights, task_scale, l2)


def gauss_newton_product(model, unravel, flat, problem, v):
    """``G v``: the (positive semi-definite) Gauss-Newton / Fisher product."""
    X, _, weights, task_scale, l2 = problem

    def logits(p):
        return model.apply(unravel(p), X)

    out, jv = jax.jvp(logits, (flat,), (v,))
    s = jax.nn.sigmoid(out)
    d = weights * task_scale[None, :] * s * (1.0 - s)
    _, pullback = jax.vjp(logits, flat)
    return pullback(d * jv)[0] + l2 * v


def hessian_product(model, unravel, flat, problem, v):
    """``H v``: the exact Hessian product (forward over reverse)."""
    grad = jax.grad(lambda p: objective_flat(model, unravel, p, problem))
    return jax.jvp(grad, (flat,), (v,))[1]


CURVATURE_PRODUCTS = {"gauss_newton": gauss_newton_product, "hessian": hessian_product}


def dense_curvature(model, unravel, flat, problem, *, curvature: str = "gauss_newton"):
    """The explicit ``P x P`` curvature matrix (tiny models only, for checks)."""
    product = CURVATURE_PRODUCTS[curvature]
    basis = jnp.eye(flat.size, dtype=flat.dtype)
    return jax.jit(jax.vmap(lambda e: product(model, unravel, flat, problem, e)))(basis)
