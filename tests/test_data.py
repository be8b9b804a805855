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
