"""Benchmark: train_mlp against scikit-learn's MLPClassifier on the MNIST subset, and against the arithmetic bound.

Both train 784-256-128-10 (ReLU, softmax) on the 4,000-example training split for 20 epochs of mini-batches of 64
with plain SGD (learning rate 0.1, no momentum), with L2 regularization; ours also applies dropout
(keep_prob = 0.8), which costs it extra work. The regularization functions are the assignment's reference
solutions, loaded from the nbgrader source notebook (they are never copied here).

L2 mapping: scikit-learn adds ``alpha / (2 * n_batch) * sum(W ** 2)`` to the loss of each mini-batch of n_batch
examples and ``alpha / n_batch * W`` to its gradient (``sklearn/neural_network/_multilayer_perceptron.py``,
``_backprop`` and ``_compute_loss_grad``); ours adds ``lambd / (2 * m) * sum(W ** 2)`` with m the mini-batch size.
So ``alpha = lambd``. scikit-learn runs exactly EPOCHS epochs (max_iter = EPOCHS with tol = 1e-12 and
n_iter_no_change = 10 ** 6, early_stopping off, shuffling on; checked with ``n_iter_`` after every fit).

The two do not do the same work: ours applies dropout (the student's functions draw and apply the masks), and
after every epoch it evaluates the whole training set without dropout for its history (a forward pass over the
4,000 examples, about a third of the run's floating-point operations), where scikit-learn only records the running
mean of the mini-batch losses. Both extras are counted against ours.

The bound is the run's floating-point operations (2 n_in n_out per example and layer for each matrix product: the
forward pass, dW and dA of the backward pass, and the per-epoch evaluation of the training set) divided by the
rate of one large np.matmul measured in the same run, with the best BLAS thread count. Timings are the best of
REPEATS runs (the machine is shared, so single runs are noisy).

Run: ``python benchmarks/bench_mlp.py`` from the repository root.
"""

import sys
import time
import warnings
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reg_utils import evaluate_mlp, load_mnist_subset, train_mlp  # noqa: E402
from tests.deep_reference import load_functions  # noqa: E402

LAYER_DIMS = [784, 256, 128, 10]
EPOCHS, BATCH_SIZE, LEARNING_RATE, LAMBD, KEEP_PROB = 20, 64, 0.1, 0.3, 0.8
REPEATS = 3


def best_time(function, repeats=REPEATS):
    """(best wall time in seconds, result of the last call)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def matmul_rate(dtype, threads, n=2048):
    """Floating-point operations per second of an (n, n) by (n, n) np.matmul."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    with threadpool_limits(threads, user_api="blas"):
        a @ b
        seconds, _ = best_time(lambda: a @ b, repeats=5)
    return 2 * n ** 3 / seconds


def training_flops(m, epochs, batch_size):
    """Floating-point operations of the matrix products of a run (training steps and per-epoch evaluation)."""
    per_example = sum(2 * n_in * n_out for n_in, n_out in zip(LAYER_DIMS[:-1], LAYER_DIMS[1:]))
    first_layer = 2 * LAYER_DIMS[0] * LAYER_DIMS[1]
    # forward + dW (same count) + dA of every layer but the first
    per_training_example = per_example + per_example + (per_example - first_layer)
    return epochs * m * (per_training_example + per_example)


def main():
    warnings.simplefilter("ignore")  # MLPClassifier warns that 20 iterations did not converge
    from sklearn.neural_network import MLPClassifier

    solutions = load_functions()
    regularization = dict(lambd=LAMBD, regularizer=solutions["l2_regularization"], keep_prob=KEEP_PROB,
                          dropout_forward=solutions["dropout_forward"],
                          dropout_backward=solutions["dropout_backward"])
    data = load_mnist_subset(one_hot=True)
    m = data.X_train.shape[1]
    print(f"784-256-128-10, {m} training examples, {EPOCHS} epochs, batch {BATCH_SIZE}, learning rate "
          f"{LEARNING_RATE}, lambd = alpha = {LAMBD}, dropout keep_prob {KEEP_PROB} (ours only); best of {REPEATS}")

    rates = {(dtype.__name__, threads): matmul_rate(dtype, threads)
             for dtype in (np.float64, np.float32) for threads in (1, 2)}
    for (dtype, threads), rate in rates.items():
        print(f"np.matmul 2048x2048 {dtype}, {threads} BLAS thread(s): {rate / 1e9:6.1f} GFLOP/s")
    flops = training_flops(m, EPOCHS, BATCH_SIZE)

    ours = {}
    for dtype in (np.float64, np.float32):
        X_train = data.X_train.astype(dtype)

        def train():
            return train_mlp(X_train, data.Y_train, LAYER_DIMS, epochs=EPOCHS, batch_size=BATCH_SIZE,
                             learning_rate=LEARNING_RATE, dtype=dtype, random_state=0, print_cost=False,
                             **regularization)

        seconds, (parameters, _) = best_time(train)
        ours[dtype.__name__] = (seconds, evaluate_mlp(data.X_test, data.Y_test, parameters)[1])

    # scikit-learn takes examples in ROWS: transpose here.
    X_rows, y_rows = data.X_train.T, data.Y_train.argmax(axis=0)
    sklearn = {}
    for threads in (None, 1):
        def fit():
            model = MLPClassifier(hidden_layer_sizes=(256, 128), activation="relu", solver="sgd", alpha=LAMBD,
                                  batch_size=BATCH_SIZE, learning_rate="constant", learning_rate_init=LEARNING_RATE,
                                  momentum=0.0, nesterovs_momentum=False, max_iter=EPOCHS, shuffle=True,
                                  tol=1e-12, n_iter_no_change=10 ** 6, early_stopping=False, random_state=0)
            with threadpool_limits(threads, user_api="blas"):
                model.fit(X_rows, y_rows)
            assert model.n_iter_ == EPOCHS, f"scikit-learn stopped after {model.n_iter_} epochs, not {EPOCHS}"
            return model

        seconds, model = best_time(fit)
        sklearn["default threads" if threads is None else "1 BLAS thread"] = (
            seconds, model.score(data.X_test.T, data.Y_test.argmax(axis=0)))

    print()
    for setting, (seconds, accuracy) in sklearn.items():
        print(f"scikit-learn MLPClassifier, float64, {setting:<16} {seconds:6.2f} s   test accuracy {accuracy:.1%}")
    sk_best = min(seconds for seconds, _ in sklearn.values())
    for dtype, (seconds, accuracy) in ours.items():
        bound = flops / max(rate for (d, _), rate in rates.items() if d == dtype)
        print(f"train_mlp, {dtype}, L2 + dropout           {seconds:6.2f} s   test accuracy {accuracy:.1%}   "
              f"ratio to faster scikit-learn {seconds / sk_best:.2f}   bound {bound:.2f} s "
              f"({flops / 1e9:.1f} GFLOP), time / bound {seconds / bound:.2f}")


if __name__ == "__main__":
    main()
