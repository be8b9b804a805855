"""Frozen, keyword-only configuration dataclasses that round-trip to TOML.

A sweep is described by one :class:`SweepConfig`, made of a :class:`DataConfig` (which data),
a :class:`DesignConfig` (which runs) and a :class:`TrainConfig` (how each run is trained).
Every field is validated on construction; unknown TOML keys, wrong types and out-of-range values
raise :class:`ConfigError` naming the offending key and what is allowed.

Example
-------
>>> from lcurve.config import SweepConfig
>>> cfg = SweepConfig.from_toml_string('''
... [data]
... source = "synthetic"
... [train]
... steps = 50
... ''')
>>> cfg.train.steps
50
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

import tomli_w

__all__ = [
    "ConfigError",
    "ConfigSection",
    "ExperimentConfig",
    "require_positive",
    "DataConfig",
    "DesignConfig",
    "TrainConfig",
    "SweepConfig",
]


class ConfigError(ValueError):
    """A configuration value is missing, unknown, of the wrong type or out of range."""


def _check_type(name: str, value: Any, annotation: Any) -> Any:
    """Check ``value`` against a (simple) type annotation; return it normalised (lists -> tuples)."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(annotation)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _check_type(name, value, option)
            except ConfigError as err:
                errors.append(str(err))
        raise ConfigError(errors[0] if errors else f"{name}: invalid value {value!r}")
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{name}: expected a list, got {type(value).__name__} {value!r}")
        (item_type, _ellipsis) = typing.get_args(annotation)
        return tuple(_check_type(f"{name}[{i}]", v, item_type) for i, v in enumerate(value))
    if origin is dict or annotation is dict:
        if not isinstance(value, dict):
            raise ConfigError(f"{name}: expected a table, got {type(value).__name__} {value!r}")
        return dict(value)
    if annotation is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(f"{name}: expected a number, got {type(value).__name__} {value!r}")
        return float(value)
    if annotation is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if annotation in (str, bool):
        if not isinstance(value, annotation):
            raise ConfigError(
                f"{name}: expected {annotation.__name__}, got {type(value).__name__} {value!r}"
            )
        return value
    raise TypeError(f"unsupported annotation {annotation!r} for {name}")  # programming error


class ConfigSection:
    """Base of every TOML config table: type checks on construction, ``from_dict``/``to_dict``.

    Subclass it as a frozen, keyword-only dataclass, set ``_section`` to the table's name and
    override ``_validate`` for range checks (see :class:`TrainConfig`).
    """

    _section: str = ""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for field in dataclasses.fields(self):
            value = _check_type(
                f"{self._section}.{field.name}", getattr(self, field.name), hints[field.name]
            )
            object.__setattr__(self, field.name, value)
        self._validate()

    def _validate(self) -> None:
        """Range checks; overridden by subclasses."""

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        """Build from a plain dict, rejecting unknown keys with the list of valid ones."""
        if not isinstance(values, dict):
            raise ConfigError(f"[{cls._section}] must be a table, got {values!r}")
        names = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(set(values) - set(names))
        if unknown:
            raise ConfigError(
                f"unknown key(s) {unknown} in [{cls._section}]; valid keys are {names}"
            )
        return cls(**values)

    def to_dict(self) -> dict[str, Any]:
        """A TOML-ready dict (``None`` values are left out, tuples become lists)."""
        out = {}
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if value is None:
                continue
            if isinstance(value, tuple):
                value = list(value)
            out[field.name] = value
        return out


def require_positive(section: str, **values: float | int | None) -> None:
    """Raise :class:`ConfigError` naming ``section.name`` for any value that is not a finite
    number > 0 (NaN and infinity included); ``None`` values are skipped."""
    for name, value in values.items():
        if value is not None and not (0 < value < float("inf")):
            raise ConfigError(f"{section}.{name} must be a finite number > 0, got {value!r}")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DataConfig(ConfigSection):
    """Which data set a sweep uses.

    Parameters
    ----------
    source
        ``"moleculeace"`` (embedded default), ``"synthetic"`` (planted relatedness) or
        ``"csv"`` (a long table at ``path``).
    tasks
        Subset of task names to keep (in this order); ``None`` keeps all.
    max_tasks
        Keep only the first ``max_tasks`` tasks (after ``tasks``); ``None`` keeps all.
    threshold
        Activity threshold in pAct units for binarising MoleculeACE / value tables
        (active if ``pAct >= threshold``; 7.0 means <= 100 nM).
    path
        CSV path for ``source = "csv"``.
    n_tasks, n_compounds, n_features, seed
        Generator settings for ``source = "synthetic"``.
    """

    _section = "data"
    source: str = "moleculeace"
    tasks: tuple[str, ...] | None = None
    max_tasks: int | None = None
    threshold: float = 7.0
    path: str | None = None
    n_tasks: int = 6
    n_compounds: int = 2000
    n_features: int = 64
    seed: int = 0

    def _validate(self) -> None:
        sources = ("moleculeace", "synthetic", "csv")
        if self.source not in sources:
            raise ConfigError(f"data.source must be one of {sources}, got {self.source!r}")
        if self.source == "csv" and not self.path:
            raise ConfigError("data.path is required when data.source = 'csv'")
        require_positive("data", max_tasks=self.max_tasks, n_tasks=self.n_tasks,
                  n_compounds=self.n_compounds, n_features=self.n_features)
        if not abs(self.threshold) < float("inf"):
            raise ConfigError(f"data.threshold must be a finite number, got {self.threshold!r}")
        if self.tasks is not None and len(set(self.tasks)) != len(self.tasks):
            raise ConfigError(f"data.tasks has duplicate names: {list(self.tasks)}")

    _SYNTHETIC_ONLY = ("n_tasks", "n_compounds", "n_features", "seed")

    def to_dict(self) -> dict[str, Any]:
        """As the base class, leaving out settings that do not apply to ``source``."""
        out = super().to_dict()
        if self.source != "synthetic":
            for name in self._SYNTHETIC_ONLY:
                out.pop(name, None)
        return out


DESIGN_KINDS = ("single", "pairs", "contextual", "custom")


@dataclasses.dataclass(frozen=True, kw_only=True)
class DesignConfig(ConfigSection):
    """Which runs a sweep trains (see :func:`lcurve.design.make_design`).

    Parameters
    ----------
    kind
        ``"single"``, ``"pairs"``, ``"contextual"`` or ``"custom"``.
    seeds
        Replicate seeds; each seed has its own nested permutation of every task.
    min_size, max_size, points_per_doubling
        Geometric size grid ``min_size * 2**(k / points_per_doubling)``, capped per task at
        its number of training labels (and at ``max_size`` when given).
    targets
        Tasks whose learning curves are traced (``None``: all tasks).
    aux_sizes
        Sizes of the auxiliary task in ``pairs`` runs (``None``: the auxiliary's own grid).
    context_fraction
        Context levels of ``contextual`` runs: in each, every other task contributes this
        fraction of its training labels. One fraction or a list of them; the default, two
        levels ``[0.5, 1.0]``, traces each target at every grid size beside half and all of
        the other tasks' labels, so the fit sees how a score depends on the context's size.
        With one level a context's rate and an asymptote shift under context
        (``FitConfig.context_shift``) explain much the same runs, and the default fit (no
        shift) identifies the rate only by assuming there is none; in simulations from this
        design the second level halved the rate's error (:mod:`lcurve.curves.model`;
        ``experiments/curves/RESULTS.md`` W1). Stored as a sorted tuple.
    include_single
        Add single-task runs (the no-transfer baseline) to ``pairs`` and ``contextual`` designs.
    custom_sizes
        For ``custom``: a list of ``{task = n, ...}`` tables, one per run (missing tasks get 0).
    """

    _section = "design"
    kind: str = "pairs"
    seeds: tuple[int, ...] = (0, 1, 2)
    min_size: int = 16
    max_size: int | None = None
    points_per_doubling: int = 2
    targets: tuple[str, ...] | None = None
    aux_sizes: tuple[int, ...] | None = None
    context_fraction: float | tuple[float, ...] = (0.5, 1.0)
    include_single: bool = True
    custom_sizes: tuple[dict, ...] | None = None

    def _validate(self) -> None:
        if self.kind not in DESIGN_KINDS:
            raise ConfigError(f"design.kind must be one of {DESIGN_KINDS}, got {self.kind!r}")
        if not self.seeds:
            raise ConfigError("design.seeds must list at least one seed")
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"design.seeds has duplicates: {list(self.seeds)}")
        if any(s < 0 for s in self.seeds):
            raise ConfigError(f"design.seeds must be >= 0, got {list(self.seeds)}")
        require_positive("design", min_size=self.min_size, max_size=self.max_size,
                  points_per_doubling=self.points_per_doubling)
        if self.max_size is not None and self.max_size < self.min_size:
            raise ConfigError(
                f"design.max_size ({self.max_size}) must be >= design.min_size ({self.min_size})"
            )
        if self.aux_sizes is not None and any(n < 0 for n in self.aux_sizes):
            raise ConfigError(f"design.aux_sizes must be >= 0, got {list(self.aux_sizes)}")
        fractions = self.context_fraction
        fractions = fractions if isinstance(fractions, tuple) else (fractions,)
        if not fractions or not all(0.0 < f <= 1.0 for f in fractions):
            raise ConfigError(f"design.context_fraction must be in (0, 1] (one fraction or a "
                              f"list of them), got {self.context_fraction!r}")
        if len(set(fractions)) != len(fractions):
            raise ConfigError(f"design.context_fraction has duplicates: {list(fractions)}")
        object.__setattr__(self, "context_fraction", tuple(sorted(fractions)))
        if self.kind == "custom" and not self.custom_sizes:
            raise ConfigError("design.custom_sizes is required when design.kind = 'custom'")


@dataclasses.dataclass(frozen=True, kw_only=True)
class TrainConfig(ConfigSection):
    """How each run's hard-parameter-sharing network is trained (the *protocol*).

    The default protocol (task-balanced loss, stratified batches, early stopping on held-out
    training labels) and the evidence for it are in ``experiments/protocol/RESULTS.md``.

    Parameters
    ----------
    hidden
        Widths of the shared trunk's dense layers (ReLU).
    steps
        The *maximum* number of optimizer steps per run. With ``stopping = "fixed"`` every run
        trains exactly this many; with ``"early"`` a run stops earlier when its validation loss
        has not improved for ``patience`` evaluations.
    batch_size
        Labels (stratified) or compounds (uniform) per step, drawn with replacement.
    learning_rate, weight_decay
        AdamW hyper-parameters (passed as arrays, so changing them does not recompile).
    objective
        ``"balanced"``: mean over the run's tasks of each task's mean BCE (every task weighs the
        same); ``"pooled"``: one mean BCE over all labels (a task weighs its share of labels).
    batches
        ``"stratified"``: every task of the run fills an equal share of every batch;
        ``"uniform"``: compounds drawn uniformly from the run's compounds.
    stopping
        ``"early"``: every ``holdout``-th label of each task's nested order is held out of
        training; every ``eval_every`` steps the objective on those labels is computed and the
        run stops after ``patience`` evaluations without improvement; the parameters of the best
        evaluation are the ones scored on the test set. ``"fixed"``: ``steps`` steps on all the
        run's labels, the last parameters are scored.
    criterion
        What early stopping watches on the held-out labels: ``"auroc"`` (mean over the run's
        tasks of the held-out AUROC, ties counting as improvements; a run whose held-out labels
        have one class per task uses the loss) or ``"loss"`` (the objective). The held-out BCE
        starts rising from over-confidence long before the ranking stops improving, so
        ``"loss"`` stops runs too soon for AUROC (``experiments/protocol/RESULTS.md``).
    eval_every
        Steps between two validation evaluations (early stopping's granularity).
    patience
        Evaluations without improvement of the criterion before a run stops.
    holdout
        Hold-out stride ``m`` (>= 2) of early stopping: a task with ``n`` labels holds out
        ``n // m`` of them (positions ``m-1, 2m-1, ...`` of its nested order, so held-out sets
        are nested too) and trains on the rest. Ignored with ``stopping = "fixed"``.
    chunk_size
        Runs trained together in one compiled program; rounded up to a multiple of
        ``vmap_width`` times the number of devices. Results do not depend on it.
    vmap_width
        Runs computed side by side by one ``jax.vmap``; a chunk is a ``lax.map`` over groups of
        this width. It fixes the floating-point program, so results are bit-identical for any
        chunk size or device count *at the same* ``vmap_width`` (changing it may change the
        last bits). Larger widths amortise per-step overhead, mainly on accelerators.
    """

    _section = "train"
    hidden: tuple[int, ...] = (128,)
    steps: int = 1000
    batch_size: int = 64
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    objective: str = "balanced"
    batches: str = "stratified"
    stopping: str = "early"
    criterion: str = "auroc"
    eval_every: int = 25
    patience: int = 4
    holdout: int = 5
    chunk_size: int = 64
    vmap_width: int = 8

    OBJECTIVES = ("balanced", "pooled")
    BATCHES = ("stratified", "uniform")
    STOPPING = ("early", "fixed")
    CRITERIA = ("auroc", "loss")

    def _validate(self) -> None:
        require_positive("train", steps=self.steps, batch_size=self.batch_size,
                  learning_rate=self.learning_rate, chunk_size=self.chunk_size,
                  vmap_width=self.vmap_width, eval_every=self.eval_every,
                  patience=self.patience)
        if not self.hidden or any(h <= 0 for h in self.hidden):
            raise ConfigError(f"train.hidden must be positive widths, got {list(self.hidden)}")
        if not 0 <= self.weight_decay < float("inf"):
            raise ConfigError(f"train.weight_decay must be >= 0, got {self.weight_decay!r}")
        for name, options in (("objective", self.OBJECTIVES), ("batches", self.BATCHES),
                              ("stopping", self.STOPPING), ("criterion", self.CRITERIA)):
            if getattr(self, name) not in options:
                raise ConfigError(f"train.{name} must be one of {options}, got "
                                  f"{getattr(self, name)!r}")
        if self.holdout < 2:
            raise ConfigError(f"train.holdout must be an integer >= 2 (hold out every m-th "
                              f"label), got {self.holdout!r}")

    @property
    def holdout_stride(self) -> int:
        """The hold-out stride in effect: ``holdout`` when stopping early, else 0 (none)."""
        return self.holdout if self.stopping == "early" else 0


class ExperimentConfig:
    """Base of a TOML experiment file: a ``name`` and one table per :class:`ConfigSection`.

    Subclass it as a frozen, keyword-only dataclass with a ``name`` field and one field per
    section (its type a :class:`ConfigSection`): the fields *are* the TOML tables.
    Unknown top-level keys are errors that list the valid ones.
    """

    @classmethod
    def sections(cls) -> dict[str, type]:
        """Table name -> section class, read from the dataclass fields (all but ``name``)."""
        hints = typing.get_type_hints(cls)
        return {f.name: hints[f.name] for f in dataclasses.fields(cls) if f.name != "name"}

    @classmethod
    def from_dict(cls, values: dict[str, Any]):
        valid = ["name", *cls.sections()]
        unknown = sorted(set(values) - set(valid))
        if unknown:
            raise ConfigError(f"unknown top-level key(s) {unknown}; valid keys are {valid}")
        name = values.get("name", cls.__dataclass_fields__["name"].default)
        if not isinstance(name, str):
            raise ConfigError(f"name: expected str, got {name!r}")
        sections = {k: c.from_dict(values.get(k, {})) for k, c in cls.sections().items()}
        return cls(name=name, **sections)

    @classmethod
    def from_toml_string(cls, text: str):
        try:
            values = tomllib.loads(text)
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(f"invalid TOML: {err}") from err
        return cls.from_dict(values)

    @classmethod
    def from_toml(cls, path: str | Path):
        """Read a TOML config file; errors name the file."""
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            return cls.from_toml_string(path.read_text())
        except ConfigError as err:
            raise ConfigError(f"{path}: {err}") from err

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, **{k: getattr(self, k).to_dict() for k in self.sections()}}

    def to_toml_string(self) -> str:
        return tomli_w.dumps(self.to_dict())

    def to_toml(self, path: str | Path) -> None:
        Path(path).write_text(self.to_toml_string())


@dataclasses.dataclass(frozen=True, kw_only=True)
class SweepConfig(ExperimentConfig):
    """A whole sweep: data, design and training, as one TOML file with three tables."""

    name: str = "sweep"
    data: DataConfig = dataclasses.field(default_factory=DataConfig)
    design: DesignConfig = dataclasses.field(default_factory=DesignConfig)
    train: TrainConfig = dataclasses.field(default_factory=TrainConfig)
