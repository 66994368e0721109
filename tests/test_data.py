"""The goalkeeper dataset: generated sklearn-style, shipped, and loaded from our format or the original's."""

import numpy as np
import pytest
import scipy.io

from reg_utils import DatasetError, load_2D_dataset, make_football
from reg_utils.data import DEFAULT_DATASET, FOOTBALL_SEED, save_dataset


def test_shipped_dataset_equals_the_generator_output():
    shipped = load_2D_dataset()
    generated = make_football(random_state=FOOTBALL_SEED)
    for got, want in zip(shipped, generated):
        assert np.array_equal(got, want)


def test_shipped_dataset_has_211_training_and_200_test_points_in_columns():
    train_X, train_Y, test_X, test_Y = load_2D_dataset()
    assert train_X.shape == (2, 211) and train_Y.shape == (1, 211)
    assert test_X.shape == (2, 200) and test_Y.shape == (1, 200)
    assert train_X.dtype == np.float64 and train_Y.dtype == np.int64


def test_points_lie_on_the_field_of_the_original_plots():
    for X in load_2D_dataset()[::2]:
        assert X[0].min() > -0.75 and X[0].max() < 0.4
        assert X[1].min() > -0.75 and X[1].max() < 0.65


def test_both_teams_are_well_represented():
    _, train_Y, _, test_Y = load_2D_dataset()
    assert 0.35 < train_Y.mean() < 0.65 and 0.35 < test_Y.mean() < 0.65


def test_make_football_is_reproducible_and_takes_a_generator():
    a = make_football(random_state=7)
    b = make_football(random_state=np.random.default_rng(7))
    c = make_football(random_state=8)
    assert all(np.array_equal(x, y) for x, y in zip(a, b))
    assert not np.array_equal(a[0], c[0])


def test_make_football_leaves_the_global_rng_alone():
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    make_football(random_state=1)
    assert np.random.rand() == expected


def test_make_football_without_noise_separates_the_classes_by_the_boundary():
    X, Y, _, _ = make_football(500, 10, noise=0.0, flip=0.0, random_state=0)
    from reg_utils.data import _boundary

    assert np.array_equal(Y[0], (X[1] > _boundary(X[0])).astype(int))


@pytest.mark.parametrize("kwargs, word", [({"n_train": 0}, "n_train"), ({"n_test": 2.5}, "n_test"),
                                          ({"noise": -1}, "noise"), ({"flip": 1.0}, "flip")])
def test_make_football_rejects_bad_arguments_by_name(kwargs, word):
    with pytest.raises(ValueError, match=word):
        make_football(**kwargs)


def test_loader_reads_the_original_mat_format_with_examples_in_rows(tmp_path):
    train_X, train_Y, test_X, test_Y = make_football(random_state=2)
    path = tmp_path / "data.mat"
    scipy.io.savemat(path, {"X": train_X.T, "y": train_Y.T.astype(np.uint8), "Xval": test_X.T,
                            "yval": test_Y.T.astype(np.uint8)})
    loaded = load_2D_dataset(path)
    for got, want in zip(loaded, (train_X, train_Y, test_X, test_Y)):
        assert np.array_equal(got, want)


def test_loader_reads_our_npz_format(tmp_path):
    data = make_football(random_state=4)
    save_dataset(tmp_path / "mine.npz", *data)
    assert all(np.array_equal(a, b) for a, b in zip(load_2D_dataset(tmp_path / "mine.npz"), data))


def test_loader_has_no_plotting_side_effect():
    import matplotlib.pyplot as plt

    plt.close("all")
    load_2D_dataset()
    assert plt.get_fignums() == []


def test_loader_names_the_path_of_a_missing_file(tmp_path):
    missing = tmp_path / "nowhere.mat"
    with pytest.raises(FileNotFoundError, match="nowhere.mat"):
        load_2D_dataset(missing)


def test_loader_rejects_a_corrupt_file_with_a_clear_error(tmp_path):
    for name in ("broken.npz", "broken.mat"):
        path = tmp_path / name
        path.write_bytes(b"this is not a dataset")
        with pytest.raises(DatasetError, match=name):
            load_2D_dataset(path)


def _mat_file(tmp_path, name, **overrides):
    """A small data.mat in the original format (3 training points, 2 test points), with some keys replaced or
    removed (a value of None removes the key)."""
    arrays = {"X": np.zeros((3, 2)), "y": np.zeros((3, 1)), "Xval": np.zeros((2, 2)), "yval": np.zeros((2, 1))}
    arrays.update(overrides)
    path = tmp_path / name
    scipy.io.savemat(path, {k: v for k, v in arrays.items() if v is not None})
    return path


def test_loader_rejects_mat_file_without_Xval(tmp_path):
    with pytest.raises(DatasetError, match="expected keys"):
        load_2D_dataset(_mat_file(tmp_path, "partial.mat", Xval=None))


def test_loader_rejects_labels_that_do_not_match_the_points(tmp_path):
    with pytest.raises(DatasetError, match=r"train_Y has shape \(1, 4\), expected \(1, 3\)"):
        load_2D_dataset(_mat_file(tmp_path, "mismatch.mat", y=np.zeros((4, 1))))


def test_loader_rejects_points_with_three_features(tmp_path):
    with pytest.raises(DatasetError, match=r"train_X must have shape \(2, m\)"):
        load_2D_dataset(_mat_file(tmp_path, "threed.mat", X=np.zeros((3, 3))))


def test_loader_rejects_labels_other_than_0_and_1(tmp_path):
    with pytest.raises(DatasetError, match="labels 0 and 1"):
        load_2D_dataset(_mat_file(tmp_path, "labels.mat", y=np.array([[0], [1], [2]])))


def test_loader_rejects_unknown_formats(tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("1,2\n")
    with pytest.raises(DatasetError, match="unknown dataset format"):
        load_2D_dataset(path)


def test_shipped_file_is_inside_the_package():
    assert DEFAULT_DATASET.parent.parent.name == "reg_utils" and DEFAULT_DATASET.is_file()
