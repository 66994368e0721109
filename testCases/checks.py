"""Public checks, one per graded function, run by the student right after each exercise.

Each check calls the student's function on the original test case, checks types, shapes and values against the
stored reference outputs (``testCases.expected``), and prints one pass line. A wrong answer raises ``CheckFailed``
(an ``AssertionError``) naming the variable, expected against got, and a hint; when the wrong value is one that a
known mistake produces, the hint names that mistake.
"""

import copy

import numpy as np

from reg_utils.network import forward_propagation

from . import cases, expected
from .feedback import (call_student, check_array, check_dict, check_number, check_tuple, fail,
                       find_known_mistake, passed, unpack_pair)

#: Share of the points a dropout forward pass keeps when it is right but reseeds the generator inside.
RESEED_CREDIT = 0.5

#: The gradient keys every backward function returns, in the order they are computed (and checked).
GRADIENT_KEYS = ("dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1")


def _known_mistake(function_name, variable, got):
    """(description, credit) of the first known mistake whose output for `variable` equals `got`, else None."""
    return find_known_mistake(expected.KNOWN_MISTAKES, function_name, variable, got)


def _hint(function_name, variable, got, default):
    """Keyword arguments (hint, credit) for a check: the known mistake that `got` matches, else the default hint."""
    known = _known_mistake(function_name, variable, got)
    if known is None:
        return {"hint": default}
    return {"hint": known[0], "credit": known[1]}


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
        check_array(key, grads[key], reference[key], **_hint(function_name, key, grads[key], default_hints.get(key[:2])))


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
    check_number("cost", cost, expected.COST, **_hint(
        name, "cost", cost, "cost = cross-entropy + lambd / (2 * m) * (sum of the squares of every entry of W1, W2 "
                            "and W3); biases are not regularized."))
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
    (``np.random.rand(...) < keep_prob``, D1 then D2) reproduce the reference values. Masks drawn another correct
    way (``np.random.binomial``, another call order) cannot match them; the outputs are then checked against the
    student's own masks. Finally the function is called a second time, unseeded, and must draw new masks: a function
    that reseeds inside would drop the same units at every iteration.

    Arguments:
    target -- the student's forward_propagation_with_dropout(X, parameters, keep_prob)
    """
    __tracebackhide__ = True
    name = "forward_propagation_with_dropout"
    keep_prob = expected.DROPOUT_FORWARD_KEEP_PROB
    X, parameters = cases.forward_propagation_with_dropout_test_case()
    before = copy.deepcopy(parameters)
    ref = expected.DROPOUT_FORWARD
    own_mask = ("each layer needs its own mask of its own shape: D1 like A1, then D2 like A2, each drawn with "
                "np.random.rand(A.shape[0], A.shape[1]).")
    line_hints = ((("A2", "D1"), own_mask), (("D2", "D1"), own_mask), (("A2", "D2"), own_mask),
                  (("A1", "D1"), own_mask))
    np.random.seed(1)
    A3, cache = unpack_pair(name, call_student(target, X, parameters, keep_prob=keep_prob, line_hints=line_hints))
    _check_not_modified(name, "parameters", before, parameters)
    check_tuple("cache", cache, 14)
    masks = {"D1": cache[1], "D2": cache[6]}
    for mask_name, mask in masks.items():
        if not isinstance(mask, np.ndarray) or mask.shape != ref[mask_name].shape or not np.isin(mask, (0, 1)).all():
            check_array(mask_name, mask, ref[mask_name].astype(float), dtype_kind="b")  # says what is wrong
    outputs = {"A1": cache[2], "A2": cache[7], "A3": A3}
    drawn_as_instructed = all(np.array_equal(np.asarray(masks[k], dtype=bool), ref[k]) for k in masks)
    if drawn_as_instructed:
        scale_hint = "after masking (A * D), divide by keep_prob so that the expected value of A is unchanged."
        for var, value in outputs.items():
            check_array(var, value, ref[var], **_hint(name, var, value, scale_hint))
        note = ""
    else:
        for mask_name, mask in masks.items():
            known = _known_mistake(name, mask_name, np.asarray(mask, dtype=float))
            if known is not None:
                fail(f"{mask_name} differs from the mask the instructions draw", known[0], known[1])
        known = _known_mistake(name, "A3", A3)
        if known is not None:
            fail("A3 is wrong", known[0], known[1])
        _check_follows_from_masks(X, parameters, keep_prob, cache, A3)
        note = (" (your masks were drawn differently from the instructions, so the values were checked against "
                "your own masks)")
    # Unseeded second call: fresh masks are expected (the chance that all 25 entries repeat is about 1e-6).
    _, cache2 = unpack_pair(name, call_student(target, X, parameters, keep_prob=keep_prob))
    check_tuple("cache", cache2, 14)
    if np.array_equal(cache2[1], masks["D1"]) and np.array_equal(cache2[6], masks["D2"]):
        fail("a second call drew exactly the same masks D1 and D2: your function reseeds the random generator",
             "remove np.random.seed(...) from the function; with it, every iteration drops the same units.",
             RESEED_CREDIT)
    passed(f"A3 = {np.array2string(np.asarray(A3), precision=8)}{note}")


def _check_follows_from_masks(X, parameters, keep_prob, cache, A3):
    """Check Z2, Z3 and A3 against the student's own masks, one example at a time.

    For one example j, masking A1 with the column D1[:, j] and dividing by keep_prob is the same as scaling the
    columns of W2 by D1[:, j] / keep_prob (and likewise W3 with D2), so the plain forward pass of reg_utils with
    those weights gives what the dropout forward pass must output for that example.
    """
    __tracebackhide__ = True
    D1 = np.asarray(cache[1], dtype=float)
    D2 = np.asarray(cache[6], dtype=float)
    for j in range(X.shape[1]):
        thinned = dict(parameters)
        thinned["W2"] = parameters["W2"] * D1[:, j] / keep_prob
        thinned["W3"] = parameters["W3"] * D2[:, j] / keep_prob
        want_A3, want_cache = forward_propagation(X[:, j:j + 1], thinned)
        for var, got, want in (("Z2", cache[5], want_cache[4]), ("Z3", cache[10], want_cache[8]),
                               ("A3", A3, want_A3)):
            got = np.asarray(got, dtype=float)
            if got.ndim != 2 or got.shape[1] != X.shape[1]:
                fail(f"{var} has shape {got.shape}, expected ({want.shape[0]}, {X.shape[1]})")
            if not np.allclose(got[:, j], want[:, 0], rtol=1e-6, atol=1e-7):
                fail(f"{var}[:, {j}] does not follow from your masks: got {np.round(got[:, j], 8).tolist()}, "
                     f"expected {np.round(want[:, 0], 8).tolist()} for the D1 and D2 in your cache",
                     "apply each mask to its own layer (A1 * D1, A2 * D2), divide by keep_prob, and put the masked "
                     "activations in the cache.")


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
