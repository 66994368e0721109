"""Test-case inputs of the deep-network assignment (DeepRegularization): small, typed-in arrays.

The values are written out (two decimals) rather than drawn, so that they are the same with every NumPy version.
Examples are columns: ``A -- (n_l, m)``.
"""

import numpy as np

#: Mini-batch size and strengths used by the public checks.
M = 5
L2_LAMBD = 0.7
L1_LAMBD = 0.3
DROPOUT_FORWARD_KEEP_PROB = 0.7
DROPOUT_BACKWARD_KEEP_PROB = 0.8


def regularization_test_case():
    """Parameters of a 3-layer network 4 -> 3 -> 2 -> 1, and the batch size m.

    Returns:
    parameters -- dict "W1" (3, 4), "b1" (3, 1), "W2" (2, 3), "b2" (2, 1), "W3" (1, 2), "b3" (1, 1)
    m -- int, the number of examples the cost averages over
    """
    parameters = {
        "W1": np.array([[1.62, -0.61, -0.53, -1.07],
                        [0.87, -2.30, 1.74, -0.76],
                        [0.32, -0.25, 1.46, -2.06]]),
        "b1": np.array([[-0.32], [-0.38], [1.13]]),
        "W2": np.array([[-1.10, -0.17, -0.88],
                        [0.04, 0.58, -1.10]]),
        "b2": np.array([[1.14], [0.90]]),
        "W3": np.array([[0.50, -0.68]]),
        "b3": np.array([[-0.12]]),
    }
    return parameters, M


def dropout_forward_test_case():
    """Activations of a hidden layer (after ReLU): A -- (4, 5)."""
    return np.array([[0.00, 1.20, 0.35, 2.10, 0.48],
                     [0.92, 0.00, 0.15, 0.66, 1.71],
                     [0.27, 0.83, 0.00, 0.00, 0.59],
                     [1.35, 0.04, 0.77, 0.61, 0.00]])


def dropout_backward_test_case():
    """The gradient that flows back to a hidden layer, and the mask of its forward pass.

    Returns:
    dA -- (4, 5) gradient of the cost with respect to the layer's output
    mask -- (4, 5) bool, True where the unit was kept
    """
    dA = np.array([[0.23, -0.51, 0.07, 0.94, -0.38],
                   [-0.12, 0.66, -0.85, 0.31, 0.02],
                   [0.47, -0.09, 0.58, -0.74, 0.19],
                   [-0.63, 0.28, -0.16, 0.05, 0.81]])
    mask = np.array([[True, False, True, True, False],
                     [True, True, False, True, True],
                     [False, True, True, True, True],
                     [True, True, True, False, True]])
    return dA, mask
