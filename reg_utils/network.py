"""The baseline 3-layer network: LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID, without regularization.

Examples are columns: ``X -- (n_x, m)``. The functions keep the names, signatures and numerics of the original
deeplearning.ai ``reg_utils`` so that published results reproduce; the differences are fixes (``predict`` no longer
uses the removed ``np.int`` alias) and clearer errors.
"""

import numpy as np

from .activations import relu, sigmoid


def initialize_parameters(layer_dims):
    """Initialize the weights of an L-layer network, reproducibly.

    Seeds NumPy's global generator with 3 (as the original does, so that published numbers reproduce), then draws,
    layer by layer, ``W[l] = randn(n_l, n_{l-1}) / sqrt(n_{l-1})`` and sets ``b[l] = zeros((n_l, 1))``.

    Arguments:
    layer_dims -- list of layer sizes [n_x, n_h1, ..., n_y]

    Returns:
    parameters -- dict with "W1" (n_h1, n_x), "b1" (n_h1, 1), ..., "WL" (n_y, n_h(L-1)), "bL" (n_y, 1)
    """
    layer_dims = list(layer_dims)
    if len(layer_dims) < 2 or any(int(n) != n or n < 1 for n in layer_dims):
        raise ValueError(f"layer_dims must list at least two positive integer sizes, got {layer_dims!r}")
    # Seeding here (and only here) is the original behaviour; every model run starts from the same weights.
    np.random.seed(3)
    parameters = {}
    for l in range(1, len(layer_dims)):
        parameters["W" + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) / np.sqrt(layer_dims[l - 1])
        parameters["b" + str(l)] = np.zeros((layer_dims[l], 1))
    return parameters


def forward_propagation(X, parameters):
    """Forward pass of LINEAR->RELU->LINEAR->RELU->LINEAR->SIGMOID.

    Arguments:
    X -- input data, (n_x, m)
    parameters -- dict with "W1" (n_h1, n_x), "b1" (n_h1, 1), "W2" (n_h2, n_h1), "b2" (n_h2, 1),
                  "W3" (1, n_h2), "b3" (1, 1)

    Returns:
    A3 -- output probabilities, (1, m)
    cache -- tuple (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) for the backward pass
    """
    W1, b1 = parameters["W1"], parameters["b1"]
    W2, b2 = parameters["W2"], parameters["b2"]
    W3, b3 = parameters["W3"], parameters["b3"]

    Z1 = np.dot(W1, X) + b1
    A1 = relu(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = relu(Z2)
    Z3 = np.dot(W3, A2) + b3
    A3 = sigmoid(Z3)

    cache = (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3)
    return A3, cache


def backward_propagation(X, Y, cache):
    """Backward pass of the baseline network, without regularization.

    As in the original, ``dZ3`` already carries the 1/m factor, so ``dW3 = dZ3 . A2^T`` has no further 1/m.

    Arguments:
    X -- input data, (n_x, m)
    Y -- true labels, (1, m)
    cache -- the cache returned by forward_propagation

    Returns:
    gradients -- dict with "dZ3" (1, m), "dW3" (1, n_h2), "db3" (1, 1), "dA2" (n_h2, m), "dZ2", "dW2", "db2",
                 "dA1" (n_h1, m), "dZ1", "dW1" (n_h1, n_x), "db1" (n_h1, 1)
    """
    m = X.shape[1]
    (Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3, W3, b3) = cache

    dZ3 = 1.0 / m * (A3 - Y)
    dW3 = np.dot(dZ3, A2.T)
    db3 = np.sum(dZ3, axis=1, keepdims=True)

    dA2 = np.dot(W3.T, dZ3)
    dZ2 = np.multiply(dA2, np.int64(A2 > 0))
    dW2 = np.dot(dZ2, A1.T)
    db2 = np.sum(dZ2, axis=1, keepdims=True)

    dA1 = np.dot(W2.T, dZ2)
    dZ1 = np.multiply(dA1, np.int64(A1 > 0))
    dW1 = np.dot(dZ1, X.T)
    db1 = np.sum(dZ1, axis=1, keepdims=True)

    return {"dZ3": dZ3, "dW3": dW3, "db3": db3,
            "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2,
            "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def update_parameters(parameters, grads, learning_rate):
    """One step of gradient descent on every W and b.

    Arguments:
    parameters -- dict with "W1", "b1", ..., "WL", "bL"
    grads -- dict with "dW1", "db1", ..., "dWL", "dbL" of the same shapes
    learning_rate -- step size, float

    Returns:
    parameters -- a new dict with the updated arrays (the arrays passed in are not modified)
    """
    L = len(parameters) // 2
    updated = dict(parameters)
    for l in range(1, L + 1):
        for name in ("W", "b"):
            key = name + str(l)
            updated[key] = parameters[key] - learning_rate * grads["d" + key]
    return updated


def compute_cost(a3, Y):
    """Cross-entropy cost, ignoring NaN terms (as the original does).

    Arguments:
    a3 -- output probabilities, (1, m)
    Y -- true labels, (1, m)

    Returns:
    cost -- float, ``(1/m) * nansum(-Y*log(a3) - (1-Y)*log(1-a3))``
    """
    m = Y.shape[1]
    # errstate: a saturated sigmoid gives log(0); the original's nansum drops those terms, and we keep its value
    # without letting NumPy print a RuntimeWarning into the student's notebook.
    with np.errstate(divide="ignore", invalid="ignore"):
        logprobs = np.multiply(-np.log(a3), Y) + np.multiply(-np.log(1 - a3), 1 - Y)
    return float(1.0 / m * np.nansum(logprobs))


def predict(X, y, parameters):
    """Predict 0/1 labels with the trained network, print the accuracy and return the predictions.

    Arguments:
    X -- data, (n_x, m)
    y -- true labels, (1, m)
    parameters -- trained parameters of the 3-layer network

    Returns:
    p -- integer predictions, (1, m), values in {0, 1}
    """
    A3, _ = forward_propagation(X, parameters)
    p = (A3 > 0.5).astype(np.int64)
    print("Accuracy: " + str(np.mean(p[0, :] == np.asarray(y)[0, :])))
    return p


def predict_dec(parameters, X):
    """Predict boolean labels, for plotting a decision boundary.

    Arguments:
    parameters -- trained parameters of the 3-layer network
    X -- data, (n_x, m)

    Returns:
    predictions -- boolean array, (1, m): True where the network predicts class 1
    """
    A3, _ = forward_propagation(X, parameters)
    return A3 > 0.5
