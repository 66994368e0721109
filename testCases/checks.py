"""Public checks, one per graded function, run by the student right after each exercise.

Each check calls the student's function on the original test case, checks types, shapes and values against the
stored reference outputs (``testCases.expected``), and prints one pass line. A wrong answer raises ``CheckFailed``
(an ``AssertionError``) naming the variable, expected against got, and a hint; when the wrong value is one that a
known mistake produces, the hint names that mistake.
"""

import copy

import numpy as np

from . import cases, expected
from .feedback import (call_student, check_array, check_dict, check_number, check_tuple, fail, passed,
                       unpack_pair)

#: The gradient keys every backward function returns, in the order they are computed (and checked).
GRADIENT_KEYS = ("dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")


def _mistake_hint(function_name, variable, got, default):
    """The description of the first known mistake whose output for `variable` equals `got`, else `default`."""
    for description, outputs in expected.KNOWN_MISTAKES.get(function_name, ()):
        value = outputs.get(variable)
        if value is None:
            continue
        try:
            same = np.allclose(np.asarray(got, dtype=np.float64), value, rtol=1e-6, atol=1e-7)
        except (TypeError, ValueError):
            same = False
        if same and np.shape(got) == np.shape(value):
            return description
    return default


def _check_not_modified(function_name, name, before, after):
    """Fail if the student's function changed an input array in place."""
    __tracebackhide__ = True
    for key, value in before.items():
        if not np.array_equal(value, after[key]):
            fail(f"{function_name} modified its input {name}[{key!r}] in place",
                 "compute new arrays (W ** 2, W * D) instead of in-place updates (W **= 2, W *= D) on inputs.")


def _check_gradients(function_name, grads, reference, default_hints):
    """Check every gradient in computation order, so that the first reported error is the root cause."""
    __tracebackhide__ = True
    check_dict("grads", grads, GRADIENT_KEYS)
    for key in GRADIENT_KEYS:
        hint = _mistake_hint(function_name, key, grads[key], default_hints.get(key[:2], None))
        check_array(key, grads[key], reference[key], hint)


def compute_cost_with_regularization_test(target):
    """Check compute_cost_with_regularization on the original case with lambd = 0.1.

    Arguments:
    target -- the student's compute_cost_with_regularization(A3, Y, parameters, lambd)
    """
    __tracebackhide__ = True
    name = "compute_cost_with_regularization"
    a3, Y, parameters = cases.compute_cost_with_regularization_test_case()
    before = copy.deepcopy(parameters)
    cost = call_student(target, a3, Y, parameters, lambd=expected.COST_LAMBD)
    _check_not_modified(name, "parameters", before, parameters)
    hint = _mistake_hint(name, "cost", cost,
                         "cost = cross-entropy + lambd / (2 * m) * (sum of the squares of every entry of W1, W2 "
                         "and W3); biases are not regularized.")
    check_number("cost", cost, expected.COST, hint)
    passed(f"cost = {float(cost)!r}")


def backward_propagation_with_regularization_test(target):
    """Check backward_propagation_with_regularization on the original case with lambd = 0.7.

    Arguments:
    target -- the student's backward_propagation_with_regularization(X, Y, cache, lambd)
    """
    __tracebackhide__ = True
    name = "backward_propagation_with_regularization"
    X, Y, cache = cases.backward_propagation_with_regularization_test_case()
    grads = call_student(target, X, Y, cache, lambd=expected.L2_BACKWARD_LAMBD)
    _check_gradients(name, grads, expected.L2_BACKWARD, {
        "dW": "each dW gets the extra term lambd / m * W of its own layer, after the 1/m * np.dot(...) term.",
        "db": "biases are not regularized: db has no lambd term.",
    })
    passed("dW1, dW2 and dW3 include the L2 term; " + ", ".join(
        f"{k}[0, 0] = {grads[k][0, 0]:.8f}" for k in ("dW1", "dW2", "dW3")))


def forward_propagation_with_dropout_test(target):
    """Check forward_propagation_with_dropout on the original case with keep_prob = 0.7, seeded with 1.

    The check seeds NumPy's global RNG right before the call, so masks drawn as in the instructions
    (``np.random.rand(...) < keep_prob``, D1 then D2) reproduce the reference. It then calls the function a second
    time, unseeded, and expects new masks: a function that reseeds inside would drop the same units every time.

    Arguments:
    target -- the student's forward_propagation_with_dropout(X, parameters, keep_prob)
    """
    __tracebackhide__ = True
    name = "forward_propagation_with_dropout"
    X, parameters = cases.forward_propagation_with_dropout_test_case()
    before = copy.deepcopy(parameters)
    ref = expected.DROPOUT_FORWARD
    np.random.seed(1)
    own_mask = ("each layer needs its own mask of its own shape: D1 like A1, then D2 like A2, each drawn with "
                "np.random.rand(A.shape[0], A.shape[1]).")
    A3, cache = unpack_pair(name, call_student(target, X, parameters, keep_prob=expected.DROPOUT_FORWARD_KEEP_PROB,
                                               line_hints=((("A2", "D1"), own_mask), (("D2", "D1"), own_mask),
                                                           (("A2", "D2"), own_mask), (("A1", "D1"), own_mask))))
    _check_not_modified(name, "parameters", before, parameters)
    check_tuple("cache", cache, 14)
    D1, A1, D2, A2 = cache[1], cache[2], cache[6], cache[7]
    mask_hint = ("draw each mask with np.random.rand(A.shape[0], A.shape[1]) < keep_prob (True keeps the unit), "
                 "D1 before D2, and nothing else from np.random in between.")
    for mask_name, mask in (("D1", D1), ("D2", D2)):
        check_array(mask_name, mask, ref[mask_name], _mistake_hint(name, mask_name, mask, mask_hint), dtype_kind="b")
    scale_hint = "after masking (A * D), divide by keep_prob so that the expected value of A is unchanged."
    for var, value in (("A1", A1), ("A2", A2), ("A3", A3)):
        check_array(var, value, ref[var], _mistake_hint(name, var, value, scale_hint))
    # Unseeded second call: fresh masks are expected (the chance that all 25 entries repeat is about 1e-6).
    _, cache2 = unpack_pair(name, call_student(target, X, parameters, keep_prob=expected.DROPOUT_FORWARD_KEEP_PROB))
    check_tuple("cache", cache2, 14)
    if np.array_equal(cache2[1], D1) and np.array_equal(cache2[6], D2):
        fail("a second call drew exactly the same masks D1 and D2: your function reseeds the random generator",
             "remove np.random.seed(...) from the function; with it, every iteration drops the same units.")
    passed(f"A3 = {np.array2string(A3, precision=8)}")


def backward_propagation_with_dropout_test(target):
    """Check backward_propagation_with_dropout on the original case with keep_prob = 0.8.

    (The cache was made with keep_prob = 0.5 and the check runs backward with 0.8, as in the original assignment;
    the backward pass must use the keep_prob it is given.)

    Arguments:
    target -- the student's backward_propagation_with_dropout(X, Y, cache, keep_prob)
    """
    __tracebackhide__ = True
    name = "backward_propagation_with_dropout"
    X, Y, cache = cases.backward_propagation_with_dropout_test_case()
    swapped = "the masks are swapped: dA2 takes D2 and dA1 takes D1 (each layer's own mask)."
    grads = call_student(target, X, Y, cache, keep_prob=expected.DROPOUT_BACKWARD_KEEP_PROB,
                         line_hints=((("dA2", "D1"), swapped), (("dA1", "D2"), swapped)))
    _check_gradients(name, grads, expected.DROPOUT_BACKWARD, {
        "dA": "apply the same mask as the forward pass (dA2 with D2, dA1 with D1), then divide by keep_prob.",
    })
    passed(f"dA1 = {np.array2string(grads['dA1'], precision=8)}")
