import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lcurve.data import MultiTaskData
from lcurve.design import make_design, size_columns
from lcurve.train import RunTrainer, masked_bce


def _train(data, config, design, *, chunk_size=None, width=None):
    config = dataclasses.replace(config, chunk_size=chunk_size or config.chunk_size,
                                 vmap_width=width or config.vmap_width)
    trainer = RunTrainer(data, config, seeds=sorted(design["seed"].unique()))
    sizes = design[size_columns(design)].to_numpy()
    outs = []
    for start in range(0, len(design), trainer.chunk_size):
        sl = slice(start, start + trainer.chunk_size)
        outs.append(trainer.train_chunk(design["seed"].to_numpy()[sl],
                                        design["run_id"].to_numpy()[sl], sizes[sl],
                                        n_rows_bucket=1024))
    return {k: np.concatenate([getattr(o, k) for o in outs])
            for k in ("auroc", "auprc", "final_loss", "finite")}, trainer


@pytest.fixture(scope="module")
def design(synthetic):
    data, _ = synthetic
    return make_design(data, kind="pairs", seeds=[0, 1], min_size=64, aux_sizes=[100]).iloc[:12]


def test_bitwise_identical_across_chunk_sizes_and_reruns(synthetic, tiny_train, design):
    data, _ = synthetic
    a, _ = _train(data, tiny_train, design, chunk_size=4)
    b, _ = _train(data, tiny_train, design, chunk_size=12)
    c, _ = _train(data, tiny_train, design, chunk_size=4)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], c[key])


def test_vmapped_equals_training_each_run_alone(synthetic, tiny_train, design):
    data, _ = synthetic
    together, _ = _train(data, tiny_train, design, chunk_size=12, width=4)
    alone, _ = _train(data, tiny_train, design, chunk_size=1, width=1)
    np.testing.assert_allclose(together["final_loss"], alone["final_loss"], rtol=1e-4)
    np.testing.assert_allclose(together["auroc"], alone["auroc"], atol=2e-3)


def test_vmapped_members_differ(synthetic, tiny_train):
    data, _ = synthetic
    one = make_design(data, kind="custom", seeds=[0], custom_sizes=[{"task00": 200}])
    two = one.loc[[0, 0]].reset_index(drop=True).assign(run_id=[0, 1])
    out, _ = _train(data, tiny_train, two, chunk_size=4)
    assert out["final_loss"][0] != out["final_loss"][1]  # different run ids -> different keys


def test_one_compilation_for_many_chunks_shared_by_later_trainers(synthetic, tiny_train,
                                                                    design):
    data, _ = synthetic
    config = dataclasses.replace(tiny_train, steps=tiny_train.steps + 1)  # this test's own
    first, trainer = _train(data, config, design, chunk_size=4)
    assert trainer.n_compiles == 1  # three chunks, one compilation
    # a new trainer with the same program settings (another learning rate is an argument,
    # not a new program) reuses the compiled program from the trainer core's cache
    again, trainer = _train(data, config, design, chunk_size=4)
    assert trainer.n_compiles == 0
    for key in first:
        np.testing.assert_array_equal(first[key], again[key])
    faster, trainer = _train(data, dataclasses.replace(config, learning_rate=1e-2), design,
                             chunk_size=4)
    assert trainer.n_compiles == 0 and not np.array_equal(faster["final_loss"],
                                                          first["final_loss"])


def test_masked_bce_ignores_nan_and_unselected_labels():
    logits = jnp.array([[0.3, -1.0], [2.0, 0.5]])
    labels = jnp.array([[1.0, jnp.nan], [0.0, 1.0]])
    mask = jnp.array([[True, False], [True, False]])
    loss, grad = jax.value_and_grad(masked_bce)(logits, labels, mask)
    ref = (np.log1p(np.exp(-0.3)) + np.log1p(np.exp(2.0))) / 2
    assert float(loss) == pytest.approx(ref, rel=1e-6)
    assert np.isfinite(np.asarray(grad)).all()
    assert np.asarray(grad)[:, 1].tolist() == [0.0, 0.0]


def test_labels_outside_the_run_never_change_it(synthetic, tiny_train):
    """Appending compounds labelled only for an untrained task leaves a run bit-identical."""
    data, _ = synthetic
    extra = 50
    rng = np.random.default_rng(0)
    Y_extra = np.full((extra, data.n_tasks), np.nan, np.float32)
    Y_extra[:, 1] = rng.integers(0, 2, extra)  # train labels of task01 only
    bigger = MultiTaskData(
        X=np.vstack([data.X, rng.integers(0, 2, (extra, data.n_features))]),
        Y=np.vstack([data.Y, Y_extra]),
        tasks=data.tasks,
        compound_ids=data.compound_ids + tuple(f"extra{i}" for i in range(extra)),
        test_mask=np.vstack([data.test_mask, np.zeros((extra, data.n_tasks), bool)]),
    )
    design = make_design(data, kind="custom", seeds=[0],
                         custom_sizes=[{"task00": 150}, {"task00": 150, "task02": 80}])
    a, _ = _train(data, tiny_train, design, chunk_size=4)
    b, _ = _train(bigger, tiny_train, design, chunk_size=4)
    for key in a:
        np.testing.assert_array_equal(a[key], b[key])


def test_scores_rise_with_training_size(synthetic, tiny_train):
    data, _ = synthetic
    config = dataclasses.replace(tiny_train, steps=150)
    design = make_design(data, kind="single", seeds=[0, 1, 2], min_size=16,
                         points_per_doubling=1)
    out, _ = _train(data, config, design, chunk_size=32, width=8)
    design = design.assign(
        auroc=[out["auroc"][i, data.task_index(t)] for i, t in enumerate(design["target"])],
        n=[design.loc[i, f"n_{t}"] for i, t in enumerate(design["target"])],
    )
    curve = design.groupby(["target", "n"])["auroc"].mean()  # mean over seeds
    for task in data.tasks:
        assert curve[task].iloc[-1] > curve[task].iloc[0] + 0.03, curve[task]


def test_chunk_arguments_are_checked(synthetic, tiny_train):
    data, _ = synthetic
    trainer = RunTrainer(data, tiny_train, seeds=[0])
    sizes = np.full((1, data.n_tasks), 10)
    with pytest.raises(ValueError, match="were not declared"):
        trainer.train_chunk([7], [0], sizes)
    with pytest.raises(ValueError, match="a chunk holds"):
        trainer.train_chunk([0] * 9, list(range(9)), np.repeat(sizes, 9, axis=0))


def test_padded_slots_train_no_step(synthetic, tiny_train):
    # a chunk's padding slots repeat its first run but start stopped: a group made only of
    # padding ends its loop at once instead of training a copy of the first run again
    data, _ = synthetic
    config = dataclasses.replace(tiny_train, chunk_size=8, vmap_width=4)
    trainer = RunTrainer(data, config, seeds=[0])
    program = trainer._chunk_fn
    seen = {}

    def recording(*args):
        seen["out"] = program(*args)
        return seen["out"]

    trainer.__dict__["_chunk_fn"] = recording
    sizes = np.full((1, data.n_tasks), 100)
    result = trainer.train_chunk([0], [0], sizes)
    used = np.asarray(seen["out"][4])
    assert used.shape == (8,)
    assert used[0] == result.steps_used[0] > 0
    np.testing.assert_array_equal(used[1:], 0)
