"""reg_utils' baseline network keeps the original names, numerics and conventions, and runs cleanly on NumPy 2."""

import warnings

import numpy as np
import pytest

import reg_utils
from reg_utils import (backward_propagation, compute_cost, forward_propagation, initialize_parameters, predict,
                       predict_dec, relu, sigmoid, update_parameters)

ORIGINAL_NAMES = ("sigmoid", "relu", "initialize_parameters", "forward_propagation", "backward_propagation",
                  "update_parameters", "compute_cost", "predict", "predict_dec", "plot_decision_boundary",
                  "load_2D_dataset")


@pytest.mark.parametrize("name", ORIGINAL_NAMES)
def test_every_original_name_imports_flat_from_reg_utils(name):
    assert callable(getattr(reg_utils, name))


def test_sigmoid_and_relu_are_elementwise():
    x = np.array([[-2.0, 0.0, 3.0]])
    assert np.allclose(sigmoid(x), 1 / (1 + np.exp(-x)))
    assert np.array_equal(relu(x), [[0.0, 0.0, 3.0]])


def test_initialize_parameters_seeds_3_and_scales_by_sqrt_of_fan_in():
    parameters = initialize_parameters([2, 20, 3, 1])
    np.random.seed(3)
    W1 = np.random.randn(20, 2) / np.sqrt(2)
    b1 = np.zeros((20, 1))
    W2 = np.random.randn(3, 20) / np.sqrt(20)
    assert np.array_equal(parameters["W1"], W1)
    assert np.array_equal(parameters["b1"], b1)
    assert np.array_equal(parameters["W2"], W2)
    assert parameters["W3"].shape == (1, 3) and parameters["b3"].shape == (1, 1)


def test_initialize_parameters_rejects_a_single_layer():
    with pytest.raises(ValueError, match="layer_dims"):
        initialize_parameters([2])


def _small_problem(m=6):
    rng = np.random.default_rng(0)
    parameters = initialize_parameters([2, 4, 3, 1])
    X = rng.normal(size=(2, m))
    Y = (rng.random((1, m)) < 0.5).astype(int)
    return X, Y, parameters


def test_forward_propagation_returns_A3_and_the_cache_in_the_original_order():
    X, _, p = _small_problem()
    A3, cache = forward_propagation(X, p)
    Z1, A1, W1, b1, Z2, A2, W2, b2, Z3, A3_cached, W3, b3 = cache
    assert A3.shape == (1, 6)
    assert np.allclose(Z1, p["W1"] @ X + p["b1"]) and np.array_equal(A1, np.maximum(Z1, 0))
    assert W1 is p["W1"] and W3 is p["W3"] and A3_cached is A3


def test_backward_propagation_matches_finite_differences_of_compute_cost():
    X, Y, p = _small_problem()
    _, cache = forward_propagation(X, p)
    grads = backward_propagation(X, Y, cache)
    assert set(grads) == {"dZ3", "dW3", "db3", "dA2", "dZ2", "dW2", "db2", "dA1", "dZ1", "dW1", "db1"}
    eps = 1e-6
    for key in ("W1", "b1", "W2", "b2", "W3", "b3"):
        numeric = np.zeros_like(p[key])
        for idx in np.ndindex(*p[key].shape):
            plus = {k: v.copy() for k, v in p.items()}
            minus = {k: v.copy() for k, v in p.items()}
            plus[key][idx] += eps
            minus[key][idx] -= eps
            numeric[idx] = (compute_cost(forward_propagation(X, plus)[0], Y)
                            - compute_cost(forward_propagation(X, minus)[0], Y)) / (2 * eps)
        assert np.allclose(grads["d" + key], numeric, atol=1e-7), key


def test_backward_propagation_keeps_the_1_over_m_in_dZ3_as_the_original_does():
    X, Y, p = _small_problem()
    A3, cache = forward_propagation(X, p)
    assert np.allclose(backward_propagation(X, Y, cache)["dZ3"], (A3 - Y) / X.shape[1])


def test_update_parameters_takes_one_gradient_step_without_touching_its_input():
    X, Y, p = _small_problem()
    grads = backward_propagation(X, Y, forward_propagation(X, p)[1])
    before = {k: v.copy() for k, v in p.items()}
    updated = update_parameters(p, grads, 0.5)
    for key in p:
        assert np.array_equal(p[key], before[key])
        assert np.allclose(updated[key], before[key] - 0.5 * grads["d" + key])


def test_compute_cost_is_the_mean_cross_entropy():
    a3 = np.array([[0.8, 0.1, 0.6]])
    Y = np.array([[1, 0, 0]])
    want = -np.mean([np.log(0.8), np.log(0.9), np.log(0.4)])
    assert compute_cost(a3, Y) == pytest.approx(want)


def test_compute_cost_drops_saturated_terms_silently_like_nansum():
    a3 = np.array([[1.0, 0.5]])
    Y = np.array([[1, 1]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert compute_cost(a3, Y) == pytest.approx(-np.log(0.5) / 2)


def test_predict_prints_accuracy_and_returns_integer_predictions(capsys):
    X, Y, p = _small_problem()
    predictions = predict(X, Y, p)
    assert predictions.shape == (1, 6) and predictions.dtype.kind == "i"
    assert set(np.unique(predictions)) <= {0, 1}
    accuracy = np.mean(predictions == Y)
    assert capsys.readouterr().out == f"Accuracy: {accuracy}\n"


def test_predict_dec_returns_booleans_agreeing_with_predict():
    X, Y, p = _small_problem()
    decisions = predict_dec(p, X)
    assert decisions.dtype == bool
    assert np.array_equal(decisions.astype(int), predict(X, Y, p))


def test_the_normal_flow_emits_no_warning():
    X, Y, p = _small_problem()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for _ in range(3):
            A3, cache = forward_propagation(X, p)
            compute_cost(A3, Y)
            p = update_parameters(p, backward_propagation(X, Y, cache), 0.3)
        predict(X, Y, p)
        predict_dec(p, X)
