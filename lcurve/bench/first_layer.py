"""Dense matmul vs gather-sum for the first layer on sparse binary fingerprints.

For a binary row ``x``, ``x @ W`` is the sum of the rows of ``W`` at ``x``'s active columns,
so a Morgan fingerprint (~50 of 2048 bits on) needs ~40x fewer multiply-adds as a gather-sum.
This module measures whether that wins in practice, on the trainer's real shapes: the
forward and the kernel gradient of one step, for one run alone and for ``vmap_width`` runs
side by side, plus the gather-sum with a custom backward (dense ``x^T g``) that avoids XLA's
scatter-add. It also checks the gather-sum equals the dense layer within float tolerance.

The result decides :class:`lcurve.train.RunTrainer`'s first layer: see
``experiments/benchmarks/RESULTS.md`` (on the 2-core CPU the gather lost, so the trainer
keeps the dense matmul).
"""

from __future__ import annotations

import time

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["gather_sum", "measure_first_layer", "sparse_rows"]


def sparse_rows(X: np.ndarray, *, multiple: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Active columns of binary rows: ``(index int32, weight float32)``, padded with weight 0.

    Example
    -------
    >>> index, weight = sparse_rows(np.array([[0, 1, 1], [1, 0, 0]]), multiple=2)
    >>> index.tolist(), weight.tolist()
    ([[1, 2], [0, 0]], [[1.0, 1.0], [1.0, 0.0]])
    """
    counts = X.sum(axis=1).astype(np.int64)
    width = max(multiple, int(np.ceil(max(int(counts.max(initial=0)), 1) / multiple) * multiple))
    index = np.zeros((len(X), width), np.int32)
    weight = np.zeros((len(X), width), np.float32)
    rows, cols = np.nonzero(X)
    slot = np.arange(len(rows)) - np.repeat(np.cumsum(counts) - counts, counts)
    index[rows, slot] = cols
    weight[rows, slot] = 1.0
    return index, weight


def gather_sum(kernel, index, weight):
    """``x @ kernel`` for binary ``x`` given as its active ``index`` (``weight`` 0 = padding)."""
    return jnp.einsum("ba,bah->bh", weight, kernel[index])


@jax.custom_vjp
def _gather_sum_dense_grad(kernel, index, weight):
    return gather_sum(kernel, index, weight)


def _fwd(kernel, index, weight):
    return gather_sum(kernel, index, weight), (index, weight, kernel.shape[0])


def _bwd(res, g):
    index, weight, n_features = res
    rows = jnp.arange(index.shape[0])[:, None]
    x = jnp.zeros((index.shape[0], n_features), g.dtype).at[rows, index].add(weight)
    return x.T @ g, None, None


_gather_sum_dense_grad.defvjp(_fwd, _bwd)


def _median_ms(fn, args, repeats: int) -> float:
    jax.block_until_ready(fn(*args))
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def measure_first_layer(X: np.ndarray, *, hidden: int = 128, batch_size: int = 64,
                        widths=(1, 8), repeats: int = 20, seed: int = 0) -> dict:
    """Time forward + kernel gradient of the first layer, dense vs gather, per step.

    ``X`` is the binary feature matrix (e.g. MoleculeACE's Morgan bits); each measured step
    draws ``batch_size`` of its rows. Returns milliseconds per step (``width`` runs) per
    variant, interleaved per repeat, and the largest relative difference gather vs dense.
    """
    rng = np.random.default_rng(seed)
    index_all, weight_all = sparse_rows(X)
    n_features = X.shape[1]
    out = {"n_features": n_features, "max_active": int(X.sum(1).max()),
           "mean_active": float(X.sum(1).mean()), "padded_active": int(index_all.shape[1]),
           "batch_size": batch_size, "hidden": hidden, "widths": {}}
    for width in widths:
        pick = rng.integers(0, len(X), (width, batch_size))
        dense = jnp.asarray(X[pick].astype(np.float32))
        index, weight = jnp.asarray(index_all[pick]), jnp.asarray(weight_all[pick])
        kernel = jax.random.normal(jax.random.key(seed), (width, n_features, hidden)) * 0.02

        def loss(layer):
            return lambda k, *x: jnp.sum(jax.nn.relu(layer(k, *x)) ** 2)

        variants = {
            "dense": (jax.jit(jax.vmap(jax.value_and_grad(loss(lambda k, x: x @ k)))),
                      (kernel, dense)),
            "gather": (jax.jit(jax.vmap(jax.value_and_grad(loss(gather_sum)))),
                       (kernel, index, weight)),
            "gather_dense_grad": (jax.jit(jax.vmap(jax.value_and_grad(
                loss(_gather_sum_dense_grad)))), (kernel, index, weight)),
        }
        ref = np.asarray(variants["dense"][0](*variants["dense"][1])[1])
        row = {}
        for name, (fn, args) in variants.items():
            grad = np.asarray(fn(*args)[1])
            scale = np.abs(ref).max() or 1.0
            row[name] = {"max_rel_grad_diff": float(np.abs(grad - ref).max() / scale), "ms": []}
        for _ in range(3):  # interleave rounds of each variant
            for name, (fn, args) in variants.items():
                row[name]["ms"].append(_median_ms(fn, args, max(1, repeats // 3)))
        for name in row:
            row[name]["ms_per_step"] = float(np.median(row[name].pop("ms")))
            row[name]["speedup_vs_dense"] = (row["dense"]["ms_per_step"]
                                             / row[name]["ms_per_step"])
        out["widths"][str(width)] = row
    return out
