"""Public checks of the deep-network assignment (DeepRegularization), one per graded function.

Each check calls the student's function on the cases of ``testCases.deep_cases``, checks types, shapes and values
against the stored reference outputs (``testCases.deep_expected``), and prints one pass line. A wrong answer raises
``CheckFailed`` (an ``AssertionError``) naming the variable, expected against got, and a hint; when the wrong value
is one that a known mistake produces, the hint names that mistake.

The dropout checks accept any way of drawing the mask (``np.random.rand``, ``np.random.random``, a Generator, ...):
they check what every correct mask does (its share of kept units, the scaling of the kept ones, fresh masks on
every call) rather than one particular mask.
"""

import copy

import numpy as np

from . import deep_cases as cases
from . import deep_expected as expected
from .feedback import call_student, check_array, check_dict, check_number, fail, find_known_mistake, passed

#: Size of the array on which the share of kept units is measured; with 20,000 units the share has a standard
#: deviation below 0.0035, so the tolerance 0.02 is more than five standard deviations.
_SHARE_SHAPE = (100, 200)
_SHARE_TOLERANCE = 0.02


#: Shares of the points that a dropout_forward keeps when it is right but for one property: it reseeds the
#: generator (every call drops the same units), it ignores training=False, or it keeps a unit when its random
#: number is above keep_prob (a share 1 - keep_prob).
RESEED_CREDIT = 0.5
TRAINING_IGNORED_CREDIT = 0.5
GREATER_THAN_CREDIT = 0.25


def _mistake(function_name, variable, got, default):
    """Keyword arguments (hint, credit) for a check: the first known mistake whose output for `variable` equals
    `got` (its description and share of the points), else the default hint."""
    known = find_known_mistake(expected.KNOWN_MISTAKES, function_name, variable, got)
    return {"hint": default} if known is None else {"hint": known[0], "credit": known[1]}


def _unpack_pair(function_name, got, names):
    """Fail unless got is a pair; return it. `names` is how the docstring calls the two values."""
    __tracebackhide__ = True
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        kind = f"a tuple of {len(got)}" if isinstance(got, (tuple, list)) else type(got).__name__
        fail(f"{function_name} returned {kind}, expected the pair ({names[0]}, {names[1]})",
             f"end the function with `return {names[0]}, {names[1]}`.")
    return got


def _check_not_modified(function_name, name, before, after):
    """Fail if the student's function changed an input array (or a dict of arrays) in place."""
    __tracebackhide__ = True
    pairs = before.items() if isinstance(before, dict) else [(None, before)]
    for key, value in pairs:
        now = after[key] if key is not None else after
        if not np.array_equal(value, now):
            where = f"{name}[{key!r}]" if key is not None else name
            fail(f"{function_name} modified its input {where} in place",
                 "compute new arrays (W ** 2, A * mask) instead of in-place updates (W **= 2, A *= mask) on inputs.")


def _check_mask(name, mask, shape):
    """Fail unless mask is an array of the given shape holding only 0/1 (or False/True)."""
    __tracebackhide__ = True
    if mask is None:
        fail(f"{name} is None, expected an array of shape {shape}", f"assign {name} and return it.")
    if not isinstance(mask, np.ndarray):
        fail(f"{name} has type {type(mask).__name__}, expected a numpy array of shape {shape}")
    if mask.shape != shape:
        fail(f"{name} has shape {mask.shape}, expected {shape}",
             "the mask has the shape of A: one entry per unit and example, e.g. np.random.rand(*A.shape).")
    if not (mask.dtype == bool or np.issubdtype(mask.dtype, np.number)) or not np.all(np.isin(mask, (0, 1))):
        fail(f"{name} should hold only 0/1 (or False/True), got values {np.unique(mask)[:5].tolist()}",
             "a mask is a comparison such as (random numbers in [0, 1)) < keep_prob, before any scaling.")


def _check_regularization(function_name, target, penalty_ref, grads_ref, lambd, default_hints):
    """Shared body of the L2 and L1 checks."""
    __tracebackhide__ = True
    parameters, m = cases.regularization_test_case()
    before = copy.deepcopy(parameters)
    penalty, grads_term = _unpack_pair(function_name, call_student(target, parameters, lambd, m),
                                       ("penalty", "grads_term"))
    _check_not_modified(function_name, "parameters", before, parameters)
    check_number("penalty", penalty, penalty_ref,
                 **_mistake(function_name, "penalty", penalty, default_hints["penalty"]))
    check_dict("grads_term", grads_term, list(grads_ref))
    for key in grads_ref:
        check_array(f"grads_term[{key!r}]", grads_term[key], grads_ref[key],
                    **_mistake(function_name, key, grads_term[key], default_hints["dW"]))
    for key, value in grads_term.items():
        if key.startswith("db") and np.any(np.asarray(value, dtype=np.float64) != 0):
            fail(f"grads_term has a non-zero entry {key!r}", "biases are not regularized: leave them out.")
    return penalty, grads_term


def l2_regularization_test(target):
    """Check l2_regularization on a 3-layer network with lambd = 0.7 and m = 5.

    Arguments:
    target -- the student's l2_regularization(parameters, lambd, m)
    """
    __tracebackhide__ = True
    penalty, grads_term = _check_regularization("l2_regularization", target, expected.L2_PENALTY,
                                                expected.L2_GRADS_TERM, cases.L2_LAMBD, {
        "penalty": "penalty = lambd / (2 * m) * (sum of the squares of every entry of W1, W2 and W3); biases "
                   "are not regularized.",
        "dW": "the gradient of lambd / (2 * m) * sum(W ** 2) with respect to W is lambd / m * W.",
    })
    passed(f"penalty = {float(penalty)!r}, grads_term['dW1'][0, 0] = {float(grads_term['dW1'][0, 0])!r}")


def l1_regularization_test(target):
    """Check l1_regularization on a 3-layer network with lambd = 0.3 and m = 5.

    Arguments:
    target -- the student's l1_regularization(parameters, lambd, m)
    """
    __tracebackhide__ = True
    penalty, grads_term = _check_regularization("l1_regularization", target, expected.L1_PENALTY,
                                                expected.L1_GRADS_TERM, cases.L1_LAMBD, {
        "penalty": "penalty = lambd / m * (sum of the absolute values of every entry of W1, W2 and W3), with no "
                   "1/2: there is no square whose 2 it would cancel.",
        "dW": "the (sub)gradient of lambd / m * sum(|W|) is lambd / m * np.sign(W): it does not depend on the "
              "size of W.",
    })
    passed(f"penalty = {float(penalty)!r}, grads_term['dW1'][0, 0] = {float(grads_term['dW1'][0, 0])!r}")


def _dropout_call(target, A, keep_prob, **kwargs):
    """Call the student's dropout_forward and check the pair (A_out, mask): types, shapes, finite values."""
    __tracebackhide__ = True
    A_out, mask = _unpack_pair("dropout_forward", call_student(target, A, keep_prob, **kwargs), ("A_out", "mask"))
    _check_mask("mask", mask, A.shape)
    if A_out is None:
        fail(f"A_out is None, expected an array of shape {A.shape}", "assign A_out and return it.")
    if not isinstance(A_out, np.ndarray):
        fail(f"A_out has type {type(A_out).__name__}, expected a numpy array of shape {A.shape}")
    if A_out.shape != A.shape:
        fail(f"A_out has shape {A_out.shape}, expected {A.shape}", "A_out has the shape of A.")
    if not np.all(np.isfinite(A_out)):
        fail("A_out contains nan or inf", "divide by keep_prob (a number in (0, 1]), not by the mask.")
    return A_out, mask


def _check_scaling(A, A_out, mask, keep_prob):
    """Fail unless A_out is 0 where mask is 0 and A / keep_prob where mask is 1."""
    __tracebackhide__ = True
    kept = mask.astype(bool)
    dropped_wrong = np.argwhere(~kept & (A_out != 0))
    if dropped_wrong.size:
        where = tuple(int(i) for i in dropped_wrong[0])
        fail(f"A_out differs at {list(where)}: got {A_out[where]:.8g}, expected 0.0 (mask is 0 there: the unit "
             "is dropped)", "multiply A by the mask, so that dropped units output 0.")
    want = np.where(kept, A / keep_prob, 0.0)
    close = np.isclose(A_out, want, rtol=1e-6, atol=1e-7)
    if not close.all():
        where = tuple(int(i) for i in np.argwhere(~close)[0])
        if np.allclose(A_out[kept], A[kept]):
            hint = "inverted dropout divides the kept activations by keep_prob, so their expected value stays A."
        elif np.allclose(A_out[kept], A[kept] * keep_prob):
            hint = "divide by keep_prob; do not multiply by it."
        else:
            hint = "A_out = A * mask / keep_prob: kept units are scaled up by 1 / keep_prob."
        fail(f"A_out differs at {list(where)}: got {A_out[where]:.8g}, expected {want[where]:.8g} "
             f"(the unit is kept, keep_prob = {keep_prob})", hint)


def _check_identity(target, A, case):
    """Fail unless the call described by `case` returns A unchanged and a mask of ones."""
    __tracebackhide__ = True
    keep_prob, kwargs, text = case
    # Everything else was checked before: a function that only ignores training=False keeps a share.
    credit = TRAINING_IGNORED_CREDIT if kwargs.get("training") is False else 0.0
    A_out, mask = _dropout_call(target, A, keep_prob, **kwargs)
    if not np.all(mask == 1):
        fail(f"with {text}, mask should be all ones (every unit kept), got {int(np.sum(mask == 0))} zeros",
             "when training is False, dropout must do nothing: return A and a mask of ones."
             if credit else "when keep_prob == 1, return A and np.ones(A.shape) without drawing a mask.",
             credit=credit)
    check_array("A_out", A_out, A, f"with {text}, dropout does nothing: return A unchanged (no scaling).",
                credit=credit)


def dropout_forward_test(target):
    """Check dropout_forward: masking and scaling, share of kept units, fresh masks, identity, bad keep_prob.

    Arguments:
    target -- the student's dropout_forward(A, keep_prob, training=True)
    """
    __tracebackhide__ = True
    name = "dropout_forward"
    keep_prob = cases.DROPOUT_FORWARD_KEEP_PROB
    A = cases.dropout_forward_test_case()
    before = A.copy()
    np.random.seed(1)
    A_out, mask = _dropout_call(target, A, keep_prob)
    _check_not_modified(name, "A", before, A)
    ref = expected.DROPOUT_FORWARD_SEEDED
    if np.array_equal(mask.astype(bool), ref["mask"]):
        # The mask drawn as the notebook suggests: the values must then be the reference's exactly.
        check_array("A_out", A_out, ref["A_out"], **_mistake(name, "A_out", A_out, None))
    _check_scaling(A, A_out, mask, keep_prob)

    ones = np.ones(_SHARE_SHAPE)
    for kp in (keep_prob, 0.25):
        big_out, big_mask = _dropout_call(target, ones, kp)
        share = float(np.mean(big_mask))
        if abs(share - kp) > _SHARE_TOLERANCE:
            reversed_ = abs(share - (1 - kp)) <= _SHARE_TOLERANCE
            hint = ("a unit is kept when its random number is BELOW keep_prob: (random < keep_prob) keeps a share "
                    "keep_prob." if reversed_ else
                    "draw one uniform number in [0, 1) per unit (np.random.rand(*A.shape)) and keep it when the "
                    "number is below keep_prob.")
            fail(f"with keep_prob = {kp}, the mask keeps {share:.1%} of {ones.size} units, expected about {kp:.0%}",
                 hint, credit=GREATER_THAN_CREDIT if reversed_ else 0.0)
        _check_scaling(ones, big_out, big_mask, kp)
    _, again = _dropout_call(target, ones, 0.25)
    if np.array_equal(again.astype(bool), big_mask.astype(bool)):
        fail("two calls drew exactly the same mask: dropout_forward reseeds the random generator",
             "remove any seeding from the function; with it, every step drops the same units.", credit=RESEED_CREDIT)

    for case in ((keep_prob, {"training": False}, "training=False"), (1.0, {}, "keep_prob = 1")):
        _check_identity(target, A, case)

    for bad in (0.0, 1.5, -0.2):
        try:
            target(A, bad)
        except ValueError:
            continue
        except Exception as exc:  # any other error is the wrong kind, not a crash of this check
            fail(f"dropout_forward(A, keep_prob={bad}) raised {type(exc).__name__}, expected ValueError",
                 "check keep_prob before anything else, and raise ValueError when it does not lie in (0, 1].")
        fail(f"dropout_forward(A, keep_prob={bad}) returned normally, expected a ValueError",
             "keep_prob is a probability of keeping a unit and must lie in (0, 1]; raise ValueError with a "
             "message that names keep_prob otherwise.")
    passed(f"A_out[0] = {np.array2string(A_out[0], precision=8)}, and the share of kept units is keep_prob")


def _another_mask(dA, mask, keep_prob, dA_out):
    """Whether dA_out is dA / keep_prob under some 0/1 mask other than the given one (a mask drawn anew)."""
    if not isinstance(dA_out, np.ndarray) or dA_out.shape != dA.shape or not np.all(np.isfinite(dA_out)):
        return False
    passed_through = ~np.isclose(dA_out, 0.0) | np.isclose(dA, 0.0)
    scaled = np.allclose(dA_out[passed_through], dA[passed_through] / keep_prob)
    return bool(scaled and not np.array_equal(passed_through, mask.astype(bool)))


def dropout_backward_test(target):
    """Check dropout_backward with keep_prob = 0.8, with a boolean and with a 0/1 integer mask.

    Arguments:
    target -- the student's dropout_backward(dA, mask, keep_prob)
    """
    __tracebackhide__ = True
    name = "dropout_backward"
    keep_prob = cases.DROPOUT_BACKWARD_KEEP_PROB
    dA, mask = cases.dropout_backward_test_case()
    before = dA.copy()
    hint_default = "dA_out = dA * mask / keep_prob: the same mask and the same scaling as the forward pass."
    for mask_kind, mask_value in (("bool", mask), ("0/1 int", mask.astype(np.int64))):
        dA_out = call_student(target, dA, mask_value, keep_prob)
        _check_not_modified(name, "dA", before, dA)
        known = _mistake(name, "dA_out", dA_out, hint_default)
        if isinstance(dA_out, np.ndarray) and dA_out.shape == dA.shape and np.allclose(dA_out, dA):
            known = {"hint": "apply the forward pass's mask: a dropped unit passes no gradient back."}
        elif _another_mask(dA, mask, keep_prob, dA_out):
            known = {"hint": "the backward pass must reuse the forward pass's mask, not draw a new one."}
        check_array(f"dA_out (with a {mask_kind} mask)", dA_out, expected.DROPOUT_BACKWARD, **known)
    passed(f"dA_out[0] = {np.array2string(dA_out[0], precision=8)}")
