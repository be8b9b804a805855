"""Configuration of influence analyses: TOML sections beside the code they configure.

An influence experiment file (:class:`InfluenceExperimentConfig`) composes the package-wide
``[data]`` (:class:`~lcurve.config.DataConfig`) and ``[train]``
(:class:`~lcurve.config.TrainConfig`: ``hidden``, ``steps``, ``learning_rate``) sections with
three of its own: ``[influence]`` (objective, curvature, solver and its checks),
``[validation]`` (removal fractions retrained against the predictions) and ``[selection]``
(harmful-sample dropping).

Influence fits are full batch, so ``train.batch_size``, ``chunk_size`` and ``vmap_width`` do not
apply; ``train.weight_decay`` must be 0, because AdamW's decoupled decay has no objective whose
stationary point it reaches; the L2 penalty of the objective is ``influence.l2``.

Example
-------
>>> cfg = InfluenceExperimentConfig.from_toml_string('''
... [data]
... source = "synthetic"
... [train]
... weight_decay = 0.0
... [influence]
... solver = "lissa"
... ''')
>>> cfg.influence.curvature, cfg.influence.solver
('gauss_newton', 'lissa')
"""

from __future__ import annotations

import dataclasses

from lcurve.config import (
    ConfigError,
    ConfigSection,
    DataConfig,
    ExperimentConfig,
    TrainConfig,
    require_positive,
)

__all__ = ["CURVATURES", "InfluenceConfig", "InfluenceExperimentConfig", "SelectionConfig",
           "ValidationConfig", "WEIGHTINGS", "check_train_config"]

CURVATURES = ("gauss_newton", "hessian")
WEIGHTINGS = ("example", "task")
_SOLVERS = ("cg", "lissa")
_ON_FAILURE = ("raise", "warn")


@dataclasses.dataclass(frozen=True, kw_only=True)
class InfluenceConfig(ConfigSection):
    """Objective, curvature, solver and the checks every influence computation passes.

    Parameters
    ----------
    l2
        Strength of ``(l2 / 2) ||theta||^2`` in the objective.
    weighting
        ``"example"``: every training label weighs ``1 / n`` (``n`` labels in all);
        ``"task"``: every task's mean loss weighs ``1 / n_tasks`` (a label of task ``k`` weighs
        ``1 / (n_tasks n_k)``). Removing a label is the up-weighting by minus its weight.
    curvature
        ``"gauss_newton"`` (default; positive semi-definite; for the Bernoulli likelihood it
        equals the Fisher information) or ``"hessian"`` (exact; may be indefinite).
    solver
        ``"cg"`` or ``"lissa"`` (see :mod:`lcurve.influence.solvers`).
    damping
        Added to the curvature's diagonal (``l2 + damping`` must be > 0).
    tol, max_iter
        CG stopping tolerance (relative) and iteration cap.
    max_residual
        Largest accepted relative residual ``||(C + damping I) x - b|| / ||b||`` of a solve.
    max_grad_norm
        Largest accepted gradient norm of the objective at the fitted parameters.
    on_failure
        ``"raise"`` (default) or ``"warn"`` when a check above fails or negative curvature is met.
    lissa_scale, lissa_depth, lissa_batch_size, lissa_repeats
        LiSSA's scale ``s`` (``None``: 1.5 x the largest eigenvalue, by power iteration),
        recursion depth, mini-batch rows per curvature estimate (``None``: full batch) and
        number of averaged recursions.
    seed
        Initialisation of the network (shared by every retrain) and of the data reduction.
    max_train_per_task, fold_bits
        Data reduction: keep the first labels of each task's nested order; OR fingerprint bits
        into ``fold_bits`` (0 keeps all features).
    """

    _section = "influence"
    l2: float = 1e-2
    weighting: str = "example"
    curvature: str = "gauss_newton"
    solver: str = "cg"
    damping: float = 0.0
    tol: float = 1e-5
    max_iter: int = 500
    max_residual: float = 1e-3
    max_grad_norm: float = 1e-2
    on_failure: str = "raise"
    lissa_scale: float | None = None
    lissa_depth: int = 2000
    lissa_batch_size: int | None = None
    lissa_repeats: int = 1
    seed: int = 0
    max_train_per_task: int | None = None
    fold_bits: int = 0

    def _validate(self) -> None:
        for name, options in (("weighting", WEIGHTINGS), ("curvature", CURVATURES),
                              ("solver", _SOLVERS), ("on_failure", _ON_FAILURE)):
            if getattr(self, name) not in options:
                raise ConfigError(f"influence.{name} must be one of {options}, "
                                  f"got {getattr(self, name)!r}")
        require_positive("influence", tol=self.tol, max_iter=self.max_iter,
                         max_residual=self.max_residual, max_grad_norm=self.max_grad_norm,
                         lissa_scale=self.lissa_scale, lissa_depth=self.lissa_depth,
                         lissa_batch_size=self.lissa_batch_size,
                         lissa_repeats=self.lissa_repeats,
                         max_train_per_task=self.max_train_per_task)
        for name in ("l2", "damping", "fold_bits"):
            if not 0 <= getattr(self, name) < float("inf"):
                raise ConfigError(f"influence.{name} must be >= 0, got {getattr(self, name)!r}")
        if self.l2 + self.damping <= 0:
            raise ConfigError("influence.l2 + influence.damping must be > 0 (the curvature is "
                              f"otherwise singular), got l2={self.l2!r}, damping={self.damping!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class ValidationConfig(ConfigSection):
    """Which removals are retrained to check the predictions.

    Each source task's training labels are put in a random order (seed ``seed``) and the first
    ``fraction`` of them removed, for every fraction (1.0 is leave-task-out).
    """

    _section = "validation"
    enabled: bool = True
    fractions: tuple[float, ...] = (0.1, 0.25, 0.5, 1.0)
    seed: int = 0

    def _validate(self) -> None:
        if not self.fractions or any(not 0 < f <= 1 for f in self.fractions):
            raise ConfigError(f"validation.fractions must be in (0, 1], got {list(self.fractions)}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class SelectionConfig(ConfigSection):
    """Harmful-sample selection (:func:`lcurve.influence.drop_harmful`).

    ``l2_grid`` is searched on an inner split of the target's non-test labels before any
    influence or test metric is computed; ``n_random`` random drops per seed are the control.
    """

    _section = "selection"
    enabled: bool = True
    targets: tuple[str, ...] | None = None
    fractions: tuple[float, ...] = (0.05, 0.1, 0.25)
    validation_fraction: float = 0.3
    seeds: tuple[int, ...] = (0, 1)
    l2_grid: tuple[float, ...] = (1e-3, 1e-2, 1e-1)
    n_random: int = 2

    def _validate(self) -> None:
        if not self.fractions or any(not 0 < f < 1 for f in self.fractions):
            raise ConfigError(f"selection.fractions must be in (0, 1), got {list(self.fractions)}")
        if not 0 < self.validation_fraction < 1:
            raise ConfigError("selection.validation_fraction must be in (0, 1), got "
                              f"{self.validation_fraction!r}")
        if not self.seeds:
            raise ConfigError("selection.seeds must list at least one seed")
        if not self.l2_grid or any(not 0 <= v < float("inf") for v in self.l2_grid):
            raise ConfigError(f"selection.l2_grid must list values >= 0, got {list(self.l2_grid)}")
        require_positive("selection", n_random=self.n_random)


def check_train_config(train: TrainConfig) -> TrainConfig:
    """Reject training settings influence fits cannot honour (``weight_decay`` != 0)."""
    if train.weight_decay != 0:
        raise ConfigError(
            f"train.weight_decay must be 0 for influence fits, got {train.weight_decay!r}: "
            "AdamW's decoupled decay reaches no objective's stationary point; put the penalty "
            "in influence.l2")
    return train


@dataclasses.dataclass(frozen=True, kw_only=True)
class InfluenceExperimentConfig(ExperimentConfig):
    """``[data]``, ``[train]``, ``[influence]``, ``[validation]`` and ``[selection]``."""

    name: str = "influence"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    train: TrainConfig = dataclasses.field(default_factory=lambda: TrainConfig(weight_decay=0.0))
    influence: InfluenceConfig = dataclasses.field(default_factory=InfluenceConfig)
    validation: ValidationConfig = dataclasses.field(default_factory=ValidationConfig)
    selection: SelectionConfig = dataclasses.field(default_factory=SelectionConfig)

    def __post_init__(self) -> None:
        check_train_config(self.train)
