"""Public checks of OtherRegularization: the messages and scores that are specific to its exercises (the catalogue as a
whole, for every assignment, is tests/test_check_catalogue.py)."""

import numpy as np
import pytest

import testCases
from course.assignments import get_assignment
from testCases import other_expected
from testCases.other_properties import AUGMENT_MISTAKES, PROBES, augmentation_problem
from tests.failures import failure_message, public_check

ASSIGNMENT = get_assignment("other_regularization")
CHECKS = {name: public_check(name) for name in ASSIGNMENT.function_names}


@pytest.fixture(scope="module")
def solutions():
    return ASSIGNMENT.load_solutions()


def test_stored_expected_outputs_reproduce_from_the_solutions(solutions):
    fresh = ASSIGNMENT.expected_outputs(solutions)
    assert fresh["REPLAY"]["best_epoch"] == other_expected.REPLAY["best_epoch"]
    assert np.array_equal(fresh["MAX_NORM"], other_expected.MAX_NORM)


def test_every_augmentation_mistake_the_checks_recognise_is_a_catalogued_variant():
    assert set(AUGMENT_MISTAKES) <= {v.name for v in ASSIGNMENT.mistakes}


@pytest.mark.parametrize("name", list(CHECKS))
def test_check_explains_a_function_that_returns_none(name):
    message = failure_message(CHECKS[name], lambda *args, **kwargs: None)
    assert ("None" in message or "NoneType" in message or "nothing" in message) and "Hint:" in message


@pytest.mark.parametrize("name", list(CHECKS))
def test_check_explains_an_exception_inside_the_student_function(name):
    def broken(*args, **kwargs):
        return np.dot(np.ones((2, 3)), np.ones((2, 3)))

    message = failure_message(CHECKS[name], broken)
    assert "raised ValueError" in message and "at line" in message and "Hint:" in message


def test_augment_check_reports_a_wrong_shape(solutions):
    def transposed(X, rng, max_shift=2, max_angle=10):
        return solutions["augment_batch"](X, rng, max_shift, max_angle).T

    message = failure_message(testCases.augment_batch_test, transposed)
    assert "returned shape (8, 784), expected (784, 8)" in message


def test_augment_check_names_a_shift_beyond_max_shift(solutions):
    def too_far(X, rng, max_shift=2, max_angle=10):
        return solutions["augment_batch"](X, rng, 2 * max_shift, max_angle)

    assert "more than max_shift = 2" in failure_message(testCases.augment_batch_test, too_far)


def test_augment_check_names_angles_given_in_radians(solutions):
    def radians(X, rng, max_shift=2, max_angle=10):
        return solutions["augment_batch"](X, rng, max_shift, np.deg2rad(max_angle))

    message = failure_message(testCases.augment_batch_test, radians)
    assert "no bar turned by more than" in message and "in degrees" in message


def test_augment_check_rejects_a_function_that_ignores_its_rng(solutions):
    def fixed_seed(X, rng, max_shift=2, max_angle=10):
        return solutions["augment_batch"](X, 0, max_shift, max_angle)

    assert "rng=3 and rng=4 gave exactly the same images" in failure_message(testCases.augment_batch_test, fixed_seed)


def test_augment_check_rejects_a_function_that_modifies_X(solutions):
    def in_place(X, rng, max_shift=2, max_angle=10):
        X[...] = solutions["augment_batch"](X, rng, max_shift, max_angle)
        return X

    assert "modified its input X in place" in failure_message(testCases.augment_batch_test, in_place)


def test_augment_check_rejects_a_generator_that_is_copied_instead_of_used(solutions):
    def copied(X, rng, max_shift=2, max_angle=10):
        if isinstance(rng, np.random.Generator):
            rng = np.random.default_rng(rng.bit_generator.state["state"]["state"] % 1000)
        return solutions["augment_batch"](X, rng, max_shift, max_angle)

    message = failure_message(testCases.augment_batch_test, copied)
    assert "two calls with the same Generator gave the same images" in message


def test_augmentation_properties_hold_for_the_reference_with_float32_images(solutions):
    outputs = {p.name: solutions["augment_batch"](p.inputs().astype(np.float32), p.rng, **p.kwargs) for p in PROBES}
    assert augmentation_problem(outputs) is None


def test_replay_check_reports_a_missing_key(solutions):
    def missing(*args, **kwargs):
        result = solutions["replay_early_stopping"](*args, **kwargs)
        del result["best_loss"]
        return result

    assert "lacks the key(s) best_loss" in failure_message(testCases.replay_early_stopping_test, missing)


def test_replay_check_rejects_parameters_of_another_epoch(solutions):
    def previous(*args, **kwargs):
        result = solutions["replay_early_stopping"](*args, **kwargs)
        result["best_parameters"] = {k: v * 0.9 for k, v in result["best_parameters"].items()}
        return result

    message = failure_message(testCases.replay_early_stopping_test, previous)
    assert "best_parameters['W1'] differs" in message and "Hint: best_parameters holds" in message


def test_max_norm_check_rejects_a_function_that_modifies_W(solutions):
    def in_place(W, c):
        W[...] = solutions["max_norm"](W, c)
        return W

    assert "modified its input W in place" in failure_message(testCases.max_norm_test, in_place)


def test_max_norm_check_names_the_wrong_axis_in_its_message(solutions):
    def columns(W, c):
        return solutions["max_norm"](W.T, c).T

    message = failure_message(testCases.max_norm_test, columns)
    assert "W_out differs" in message and "axis=1" in message
