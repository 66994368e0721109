"""Using a trained MLP: class probabilities, predictions, and the loss and accuracy on a whole set (never dropout).

Who uses it: students call ``mlp_forward``, ``predict_mlp`` and ``evaluate_mlp`` (imported from ``reg_utils``); the
trainer (``reg_utils.mlp``) calls ``evaluate_rows`` after every epoch for its history. Examples are columns:
``X -- (n_x, m)``; a set is evaluated in chunks of ``EVAL_CHUNK`` examples, which bounds the memory of the
activations, every product going through SciPy's BLAS for float32 and float64 (``reg_utils.blas``).
"""

import numpy as np

from .blas import blas_functions
from .mlp_model import (Workspace, checked_X, forward_pass, labels_of, layer_dims_of, softmax_cross_entropy,
                        workspace_for)

#: Examples per chunk when evaluating a whole set (bounds the memory of the activations).
EVAL_CHUNK = 2048


def mlp_forward(X, parameters):
    """Class probabilities of the network, without dropout.

    Arguments:
    X -- (n_x, m) inputs
    parameters -- dict "W1" (n_h1, n_x), "b1" (n_h1, 1), ..., "WL" (n_y, n_h(L-1)), "bL" (n_y, 1)

    Returns:
    AL -- (n_y, m) softmax probabilities; every column sums to 1
    """
    layer_dims = layer_dims_of(parameters)
    X = checked_X(X, layer_dims[0], "X", parameters["W1"].dtype)
    X_rows = np.ascontiguousarray(X.T)
    blas = blas_functions(X.dtype)
    AL = np.empty((layer_dims[-1], X.shape[1]), dtype=X.dtype)
    for start in range(0, X.shape[1], EVAL_CHUNK):
        X_chunk = X_rows[start:start + EVAL_CHUNK].T
        logits, _ = forward_pass(X_chunk, parameters, Workspace(layer_dims, X_chunk.shape[1], X.dtype), blas)
        logits -= logits.max(axis=0, keepdims=True)
        np.exp(logits, out=logits)
        AL[:, start:start + EVAL_CHUNK] = logits / logits.sum(axis=0)
    return AL


def predict_mlp(X, parameters):
    """Predicted digit of each example (the most probable class).

    Arguments:
    X -- (n_x, m) inputs
    parameters -- the trained network's parameters

    Returns:
    predictions -- (1, m) integer labels
    """
    return mlp_forward(X, parameters).argmax(axis=0).reshape(1, -1)


def evaluate_mlp(X, Y, parameters):
    """Mean cross-entropy (without any penalty) and accuracy of the network on a set, without dropout.

    Arguments:
    X -- (n_x, m) inputs
    Y -- (n_y, m) one-hot labels or (1, m) integer labels
    parameters -- the network's parameters

    Returns:
    loss -- float
    accuracy -- float in [0, 1]
    """
    layer_dims = layer_dims_of(parameters)
    X = checked_X(X, layer_dims[0], "X", parameters["W1"].dtype)
    labels = labels_of(Y, layer_dims[-1], X.shape[1], "Y")
    return evaluate_rows(np.ascontiguousarray(X.T), labels, parameters, layer_dims, {})


def evaluate_rows(X_rows, labels, parameters, layer_dims, workspaces):
    """Loss and accuracy on a set in chunks, reusing the workspaces.

    Arguments:
    X_rows -- (m, n_x) C-contiguous, one example per row: every chunk X_rows[i:j].T is then an (n_x, b) block that
              the BLAS reads in place, without a copy
    labels -- (m,) integer labels
    parameters -- the network's parameters
    layer_dims -- [n_x, n_h1, ..., n_y]
    workspaces -- dict {chunk size: Workspace}, filled on first use and kept by the caller for the next epoch

    Returns:
    loss -- float, mean cross-entropy;  accuracy -- float in [0, 1]
    """
    m = X_rows.shape[0]
    blas = blas_functions(X_rows.dtype)
    total_loss, total_correct = 0.0, 0
    for start in range(0, m, EVAL_CHUNK):
        X_chunk = X_rows[start:start + EVAL_CHUNK].T
        b = X_chunk.shape[1]
        ws = workspace_for(workspaces, layer_dims, b, X_rows.dtype)
        logits, _ = forward_pass(X_chunk, parameters, ws, blas)
        loss, correct = softmax_cross_entropy(logits, labels[start:start + b], ws, gradient=False)
        total_loss += loss * b
        total_correct += correct
    return total_loss / m, total_correct / m
