"""Property-based tests of the config validators: any input either builds a config that
round-trips through TOML, or raises ConfigError -- never another exception, never silently."""

from hypothesis import given, settings
from hypothesis import strategies as st

from lcurve.config import ConfigError, DesignConfig, SweepConfig, TrainConfig

values = st.one_of(
    st.none(), st.booleans(), st.integers(-5, 5000), st.floats(-10, 10), st.just(float("nan")), st.just(float("inf")),
    st.text(max_size=5), st.lists(st.integers(-3, 300), max_size=4),
)


def _check(cls, kwargs):
    try:
        cfg = cls(**kwargs)
    except ConfigError:
        return
    table = cls._section
    again = SweepConfig.from_toml_string(SweepConfig(**{table: cfg}).to_toml_string())
    assert getattr(again, table) == cfg


@given(st.dictionaries(st.sampled_from(["hidden", "steps", "batch_size", "learning_rate",
                                        "weight_decay", "chunk_size", "vmap_width"]), values))
@settings(max_examples=300, deadline=None)
def test_train_config_validator(kwargs):
    _check(TrainConfig, kwargs)


@given(st.dictionaries(st.sampled_from(["kind", "seeds", "min_size", "max_size",
                                        "points_per_doubling", "aux_sizes",
                                        "context_fraction", "include_single"]), values))
@settings(max_examples=300, deadline=None)
def test_design_config_validator(kwargs):
    _check(DesignConfig, kwargs)
