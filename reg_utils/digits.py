"""scikit-learn's bundled 8x8 digits: a tiny, fast stand-in for MNIST in tests and quick experiments."""

import numpy as np

from .mnist import split_digits


def load_small_digits(*, validation_size=300, test_size=300, random_state=0, one_hot=False, dtype=np.float64):
    """Load scikit-learn's 1,797 8x8 digits (pixels 0..16, divided by 16 here), split stratified.

    Arguments:
    validation_size, test_size -- examples (int) or shares (float) held out
    random_state -- int seed of the stratified split
    one_hot -- if True, Y_* are (10, m_*) one-hot arrays; else (1, m_*) integer labels
    dtype -- float dtype of X_*

    Returns:
    DigitSplits -- X_train (64, 1197), Y_train (1, 1197) or (10, 1197), then validation and test, 300 each
    """
    from sklearn.datasets import load_digits

    X_rows, labels = load_digits(return_X_y=True)  # (1797, 64) in rows, as scikit-learn ships it
    return split_digits(X_rows / 16.0, labels, validation_size=validation_size, test_size=test_size,
                        random_state=random_state, one_hot_labels=one_hot, dtype=dtype)
