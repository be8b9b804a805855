"""The hard-parameter-sharing network: a shared MLP trunk and one logistic head per task."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax.numpy as jnp

__all__ = ["MultiTaskMLP"]


class MultiTaskMLP(nn.Module):
    """Shared dense ReLU trunk, then one linear head (a logit) per task.

    The ``n_tasks`` heads are stored as one ``Dense(n_tasks)`` kernel: column ``k`` is task
    ``k``'s head, so heads share no parameters (hard parameter sharing happens in the trunk).

    Example
    -------
    >>> import jax, jax.numpy as jnp
    >>> model = MultiTaskMLP(hidden=(8,), n_tasks=3)
    >>> params = model.init(jax.random.key(0), jnp.zeros((1, 5)))
    >>> model.apply(params, jnp.ones((2, 5))).shape
    (2, 3)
    """

    hidden: Sequence[int]
    n_tasks: int

    @nn.compact
    def __call__(self, x: jnp.ndarray) -> jnp.ndarray:
        return self.heads(self.trunk(x))

    def trunk(self, x: jnp.ndarray) -> jnp.ndarray:
        for i, width in enumerate(self.hidden):
            x = nn.relu(nn.Dense(width, name=f"trunk_{i}")(x))
        return x

    def heads(self, h: jnp.ndarray) -> jnp.ndarray:
        return nn.Dense(self.n_tasks, name="heads")(h)
