"""testCases' generators return the original assignment's inputs, and the published outputs follow from them."""

import numpy as np

from testCases import (backward_propagation_with_dropout_test_case, backward_propagation_with_regularization_test_case,
                       compute_cost_with_regularization_test_case, forward_propagation_with_dropout_test_case)
from course.assignments import get_assignment

ASSIGNMENT = get_assignment("regularization")


def test_cost_case_has_the_original_a3_and_labels():
    a3, Y, parameters = compute_cost_with_regularization_test_case()
    assert np.array_equal(a3, [[0.40682402, 0.01629284, 0.16722898, 0.10118111, 0.40682402]])
    assert np.array_equal(Y, [[1, 1, 0, 1, 0]])
    np.random.seed(1)
    assert np.array_equal(parameters["W1"], np.random.randn(2, 3))
    assert {k: v.shape for k, v in parameters.items()} == {"W1": (2, 3), "b1": (2, 1), "W2": (3, 2), "b2": (3, 1),
                                                           "W3": (1, 3), "b3": (1, 1)}


def test_l2_backward_cache_is_the_plain_forward_pass_rounded_to_8_decimals():
    X, Y, cache = backward_propagation_with_regularization_test_case()
    np.random.seed(1)
    assert np.allclose(X, np.random.randn(3, 5), atol=5e-9)
    Z1, A1, W1, b1 = cache[:4]
    assert np.allclose(Z1, W1 @ X + b1, atol=5e-8)
    assert np.allclose(cache[0], [[-1.52855314, 3.32524635, 2.13994541, 2.60700654, -0.75942115],
                                  [-1.98043538, 4.1600994, 0.79051021, 1.46493512, -0.45506242]], atol=0)


def test_dropout_backward_cache_is_regenerated_by_the_described_procedure():
    """Seed 1, X and parameters; seed 1 again; forward with inverted dropout at keep_prob = 0.5 (reference code)."""
    solutions = ASSIGNMENT.load_solutions()
    X, parameters = forward_propagation_with_dropout_test_case()
    np.random.seed(1)
    _, regenerated = solutions["forward_propagation_with_dropout"](X, parameters, 0.5)
    _, _, stored = backward_propagation_with_dropout_test_case()
    for got, want in zip(stored, regenerated):
        assert got.dtype == want.dtype and got.shape == want.shape
        assert np.allclose(got, want, atol=5e-9, rtol=0)


def test_published_outputs_follow_from_the_cases_with_the_reference_solutions():
    s = ASSIGNMENT.load_solutions()
    a3, Y, parameters = compute_cost_with_regularization_test_case()
    assert abs(s["compute_cost_with_regularization"](a3, Y, parameters, lambd=0.1) - 1.7864859451590758) < 1e-9
    X, Y, cache = backward_propagation_with_regularization_test_case()
    dW1 = s["backward_propagation_with_regularization"](X, Y, cache, lambd=0.7)["dW1"]
    assert np.allclose(dW1, [[-0.25604646, 0.12298827, -0.28297129], [-0.17706303, 0.34536094, -0.4410571]],
                       atol=5e-9)
    X, parameters = forward_propagation_with_dropout_test_case()
    np.random.seed(1)
    A3, _ = s["forward_propagation_with_dropout"](X, parameters, keep_prob=0.7)
    assert np.allclose(A3, [[0.36974721, 0.00305176, 0.04565099, 0.49683389, 0.36974721]], atol=5e-9)
    X, Y, cache = backward_propagation_with_dropout_test_case()
    dA1 = s["backward_propagation_with_dropout"](X, Y, cache, keep_prob=0.8)["dA1"]
    assert np.allclose(dA1, [[0.36544439, 0, -0.00188233, 0, -0.17408748], [0.65515713, 0, -0.00337459, 0, -0]],
                       atol=5e-9)


def test_generators_return_fresh_arrays_each_call():
    a3, Y, parameters = compute_cost_with_regularization_test_case()
    parameters["W1"][:] = 0
    Y[:] = 7
    _, Y2, parameters2 = compute_cost_with_regularization_test_case()
    assert parameters2["W1"].any() and Y2.max() == 1
