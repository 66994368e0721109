"""The public checks of Regularization name the variable and the mistake, expected against got (the catalogue as
a whole, for every assignment, is tests/test_check_catalogue.py)."""

import numpy as np
import pytest

from course.assignments import get_assignment
from testCases import CheckFailed, score
from tests.failures import failure_message, public_check, variant_function

ASSIGNMENT = get_assignment("regularization")
GRADED_FUNCTIONS = ASSIGNMENT.function_names
CHECKS = {name: public_check(name) for name in GRADED_FUNCTIONS}


@pytest.fixture(scope="module")
def solutions():
    return ASSIGNMENT.load_solutions()


def test_cost_check_shows_expected_against_got():
    message = failure_message(CHECKS["compute_cost_with_regularization"], lambda A3, Y, parameters, lambd: 1.5)
    assert "cost is wrong: got 1.5, expected 1.786485945" in message


@pytest.mark.parametrize("name", GRADED_FUNCTIONS)
def test_a_function_returning_none_is_told_to_return(name):
    message = failure_message(CHECKS[name], lambda *args, **kwargs: None)
    assert "None" in message and "return" in message


@pytest.mark.parametrize("name", GRADED_FUNCTIONS)
def test_an_exception_inside_the_function_is_reported_with_its_line(name, solutions):
    def broken(*args, **kwargs):
        x = undefined_name_in_student_code  # noqa: F821 -- the bug under test
        return x

    broken.__name__ = name
    message = failure_message(CHECKS[name], broken)
    assert f"{name} raised NameError" in message and "undefined_name_in_student_code" in message
    assert "Hint:" in message


def test_a_wrong_shape_is_reported_with_both_shapes(solutions):
    def transposed(X, Y, cache, lambd):
        grads = solutions["backward_propagation_with_regularization"](X, Y, cache, lambd)
        grads["dW2"] = grads["dW2"].T
        return grads

    message = failure_message(CHECKS["backward_propagation_with_regularization"], transposed)
    assert "dW2 has shape (2, 3), expected (3, 2)" in message and "transposed" in message


def test_nan_is_reported_with_its_position(solutions):
    def with_nan(X, Y, cache, keep_prob):
        grads = solutions["backward_propagation_with_dropout"](X, Y, cache, keep_prob)
        grads["dW1"] = grads["dW1"].copy()
        grads["dW1"][1, 2] = np.nan
        return grads

    message = failure_message(CHECKS["backward_propagation_with_dropout"], with_nan)
    assert "dW1 contains nan at [1, 2]" in message


def test_a_missing_gradient_key_is_named(solutions):
    def without_db1(X, Y, cache, lambd):
        grads = solutions["backward_propagation_with_regularization"](X, Y, cache, lambd)
        del grads["db1"]
        return grads

    assert "grads lacks the key(s) db1" in failure_message(CHECKS["backward_propagation_with_regularization"], without_db1)


def test_a_list_instead_of_an_array_is_reported_by_type(solutions):
    def as_list(X, parameters, keep_prob):
        A3, cache = solutions["forward_propagation_with_dropout"](X, parameters, keep_prob)
        return A3.tolist(), cache

    assert "A3 has type list" in failure_message(CHECKS["forward_propagation_with_dropout"], as_list)


def test_an_array_cost_is_asked_to_be_a_number():
    message = failure_message(CHECKS["compute_cost_with_regularization"], lambda A3, Y, p, lambd: np.array([[1.78]]))
    assert "array of shape (1, 1), expected a number" in message


def test_modifying_the_parameters_in_place_is_reported(solutions):
    def squares_in_place(A3, Y, parameters, lambd):
        parameters["W1"] **= 2
        return solutions["compute_cost_with_regularization"](A3, Y, parameters, lambd)

    message = failure_message(CHECKS["compute_cost_with_regularization"], squares_in_place)
    assert "modified its input parameters['W1'] in place" in message


def test_passing_something_other_than_a_function_is_explained():
    assert "expected a function" in failure_message(CHECKS["compute_cost_with_regularization"], 3.0)


def test_a_wrong_tuple_instead_of_a3_and_cache_is_explained(solutions):
    def only_a3(X, parameters, keep_prob):
        return solutions["forward_propagation_with_dropout"](X, parameters, keep_prob)[0]

    assert "expected the pair (A3, cache)" in failure_message(CHECKS["forward_propagation_with_dropout"], only_a3)


def test_outputs_that_do_not_follow_from_the_students_own_masks_fail(solutions):
    source = solutions["forward_propagation_with_dropout"]

    def uniform_masks_but_wrong_scale(X, parameters, keep_prob):
        np.random.uniform()  # another draw order: the masks differ from the reference
        A3, cache = source(X, parameters, keep_prob)
        return A3 * 0.5, cache

    message = failure_message(CHECKS["forward_propagation_with_dropout"], uniform_masks_but_wrong_scale)
    assert "A3[:, 0] does not follow from your masks" in message


@pytest.mark.parametrize("variant", [v for v in ASSIGNMENT.mistakes if v.credit > 0], ids=lambda v: v.name)
def test_score_gives_a_partly_right_mistake_its_share_and_prints_why(variant, capsys):
    earned = score(CHECKS[variant.grade_id], variant_function(ASSIGNMENT, variant), 4)
    assert earned == 4 * variant.credit
    assert f"Partial credit, {earned} of 4 points" in capsys.readouterr().out


@pytest.mark.parametrize("variant", [v for v in ASSIGNMENT.mistakes if v.credit == 0], ids=lambda v: v.name)
def test_score_raises_for_a_mistake_worth_nothing(variant):
    with pytest.raises(CheckFailed):
        score(CHECKS[variant.grade_id], variant_function(ASSIGNMENT, variant), 4)


def test_score_gives_a_correct_answer_every_point(solutions):
    assert score(CHECKS["compute_cost_with_regularization"], solutions["compute_cost_with_regularization"], 2) == 2.0
