"""The MLP trainer: gradients, dtype, history, evaluation without dropout, quiet runs, its config, its BLAS kernels."""

import dataclasses

import numpy as np
import pytest

from reg_utils import (TrainingConfig, evaluate_mlp, initialize_mlp, load_small_digits, mlp_forward,
                       mlp_loss_and_grads, predict_mlp, train_mlp)
from reg_utils.blas import blas_functions, matmul_into


def _tiny(seed=0, layer_dims=(5, 4, 3, 3), m=7):
    rng = np.random.default_rng(seed)
    parameters = initialize_mlp(layer_dims, random_state=rng)
    for key in parameters:
        if key.startswith("b"):
            parameters[key] = rng.normal(size=parameters[key].shape) * 0.1
    X = rng.normal(size=(layer_dims[0], m))
    Y = rng.integers(0, layer_dims[-1], size=(1, m))
    return X, Y, parameters


# Regularizers and dropout written for these tests only: they are not the assignment's solutions (the L2 one uses
# another convention, lambda' = lambd / (2m), and the dropout one replays fixed masks).
def _decay(parameters, lambd, m):
    L = len(parameters) // 2
    other = lambd / (2 * m)
    return (other * sum(float(np.vdot(parameters[f"W{l}"], parameters[f"W{l}"])) for l in range(1, L + 1)),
            {f"dW{l}": 2 * other * parameters[f"W{l}"] for l in range(1, L + 1)})


def _numeric_gradient(cost, parameters, key, eps=1e-6):
    numeric = np.zeros_like(parameters[key])
    for idx in np.ndindex(*numeric.shape):
        plus = {k: v.copy() for k, v in parameters.items()}
        minus = {k: v.copy() for k, v in parameters.items()}
        plus[key][idx] += eps
        minus[key][idx] -= eps
        numeric[idx] = (cost(plus) - cost(minus)) / (2 * eps)
    return numeric


def _relative_error(a, b):
    return np.linalg.norm(a - b) / max(np.linalg.norm(a) + np.linalg.norm(b), 1e-12)


def test_gradients_of_unregularized_mlp_match_finite_differences():
    X, Y, parameters = _tiny()
    _, grads = mlp_loss_and_grads(X, Y, parameters)
    for key in parameters:
        numeric = _numeric_gradient(lambda p: mlp_loss_and_grads(X, Y, p)[0], parameters, key)
        assert _relative_error(numeric, grads["d" + key]) < 1e-7, key  # expected ~1e-9 in float64


def test_gradients_with_a_regularizer_match_finite_differences():
    X, Y, parameters = _tiny(seed=1)
    cost = lambda p: mlp_loss_and_grads(X, Y, p, lambd=0.8, regularizer=_decay)[0]  # noqa: E731
    _, grads = mlp_loss_and_grads(X, Y, parameters, lambd=0.8, regularizer=_decay)
    for key in ("W1", "W3", "b2"):
        assert _relative_error(_numeric_gradient(cost, parameters, key), grads["d" + key]) < 1e-7, key


def test_gradients_with_fixed_dropout_masks_match_finite_differences():
    X, Y, parameters = _tiny(seed=2)
    rng = np.random.default_rng(3)
    masks = {4: rng.random((4, 7)) < 0.6, 3: rng.random((3, 7)) < 0.6}

    def forward(A, keep_prob, training=True):
        mask = masks[A.shape[0]]
        return A * mask / keep_prob, mask

    def backward(dA, mask, keep_prob):
        return dA * mask / keep_prob

    kwargs = dict(keep_prob=0.6, dropout_forward=forward, dropout_backward=backward)
    _, grads = mlp_loss_and_grads(X, Y, parameters, **kwargs)
    for key in parameters:
        numeric = _numeric_gradient(lambda p: mlp_loss_and_grads(X, Y, p, **kwargs)[0], parameters, key)
        assert _relative_error(numeric, grads["d" + key]) < 1e-7, key


def test_softmax_loss_is_stable_for_huge_logits():
    X, Y, parameters = _tiny()
    parameters["W3"] = parameters["W3"] * 1e4
    cost, grads = mlp_loss_and_grads(X, Y, parameters)
    assert np.isfinite(cost) and all(np.all(np.isfinite(g)) for g in grads.values())
    assert np.allclose(mlp_forward(X, parameters).sum(axis=0), 1.0)


@pytest.fixture(scope="module")
def digits():
    return load_small_digits(one_hot=True)


def test_training_keeps_float32(digits):
    parameters, _ = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], epochs=1, dtype=np.float32,
                              print_cost=False)
    assert all(value.dtype == np.float32 for value in parameters.values())


def test_history_has_one_entry_per_epoch(digits):
    _, history = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], X_val=digits.X_val, Y_val=digits.Y_val,
                           epochs=3, print_cost=False)
    assert {k: len(v) for k, v in history.items()} == {"train_loss": 3, "train_accuracy": 3, "val_loss": 3,
                                                       "val_accuracy": 3}


def test_history_without_validation_set_has_empty_validation_lists(digits):
    _, history = train_mlp(digits.X_train, digits.Y_train, [64, 10], epochs=2, print_cost=False)
    assert len(history["train_loss"]) == 2 and history["val_loss"] == []


def test_training_learns_the_small_digits(digits):
    parameters, history = train_mlp(digits.X_train, digits.Y_train, [64, 32, 10], X_val=digits.X_val,
                                    Y_val=digits.Y_val, epochs=10, print_cost=False)
    assert history["val_accuracy"][-1] > 0.9
    assert np.mean(predict_mlp(digits.X_test, parameters) == digits.Y_test.argmax(axis=0)) > 0.9


def test_training_is_reproducible_and_leaves_the_global_generator_alone(digits):
    kwargs = dict(epochs=2, keep_prob=0.5, print_cost=False,
                  dropout_forward=lambda A, kp: (A * (np.random.rand(*A.shape) < kp) / kp,
                                                 np.random.rand(*A.shape) < 2),
                  dropout_backward=lambda dA, mask, kp: dA)
    np.random.seed(123)
    first, _ = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], **kwargs)
    after = np.random.rand()
    np.random.seed(123)
    second, _ = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], **kwargs)
    assert np.random.rand() == after
    assert all(np.array_equal(first[k], second[k]) for k in first)


def test_evaluation_never_applies_dropout(digits):
    calls = []

    def counting_forward(A, keep_prob, training=True):
        calls.append(A.shape[1])
        mask = np.random.rand(*A.shape) < keep_prob
        return A * mask / keep_prob, mask

    parameters, history = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], X_val=digits.X_val,
                                    Y_val=digits.Y_val, epochs=1, batch_size=100, keep_prob=0.5,
                                    dropout_forward=counting_forward,
                                    dropout_backward=lambda dA, mask, kp: dA * mask / kp, print_cost=False)
    assert max(calls) == 100  # mini-batches only; the whole sets (1197 and 300 examples) are never dropped out
    loss, accuracy = evaluate_mlp(digits.X_val, digits.Y_val, parameters)
    assert (loss, accuracy) == (history["val_loss"][-1], history["val_accuracy"][-1])


def test_quiet_when_print_cost_is_false(digits, capsys):
    train_mlp(digits.X_train, digits.Y_train, [64, 10], X_val=digits.X_val, Y_val=digits.Y_val, epochs=2,
              print_cost=False)
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""


def test_progress_bar_when_print_cost_is_true(digits, capsys):
    train_mlp(digits.X_train, digits.Y_train, [64, 10], epochs=2, print_cost=True)
    assert "epochs" in capsys.readouterr().err


@pytest.mark.parametrize("kwargs, match", [
    ({"lambd": 0.1}, "regularizer"),
    ({"keep_prob": 0.5}, "dropout_forward"),
    ({"keep_prob": 0.0}, "keep_prob"),
    ({"batch_size": 0}, "batch_size"),
])
def test_trainer_rejects_inconsistent_settings(digits, kwargs, match):
    with pytest.raises(ValueError, match=match):
        train_mlp(digits.X_train, digits.Y_train, [64, 10], epochs=1, print_cost=False, **kwargs)


def test_trainer_rejects_examples_in_rows(digits):
    with pytest.raises(ValueError, match="one example per column"):
        train_mlp(digits.X_train.T, digits.Y_train, [64, 10], epochs=1, print_cost=False)


def _l2_like(parameters, lambd, m):  # the assignment's formula, written independently for the tests
    L = len(parameters) // 2
    return (lambd / (2 * m) * sum(float(np.sum(parameters[f"W{l}"] ** 2)) for l in range(1, L + 1)),
            {f"dW{l}": lambd / m * parameters[f"W{l}"] for l in range(1, L + 1)})


def _dropout_pair():
    def forward(A, keep_prob, training=True):
        mask = np.random.rand(*A.shape) < keep_prob
        return A * mask / keep_prob, mask

    return dict(dropout_forward=forward, dropout_backward=lambda dA, mask, keep_prob: dA * mask / keep_prob)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_one_full_batch_step_is_parameters_minus_learning_rate_times_gradients(digits, dtype):
    # With one mini-batch holding the whole set, an epoch is one step whatever the shuffle: the fused in-place
    # update of train_mlp must equal initial parameters - learning_rate * the gradients of mlp_loss_and_grads.
    X, Y, layer_dims = digits.X_train[:, :150], digits.Y_train[:, :150], [64, 20, 12, 10]
    trained, _ = train_mlp(X, Y, layer_dims, epochs=1, batch_size=150, learning_rate=0.3, lambd=0.7,
                           regularizer=_l2_like, dtype=dtype, random_state=5, print_cost=False)
    initial = initialize_mlp(layer_dims, dtype=dtype, random_state=np.random.default_rng(5))
    _, grads = mlp_loss_and_grads(X, Y, initial, lambd=0.7, regularizer=_l2_like)
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    for key in initial:
        expected = initial[key] - 0.3 * grads["d" + key]
        assert trained[key].dtype == dtype
        assert np.max(np.abs(trained[key] - expected)) < tolerance * max(1.0, np.max(np.abs(expected))), key


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_fused_blas_steps_match_the_numpy_steps(digits, dtype, monkeypatch):
    # The fused BLAS update and the plain NumPy one (used for other float dtypes) train the same network.
    kwargs = dict(epochs=3, batch_size=50, learning_rate=0.1, lambd=0.5, regularizer=_l2_like, keep_prob=0.7,
                  dtype=dtype, random_state=1, print_cost=False, X_val=digits.X_val, Y_val=digits.Y_val,
                  **_dropout_pair())
    fused, fused_history = train_mlp(digits.X_train, digits.Y_train, [64, 32, 16, 10], **kwargs)
    import reg_utils.mlp as trainer_module
    monkeypatch.setattr(trainer_module, "blas_functions", lambda dtype: None)  # the trainer's choice of step
    plain, plain_history = train_mlp(digits.X_train, digits.Y_train, [64, 32, 16, 10], **kwargs)
    rtol = 1e-9 if dtype == np.float64 else 2e-3
    for key in plain:
        assert np.allclose(fused[key], plain[key], rtol=rtol, atol=rtol), key
    assert np.allclose(fused_history["val_loss"], plain_history["val_loss"], rtol=rtol)


def test_a_float64_grads_term_does_not_change_a_float32_network(digits):
    def float64_terms(parameters, lambd, m):
        penalty, terms = _l2_like(parameters, lambd, m)
        return penalty, {k: v.astype(np.float64) for k, v in terms.items()}

    parameters, _ = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], epochs=1, lambd=0.5,
                              regularizer=float64_terms, dtype=np.float32, print_cost=False)
    assert all(value.dtype == np.float32 and value.flags.c_contiguous for value in parameters.values())


def test_evaluation_in_chunks_equals_one_pass(digits, monkeypatch):
    # Sets larger than EVAL_CHUNK are evaluated chunk by chunk, each read in place from the example rows.
    import reg_utils.mlp_evaluation as evaluation_module

    parameters = initialize_mlp([64, 20, 10], random_state=3)
    whole = evaluate_mlp(digits.X_train, digits.Y_train, parameters), mlp_forward(digits.X_train, parameters)
    monkeypatch.setattr(evaluation_module, "EVAL_CHUNK", 7)  # many chunks, the last one smaller
    chunked = evaluate_mlp(digits.X_train, digits.Y_train, parameters), mlp_forward(digits.X_train, parameters)
    assert np.allclose(whole[0], chunked[0], rtol=1e-12)
    assert np.allclose(whole[1], chunked[1], rtol=1e-12, atol=1e-15)
    plain = np.maximum(parameters["W1"] @ digits.X_train + parameters["b1"], 0)
    logits = parameters["W2"] @ plain + parameters["b2"]
    expected = np.exp(logits - logits.max(axis=0)) / np.exp(logits - logits.max(axis=0)).sum(axis=0)
    assert np.allclose(chunked[1], expected, rtol=1e-10, atol=1e-15)


def test_training_in_float64_never_calls_numpys_matmul(digits, monkeypatch):
    # NumPy and SciPy wheels each bundle an OpenBLAS; mixing them with two threads each made training 4 to 7 times
    # slower (their idle workers spin against each other), so every product of a run goes through SciPy's BLAS.
    def matmul(*args, **kwargs):
        raise AssertionError("train_mlp called np.matmul")

    monkeypatch.setattr(np, "matmul", matmul)  # NumPy's own: whichever of the MLP's modules would call it
    _, history = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], X_val=digits.X_val, Y_val=digits.Y_val,
                           epochs=2, lambd=0.5, regularizer=_l2_like, keep_prob=0.8, print_cost=False,
                           **_dropout_pair())
    assert len(history["val_loss"]) == 2


def test_a_config_trains_the_same_network_as_the_keywords(digits):
    settings = dict(epochs=2, batch_size=50, learning_rate=0.2, lambd=0.5, regularizer=_l2_like, keep_prob=0.7,
                    dtype=np.float32, random_state=4, print_cost=False, **_dropout_pair())
    sets = dict(X_val=digits.X_val, Y_val=digits.Y_val)
    by_keywords = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], **sets, **settings)
    by_config = train_mlp(digits.X_train, digits.Y_train, [64, 16, 10], **sets, config=TrainingConfig(**settings))
    assert all(np.array_equal(by_keywords[0][k], by_config[0][k]) for k in by_keywords[0])
    assert by_keywords[1] == by_config[1]


def test_trainer_rejects_a_config_together_with_keywords(digits):
    with pytest.raises(ValueError, match="not both: got config and epochs"):
        train_mlp(digits.X_train, digits.Y_train, [64, 10], epochs=3, config=TrainingConfig(epochs=1))


def test_config_rejects_lambd_without_a_regularizer():
    with pytest.raises(ValueError, match="regularizer"):
        TrainingConfig(lambd=0.1)


def test_config_is_frozen_and_stores_its_dtype_as_a_numpy_dtype():
    config = TrainingConfig(dtype="float32")
    assert config.dtype == np.dtype(np.float32) and isinstance(config.dtype, np.dtype)
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.epochs = 3


def test_every_mlp_name_of_reg_utils_imports_from_reg_utils_mlp():
    import reg_utils
    import reg_utils.mlp

    for name in ("initialize_mlp", "train_mlp", "evaluate_mlp", "mlp_forward", "mlp_loss_and_grads", "predict_mlp",
                 "TrainingConfig"):
        assert getattr(reg_utils.mlp, name) is getattr(reg_utils, name), name


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_matmul_into_writes_alpha_times_the_product_plus_beta_times_out_in_place(dtype):
    rng = np.random.default_rng(0)
    A, B_rows = rng.standard_normal((5, 3)).astype(dtype), rng.standard_normal((4, 3)).astype(dtype)
    out = rng.standard_normal((5, 4)).astype(dtype)
    expected = -0.5 * A @ B_rows.T + 2.0 * out
    address = out.ctypes.data
    matmul_into(out, A, B_rows.T, blas_functions(dtype), alpha=-0.5, beta=2.0)  # B a transposed view, not copied
    assert out.ctypes.data == address
    assert np.allclose(out, expected, rtol=1e-5 if dtype == np.float32 else 1e-12)


def test_training_uses_no_more_blas_threads_than_the_environment_allows(monkeypatch):
    """The grader sets OPENBLAS_NUM_THREADS=1 when kernels share the cores; a run's own default (2) must not
    override it, or two kernels spin four BLAS threads on two cores."""
    from reg_utils.mlp import blas_threads_allowed

    for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        monkeypatch.delenv(name, raising=False)
    assert blas_threads_allowed(2) == 2 and blas_threads_allowed(None) is None
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert blas_threads_allowed(2) == 1 and blas_threads_allowed(None) == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "")  # set but empty: no cap
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "4")
    assert blas_threads_allowed(2) == 2
