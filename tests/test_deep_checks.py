"""Public checks of DeepRegularization: the messages and scores that are specific to its exercises (the catalogue as a
whole, for every assignment, is tests/test_check_catalogue.py)."""

import re

import numpy as np
import pytest

import testCases
from course.assignments import get_assignment
from testCases import deep_expected
from tests.failures import failure_message, public_check

ASSIGNMENT = get_assignment("deep_regularization")
CHECKS = {name: public_check(name) for name in ASSIGNMENT.function_names}


@pytest.fixture(scope="module")
def solutions():
    return ASSIGNMENT.load_solutions()


# testCases/deep_expected.py as a whole is pinned by tests/test_expected_outputs.py.
def test_stored_expected_outputs_reproduce_from_the_solutions(solutions):
    fresh = ASSIGNMENT.expected_outputs(solutions)
    assert np.isclose(fresh["L2_PENALTY"], deep_expected.L2_PENALTY)
    assert np.array_equal(fresh["DROPOUT_BACKWARD"], deep_expected.DROPOUT_BACKWARD)


@pytest.mark.parametrize("name", list(CHECKS))
def test_check_explains_a_function_that_returns_none(name):
    message = failure_message(CHECKS[name], lambda *args, **kwargs: None)
    assert "None" in message or "NoneType" in message
    assert "Hint:" in message


@pytest.mark.parametrize("name", list(CHECKS))
def test_check_explains_an_exception_inside_the_student_function(name):
    def broken(*args, **kwargs):
        return np.dot(np.ones((2, 3)), np.ones((2, 3)))

    message = failure_message(CHECKS[name], broken)
    assert "raised ValueError" in message and "at line" in message and "Hint:" in message


def test_l2_check_names_the_missing_half(solutions):
    def no_half(parameters, lambd, m):
        penalty, grads_term = solutions["l2_regularization"](parameters, lambd, m)
        return 2 * penalty, grads_term

    message = failure_message(testCases.l2_regularization_test, no_half)
    assert "penalty is wrong" in message and "1/2 is missing" in message


def test_l2_check_reports_a_missing_key(solutions):
    def missing(parameters, lambd, m):
        penalty, grads_term = solutions["l2_regularization"](parameters, lambd, m)
        del grads_term["dW3"]
        return penalty, grads_term

    assert "lacks the key(s) dW3" in failure_message(testCases.l2_regularization_test, missing)


def test_l2_check_reports_a_wrong_shape(solutions):
    def transposed(parameters, lambd, m):
        penalty, grads_term = solutions["l2_regularization"](parameters, lambd, m)
        grads_term["dW1"] = grads_term["dW1"].T
        return penalty, grads_term

    message = failure_message(testCases.l2_regularization_test, transposed)
    assert "grads_term['dW1'] has shape (4, 3), expected (3, 4)" in message and "transposed" in message


def test_l2_check_reports_nan(solutions):
    def nan(parameters, lambd, m):
        penalty, grads_term = solutions["l2_regularization"](parameters, lambd, m)
        grads_term["dW2"] = grads_term["dW2"] * np.nan
        return penalty, grads_term

    assert "grads_term['dW2'] contains nan" in failure_message(testCases.l2_regularization_test, nan)


def test_l2_check_rejects_a_regularized_bias(solutions):
    def with_bias(parameters, lambd, m):
        penalty, grads_term = solutions["l2_regularization"](parameters, lambd, m)
        grads_term["db1"] = lambd / m * parameters["b1"]
        return penalty, grads_term

    assert "biases are not regularized" in failure_message(testCases.l2_regularization_test, with_bias)


def test_l1_check_names_the_sign_mistake(solutions):
    def no_sign(parameters, lambd, m):
        penalty, _ = solutions["l1_regularization"](parameters, lambd, m)
        return penalty, {k.replace("W", "dW"): lambd / m * v for k, v in parameters.items() if k.startswith("W")}

    assert "np.sign(W)" in failure_message(testCases.l1_regularization_test, no_sign)


def test_dropout_forward_check_names_the_missing_scaling():
    def unscaled(A, keep_prob, training=True):
        if not 0 < keep_prob <= 1:
            raise ValueError("keep_prob")
        if not training or keep_prob == 1:
            return A, np.ones(A.shape, dtype=bool)
        mask = np.random.rand(*A.shape) < keep_prob
        return A * mask, mask

    message = failure_message(testCases.dropout_forward_test, unscaled)
    assert "A_out differs" in message and "keep_prob" in message.split("Hint:")[1]


def test_dropout_forward_check_accepts_another_generator_and_int_masks():
    rng = np.random.default_rng(0)

    def other(A, keep_prob, training=True):
        if not 0 < keep_prob <= 1:
            raise ValueError("keep_prob")
        if not training or keep_prob == 1:
            return A, np.ones(A.shape, dtype=int)
        mask = (rng.random(A.shape) < keep_prob).astype(int)
        return np.multiply(A, mask) / keep_prob, mask

    testCases.dropout_forward_test(other)


def test_dropout_forward_check_detects_reseeding(solutions):
    def reseeding(A, keep_prob, training=True):
        np.random.seed(0)
        return solutions["dropout_forward"](A, keep_prob, training)

    assert "reseeds" in failure_message(testCases.dropout_forward_test, reseeding)


def test_dropout_forward_check_detects_an_inverted_comparison():
    def inverted(A, keep_prob, training=True):
        if not 0 < keep_prob <= 1:
            raise ValueError("keep_prob")
        if not training or keep_prob == 1:
            return A, np.ones(A.shape, dtype=bool)
        mask = np.random.rand(*A.shape) > keep_prob
        return A * mask / keep_prob, mask

    message = failure_message(testCases.dropout_forward_test, inverted)
    assert re.search(r"keeps \d+\.\d% of 20000 units", message) and "BELOW keep_prob" in message


def test_dropout_forward_check_requires_a_value_error(solutions):
    def permissive(A, keep_prob, training=True):
        return solutions["dropout_forward"](A, min(max(keep_prob, 0.01), 1.0), training)

    assert "expected a ValueError" in failure_message(testCases.dropout_forward_test, permissive)


def test_dropout_forward_check_detects_in_place_modification(solutions):
    def in_place(A, keep_prob, training=True):
        A_out, mask = solutions["dropout_forward"](A, keep_prob, training)
        A[...] = A_out
        return A, mask

    assert "modified its input A in place" in failure_message(testCases.dropout_forward_test, in_place)


def test_dropout_forward_check_reports_a_wrong_return_type():
    message = failure_message(testCases.dropout_forward_test, lambda A, keep_prob, training=True: A)
    assert "expected the pair (A_out, mask)" in message


def test_dropout_backward_check_names_the_missing_scaling():
    message = failure_message(testCases.dropout_backward_test, lambda dA, mask, keep_prob: dA * mask)
    assert "divide by keep_prob in the backward pass too" in message


def test_dropout_backward_check_reports_a_wrong_shape():
    message = failure_message(testCases.dropout_backward_test, lambda dA, mask, keep_prob: (dA * mask / keep_prob).T)
    assert "has shape (5, 4), expected (4, 5)" in message
