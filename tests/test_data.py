import numpy as np
import pytest

from lcurve.data import DataError, MultiTaskData


def _data(**overrides):
    kwargs = dict(
        X=np.eye(4, dtype=np.float32),
        Y=np.array([[1, np.nan], [0, 1], [1, 0], [0, np.nan]]),
        tasks=("a", "b"),
        compound_ids=("w", "x", "y", "z"),
        test_mask=np.array([[False, False], [False, True], [True, False], [True, False]]),
    )
    kwargs.update(overrides)
    return MultiTaskData(**kwargs)


def test_summary_counts_and_masks():
    data = _data()
    assert data.n_train() == {"a": 2, "b": 1}
    summary = data.task_summary()
    assert summary["n_test"].tolist() == [2, 1]
    assert summary["active_fraction_train"].tolist() == [0.5, 0.0]
    assert not (data.train_mask & data.test_mask).any()


@pytest.mark.parametrize(
    "overrides, match",
    [
        ({"Y": np.array([[2, np.nan], [0, 1], [1, 0], [0, np.nan]])}, "labels must be 0, 1 or NaN"),
        ({"tasks": ("a", "a")}, "duplicate task names"),
        ({"tasks": ("a", "test")}, "reserved"),
        ({"tasks": ("a",)}, "1 task names for 2 label columns"),
        ({"X": np.eye(3)}, "X has 3 rows but Y has 4"),
        ({"compound_ids": ("w", "w", "y", "z")}, "duplicate compound ids"),
        ({"test_mask": np.ones((4, 2), bool)}, "unmeasured"),
        ({"test_mask": np.ones((4, 3), bool)}, "test_mask shape"),
        ({"X": np.full((4, 4), np.nan)}, "NaN or infinite"),
        ({"X": np.zeros(4)}, "X must be 2-D"),
    ],
)
def test_bad_data_is_refused(overrides, match):
    with pytest.raises(DataError, match=match):
        _data(**overrides)


def test_arrays_are_read_only_and_caller_arrays_untouched():
    X = np.eye(4, dtype=np.float32)
    data = _data(X=X)
    with pytest.raises(ValueError):
        data.X[0, 0] = 5
    X[0, 0] = 7  # the caller's array stays writable
    assert X[0, 0] == 7


def test_select_tasks_drops_compounds_without_labels():
    data = _data()
    only_b = data.select_tasks(["b"])
    assert only_b.tasks == ("b",)
    assert only_b.compound_ids == ("x", "y")
    with pytest.raises(KeyError, match="unknown task 'c'"):
        data.select_tasks(["c"])


def test_fingerprint_changes_with_content():
    assert _data().fingerprint() == _data().fingerprint()
    assert _data().fingerprint() != _data(tasks=("a", "c")).fingerprint()


def _arrays(seed=0, n=60):
    rng = np.random.default_rng(seed)
    Y = rng.integers(0, 2, (n, 3)).astype(float)
    Y[rng.random((n, 3)) < 0.3] = np.nan  # sparse, like drug-target data
    return rng.normal(size=(n, 5)), Y


def test_from_arrays_split_is_stratified_per_task_and_reproducible():
    X, Y = _arrays()
    data = MultiTaskData.from_arrays(X, Y, tasks=["a", "b", "c"], test_fraction=0.25, seed=3)
    assert data.compound_ids[:2] == ("c0", "c1") and data.info["source"] == "arrays"
    assert not (data.test_mask & np.isnan(Y)).any()  # unmeasured labels are never test labels
    for k in range(3):
        for cls in (0, 1):
            members = Y[:, k] == cls
            n_test = (data.test_mask[:, k] & members).sum()
            assert n_test == round(0.25 * members.sum())  # per task and class
    again = MultiTaskData.from_arrays(X, Y, tasks=["a", "b", "c"], test_fraction=0.25, seed=3)
    assert (again.test_mask == data.test_mask).all()
    other = MultiTaskData.from_arrays(X, Y, tasks=["a", "b", "c"], test_fraction=0.25, seed=4)
    assert (other.test_mask != data.test_mask).any()


def test_from_arrays_split_follows_task_names_not_positions():
    X, Y = _arrays()
    data = MultiTaskData.from_arrays(X, Y, tasks=["a", "b", "c"], seed=1)
    swapped = MultiTaskData.from_arrays(X, Y[:, ::-1], tasks=["c", "b", "a"], seed=1)
    assert (swapped.test_mask[:, ::-1] == data.test_mask).all()


def test_from_arrays_errors_name_the_problem():
    X, Y = _arrays()
    with pytest.raises(DataError, match="2 task names for 3"):
        MultiTaskData.from_arrays(X, Y, tasks=["a", "b"])
    with pytest.raises(DataError, match="test_fraction"):
        MultiTaskData.from_arrays(X, Y, test_fraction=1.0)
    with pytest.raises(DataError, match="labels must be 0, 1 or NaN"):
        MultiTaskData.from_arrays(X, np.where(np.isnan(Y), np.nan, 2.0))
    one = MultiTaskData.from_arrays(X, Y[:, 0])  # 1-D labels are one task
    assert one.tasks == ("task_0",)
