"""Registry of learning-curve families: pure ``jnp`` functions with named parameters.

A family maps a sample size in a fixed unit, ``x = n_eff / SIZE_UNIT`` (thousands of training
samples, the same for every fit: fitting a prefix of the sizes never changes what a prior
means), and a dict of per-task parameters to the expected score. Every family has an asymptote parameter called ``c`` (the score reached with
unlimited data), and is increasing in ``x`` for parameters in their support.

Each parameter carries a *link* from an unconstrained real (where the hierarchical prior lives)
to its support, and the location and scale of the population prior on that unconstrained value.

Example
-------
>>> import jax.numpy as jnp
>>> fam = get_family("exp3")
>>> fam.param_names
('c', 'a', 'b')
>>> float(fam(jnp.array(1.0), {"c": 0.9, "a": 3.0, "b": -1.0}))  # doctest: +ELLIPSIS
0.8816...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import jax
import jax.numpy as jnp

__all__ = ["CurveFamily", "Param", "FAMILIES", "SIZE_UNIT", "get_family", "register_family"]

#: Samples per unit of ``x``: curves are functions of ``x = n_eff / SIZE_UNIT``.
SIZE_UNIT = 1000.0

#: Links from an unconstrained real to a parameter's support.
LINKS: dict[str, Callable] = {
    "identity": lambda z: z,
    "log": jnp.exp,
    "logit": jax.nn.sigmoid,
}


@dataclass(frozen=True, kw_only=True)
class Param:
    """One curve parameter: its link and the population prior on the unconstrained scale.

    The per-task unconstrained value is ``mu + sd * z`` with ``mu ~ Normal(loc, scale)``,
    ``sd ~ HalfNormal(pool_scale)`` and ``z ~ Normal(0, 1)`` (non-centred partial pooling).
    """

    name: str
    link: str
    loc: float
    scale: float
    pool_scale: float = 0.5

    def __post_init__(self) -> None:
        if self.link not in LINKS:
            raise ValueError(f"unknown link {self.link!r} for parameter {self.name!r}; "
                             f"valid links: {sorted(LINKS)}")


@dataclass(frozen=True, kw_only=True)
class CurveFamily:
    """A learning-curve family ``score = fn(x, params)``.

    Parameters
    ----------
    name : str
        Registry key, e.g. ``"exp3"``.
    formula : str
        Human-readable formula in terms of ``x`` (scaled sample size).
    params : tuple of Param
        Named parameters; one must be called ``c`` (the asymptote).
    fn : callable
        Pure ``jnp`` function ``fn(x, params_dict) -> score``, broadcasting over arrays.
    """

    name: str
    formula: str
    params: tuple[Param, ...]
    fn: Callable

    def __post_init__(self) -> None:
        if "c" not in self.param_names:
            raise ValueError(f"family {self.name!r} needs an asymptote parameter named 'c'")

    @property
    def param_names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.params)

    def constrain(self, name: str, unconstrained):
        """Map an unconstrained value of parameter ``name`` to its support."""
        link = next(p.link for p in self.params if p.name == name)
        return LINKS[link](unconstrained)

    def __call__(self, x, params: Mapping[str, jnp.ndarray]):
        return self.fn(x, params)


def _exp3(x, p):
    return p["c"] - jnp.exp(p["b"] - p["a"] * x)


def _pow3(x, p):
    return p["c"] - p["a"] * x ** (-p["alpha"])


def _exp4(x, p):
    return p["c"] - jnp.exp(p["b"] - p["a"] * x ** p["alpha"])


def _pow4(x, p):
    return p["c"] - (p["a"] * x + p["b"]) ** (-p["alpha"])


def _ilog2(x, p):
    return p["c"] - p["a"] / jnp.log1p(x * SIZE_UNIT)


def _logpower3(x, p):
    # c / (1 + (x / e^b)^(-alpha)), written as a sigmoid of log x: no overflow as x -> 0 or inf
    return p["c"] * jax.nn.sigmoid(p["alpha"] * (jnp.log(x) - p["b"]))


def _mmf(x, p):
    xd = x ** p["d"]
    return (p["y0"] * p["k"] + p["c"] * xd) / (p["k"] + xd)


def _weibull(x, p):
    return p["c"] - (p["c"] - p["y0"]) * jnp.exp(-p["k"] * x ** p["d"])


FAMILIES: dict[str, CurveFamily] = {}


def register_family(family: CurveFamily) -> CurveFamily:
    """Add ``family`` to the registry (overwriting a family of the same name) and return it."""
    FAMILIES[family.name] = family
    return family


# Priors (unconstrained scale; x in thousands of samples): asymptote median ~0.82; score with
# no data ~0.5; the gap to the asymptote at 1000 samples a few hundredths to a few tenths.
_C = Param(name="c", link="logit", loc=1.5, scale=1.0)
_Y0 = Param(name="y0", link="logit", loc=0.0, scale=1.0)  # score at x -> 0, prior median 0.5

register_family(CurveFamily(
    name="exp3", formula="c - exp(b - a*x)",
    params=(_C, Param(name="a", link="log", loc=1.0, scale=1.0),
            # the gap exp(b - a x) to the asymptote: N(-1, 1) gave a negative expected AUROC
            # at 32 samples in 23% of prior draws (experiments/curves/RESULTS.md); this one
            # in 1.5%, with the gap at 1000 samples 0.011 (90%: 0-0.15)
            Param(name="b", link="identity", loc=-1.7, scale=0.5, pool_scale=0.3)),
    fn=_exp3))
register_family(CurveFamily(
    # a power law diverges as x -> 0: with a ~ logN(-2.5, 1), alpha ~ logN(-1, 0.6) 32% of
    # prior draws had an expected AUROC < 0.01 at 32 samples; now 2% (tests/curves/
    # test_design_effects.py), the gap at 1000 samples a ~ 0.05
    name="pow3", formula="c - a*x^(-alpha)",
    params=(_C, Param(name="a", link="log", loc=-3.0, scale=0.5, pool_scale=0.3),
            Param(name="alpha", link="log", loc=-1.5, scale=0.4, pool_scale=0.3)),
    fn=_pow3))
register_family(CurveFamily(
    name="exp4", formula="c - exp(b - a*x^alpha)",
    params=(_C, Param(name="a", link="log", loc=1.0, scale=1.0),
            Param(name="b", link="identity", loc=-1.7, scale=0.5, pool_scale=0.3),  # as exp3
            Param(name="alpha", link="log", loc=0.0, scale=0.5)),
    fn=_exp4))
register_family(CurveFamily(  # Domhan et al. 2015 (IJCAI), Table 1; a slow, power-law tail
    # priors: b^(-alpha), the gap at x = 0, ~0.25 so a curve starts near chance (score median
    # 0.6 at 32 samples, rise from 32 to 1024 samples 0.11, 90%: 0.01-0.25); the former
    # a ~ logN(3, 1.5), b ~ logN(1, 1), alpha ~ logN(-0.5, 0.6) put 22% of prior draws below
    # an AUROC of 0.01 at 32 samples (median 0.32), now 2.5%
    name="pow4", formula="c - (a*x + b)^(-alpha)",
    # pool scales (the tasks' spread: the HalfNormal scale when learned, the value when
    # fixed) of the shape parameters a, b, alpha 0.3/0.3/0.2, below their means' prior scales
    # (0.5 before 2026-12, wider than alpha's population prior itself)
    params=(_C, Param(name="a", link="log", loc=5.0, scale=1.0, pool_scale=0.3),
            Param(name="b", link="log", loc=2.5, scale=0.5, pool_scale=0.3),
            Param(name="alpha", link="log", loc=-0.5, scale=0.3, pool_scale=0.2)),
    fn=_pow4))
register_family(CurveFamily(  # LCDB (Mohr & van Rijn 2022), "ilog2"; n = x * SIZE_UNIT samples
    # (log(1 + n), not log(n), so the curve is defined for every n > 0): the slowest tail of the
    # registry, the gap halves only when log n doubles
    name="ilog2", formula="c - a/log(1 + n)",
    params=(_C, Param(name="a", link="log", loc=-0.8, scale=0.7)),  # gap ~0.07 at n=1000
    fn=_ilog2))
register_family(CurveFamily(  # LCDB (Mohr & van Rijn 2022) "logpower3"; Domhan et al. 2015,
    # Table 1, "log power": a / (1 + (x / e^b)^c) with their c < 0 (here -alpha, alpha > 0) and
    # their a the asymptote (here c). logit(score / c) is linear in log n with slope alpha, so
    # the gap to the asymptote closes as a power law but more slowly than pow4's while the
    # score is far from it. Priors: score median ~0.6 at 32 samples (as pow4), b the log size
    # (in thousands) at which the score is half the asymptote, far below any real size
    name="logpower3", formula="c / (1 + (x/e^b)^(-alpha))",
    params=(_C, Param(name="b", link="identity", loc=-6.0, scale=1.0, pool_scale=0.5),
            Param(name="alpha", link="log", loc=-1.0, scale=0.4, pool_scale=0.2)),
    fn=_logpower3))
register_family(CurveFamily(
    name="mmf", formula="(y0*k + c*x^d) / (k + x^d)",
    params=(_C, _Y0, Param(name="k", link="log", loc=-2.0, scale=1.0),
            Param(name="d", link="log", loc=0.0, scale=0.5)),
    fn=_mmf))
register_family(CurveFamily(
    name="weibull", formula="c - (c - y0)*exp(-k*x^d)",
    params=(_C, _Y0, Param(name="k", link="log", loc=1.0, scale=1.0),
            Param(name="d", link="log", loc=-0.5, scale=0.5)),
    fn=_weibull))


def get_family(name: str | CurveFamily) -> CurveFamily:
    """Look up a curve family by name (or pass a :class:`CurveFamily` through).

    Raises
    ------
    ValueError
        If ``name`` is not registered; the message lists the registered families.
    """
    if isinstance(name, CurveFamily):
        return name
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown curve family {name!r}; valid families: "
                         f"{sorted(FAMILIES)}") from None
