"""Element-wise activation functions used by the baseline network."""

import numpy as np


def sigmoid(x):
    """Logistic sigmoid, element-wise.

    Arguments:
    x -- scalar or numpy array of any shape

    Returns:
    s -- sigmoid(x), same shape as x
    """
    return 1 / (1 + np.exp(-x))


def relu(x):
    """Rectified linear unit, element-wise: max(0, x).

    Arguments:
    x -- scalar or numpy array of any shape

    Returns:
    s -- relu(x), same shape as x
    """
    return np.maximum(0, x)
