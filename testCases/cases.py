"""Test-case inputs of the original assignment, regenerated rather than typed in.

Every generator seeds NumPy's global RNG with 1 and draws in the original order, so the arrays equal the original
``testCases`` values (which were stored rounded to 8 decimals; we round the same way, so they match exactly).
Shapes: ``X -- (3, 5)``, ``Y -- (1, 5)``, ``W1 -- (2, 3)``, ``b1 -- (2, 1)``, ``W2 -- (3, 2)``, ``b2 -- (3, 1)``,
``W3 -- (1, 3)``, ``b3 -- (1, 1)``.
"""

import numpy as np

from reg_utils.network import forward_propagation

#: Labels shared by every test case.
Y_ASSESS = np.array([[1, 1, 0, 1, 0]])

_DECIMALS = 8


def _draw_parameters():
    """Draw W1, b1, W2, b2, W3, b3 from the global RNG, in the original order."""
    shapes = (("W1", (2, 3)), ("b1", (2, 1)), ("W2", (3, 2)), ("b2", (3, 1)), ("W3", (1, 3)), ("b3", (1, 1)))
    return {name: np.random.randn(*shape) for name, shape in shapes}


def _rounded(arrays):
    """Round float arrays to the original's 8 decimals; leave boolean masks as they are."""
    return tuple(a if a.dtype == bool else np.round(a, _DECIMALS) for a in arrays)


def _seeded_inputs():
    """Seed 1, then X (3, 5) and the parameters: the start of every backward and dropout case."""
    np.random.seed(1)
    X = np.random.randn(3, 5)
    return X, _draw_parameters()


def compute_cost_with_regularization_test_case():
    """Inputs of the L2 cost check.

    Returns:
    a3 -- output probabilities, (1, 5)
    Y -- labels, (1, 5)
    parameters -- dict with W1 (2, 3), b1 (2, 1), W2 (3, 2), b2 (3, 1), W3 (1, 3), b3 (1, 1)
    """
    np.random.seed(1)
    parameters = _draw_parameters()
    a3 = np.array([[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    return a3, Y_ASSESS.copy(), parameters


def backward_propagation_with_regularization_test_case():
    """Inputs of the L2 backward check: the plain forward pass of X with the drawn parameters.

    Returns:
    X -- (3, 5)
    Y -- (1, 5)
    cache -- (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3), as forward_propagation returns it
    """
    X, parameters = _seeded_inputs()
    _, cache = forward_propagation(X, parameters)
    cache = _rounded(cache)
    return np.round(X, _DECIMALS), Y_ASSESS.copy(), cache


def forward_propagation_with_dropout_test_case():
    """Inputs of the dropout forward check.

    Returns:
    X -- (3, 5)
    parameters -- dict with W1 (2, 3), b1 (2, 1), W2 (3, 2), b2 (3, 1), W3 (1, 3), b3 (1, 1)
    """
    X, parameters = _seeded_inputs()
    return X, parameters


def backward_propagation_with_dropout_test_case():
    """Inputs of the dropout backward check: the cache of a forward pass with inverted dropout at keep_prob = 0.5.

    The values are stored, as in the original, because computing them would take a reference solution of
    Exercise 3. How they arise (``tests/test_test_cases.py`` regenerates them this way): after the X and
    parameters of the other cases, ``np.random.seed(1)`` and then the masks, D1 then D2, as ``rand < 0.5``; the
    cached A1 and A2 are the activations after the mask and the 1/keep_prob scaling. Rounded to 8 decimals.

    Returns:
    X -- (3, 5)
    Y -- (1, 5)
    cache -- (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3); D1 (2, 5) and D2 (3, 5) are boolean
    """
    X, p = _seeded_inputs()
    Z1 = np.array([[-1.52855314, 3.32524635, 2.13994541, 2.60700654, -0.75942115],
                   [-1.98043538, 4.1600994, 0.79051021, 1.46493512, -0.45506242]])
    D1 = np.array([[True, False, True, True, True],
                   [True, True, True, True, False]])
    A1 = np.array([[0., 0., 4.27989081, 5.21401307, 0.],
                   [0., 8.32019881, 1.58102041, 2.92987024, 0.]])
    Z2 = np.array([[0.53035547, 8.02565606, 4.10524802, 5.78975856, 0.53035547],
                   [-0.69166075, -1.71413186, -3.81223329, -4.61667916, -0.69166075],
                   [-0.39675353, -2.62563561, -4.82528105, -6.0607449, -0.39675353]])
    D2 = np.array([[True, False, True, False, True],
                   [False, True, False, True, True],
                   [False, False, True, False, False]])
    A2 = np.array([[1.06071093, 0., 8.21049603, 0., 1.06071093],
                   [0., 0., 0., 0., 0.],
                   [0., 0., 0., 0., 0.]])
    Z3 = np.array([[-0.7415562, -0.0126646, -5.65469333, -0.0126646, -0.7415562]])
    A3 = np.array([[0.32266394, 0.49683389, 0.00348883, 0.49683389, 0.32266394]])
    W1, b1, W2, b2, W3, b3 = _rounded([p[k] for k in ("W1", "b1", "W2", "b2", "W3", "b3")])
    cache = (Z1, D1, A1, W1, b1, Z2, D2, A2, W2, b2, Z3, A3, W3, b3)
    return np.round(X, _DECIMALS), Y_ASSESS.copy(), cache
