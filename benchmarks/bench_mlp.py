"""Benchmark: train_mlp against scikit-learn's MLPClassifier on the MNIST subset, and against the arithmetic bound.

Both train 784-256-128-10 (ReLU, softmax) on the 4,000-example training split for 20 epochs of mini-batches of 64
with plain SGD (learning rate 0.1, no momentum), with L2 regularization; ours also applies dropout
(keep_prob = 0.8), which costs it extra work. The regularization functions are the assignment's reference
solutions, loaded through the assignment registry (``course.assignments``) from the nbgrader source notebook (they
are never copied here).

L2 mapping: scikit-learn adds ``alpha / (2 * n_batch) * sum(W ** 2)`` to the loss of each mini-batch of n_batch
examples and ``alpha / n_batch * W`` to its gradient (``sklearn/neural_network/_multilayer_perceptron.py``,
``_backprop`` and ``_compute_loss_grad``); ours adds ``lambd / (2 * m) * sum(W ** 2)`` with m the mini-batch size.
So ``alpha = lambd``. scikit-learn runs exactly the given epochs (max_iter = epochs with tol = 1e-12 and
n_iter_no_change = 10 ** 6, early_stopping off, shuffling on; checked with ``n_iter_`` after every fit).

The two do not do the same work: ours applies dropout (the student's functions draw and apply the masks), and
after every epoch it evaluates the whole training set without dropout for its history (a forward pass over the
4,000 examples, about a third of the run's floating-point operations), where scikit-learn only records the running
mean of the mini-batch losses. Both extras are counted against ours.

Method: 5 rounds; round r trains every contender once with random_state = r, in turn, so that a slow spell of
the shared machine hits them all. Times are the best and the median over the rounds; test accuracies are the mean
over the rounds' seeds (one seed's accuracy on 500 test images moves by about a point from seed to seed).

Figures besides the times:
- the bound: the run's floating-point operations (2 n_in n_out per example and layer for each matrix product: the
  forward pass, dW and dA of the backward pass, and the per-epoch evaluation of the training set) divided by the rate
  of one large (2048 x 2048) matrix product measured in the same run, with the best BLAS thread count;
- the products alone: the same matrix products with the same shapes and layouts (64-column mini-batches, 2048-column
  evaluation chunks), made by the trainer's own in-place gemm kernel (``reg_utils.blas.matmul_into``) with nothing
  in between: what any trainer that keeps the mini-batch of 64 pays for its arithmetic on this machine's BLAS;
- the time spent inside the assignment's functions (the regularizer and the two dropout functions), measured by
  wrapping them, and the rest: the trainer's own time.

Run: ``.venv/bin/python benchmarks/bench_mlp.py`` from the repository root (about 3 minutes). With ``--quick``
it runs every step of the script on 256 training examples, for 1 epoch and 1 round (a few seconds): a smoke test
of the script (``tests/test_benchmarks.py``), whose times mean nothing.
"""

import argparse
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.assignments import get_assignment  # noqa: E402
from reg_utils import evaluate_mlp, load_mnist_subset, train_mlp  # noqa: E402
from reg_utils.blas import blas_functions, matmul_into  # noqa: E402 -- the trainer's own in-place products
from reg_utils.mlp_evaluation import EVAL_CHUNK  # noqa: E402 -- the trainer's evaluation chunk

LAYER_DIMS = [784, 256, 128, 10]
BATCH_SIZE, LEARNING_RATE, LAMBD, KEEP_PROB = 64, 0.1, 0.3, 0.8


@dataclass(frozen=True)
class Size:
    """How much the benchmark runs.

    m -- training examples (None: the whole training split)
    epochs -- epochs of every fit
    rounds -- rounds of fits (round r uses random_state = r)
    matmul_n -- size of the square product that measures the BLAS rate
    repeats -- runs of the products alone (the best counts)
    """

    m: int | None
    epochs: int
    rounds: int
    matmul_n: int
    repeats: int


FULL = Size(m=None, epochs=20, rounds=5, matmul_n=2048, repeats=3)
QUICK = Size(m=256, epochs=1, rounds=1, matmul_n=256, repeats=1)


def matmul_rate(dtype, threads, n=2048):
    """Floating-point operations per second of an (n, n) by (n, n) np.matmul (best of 5)."""
    rng = np.random.default_rng(0)
    a, b = rng.random((n, n)).astype(dtype), rng.random((n, n)).astype(dtype)
    with threadpool_limits(threads, user_api="blas"):
        a @ b
        seconds = min(_seconds(lambda: a @ b) for _ in range(5))
    return 2 * n ** 3 / seconds


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def training_flops(m, epochs):
    """Floating-point operations of the matrix products of a run (training steps and per-epoch evaluation)."""
    per_example = sum(2 * n_in * n_out for n_in, n_out in zip(LAYER_DIMS[:-1], LAYER_DIMS[1:]))
    first_layer = 2 * LAYER_DIMS[0] * LAYER_DIMS[1]
    # forward + dW (same count) + dA of every layer but the first
    per_training_example = per_example + per_example + (per_example - first_layer)
    return epochs * m * (per_training_example + per_example)


def products_alone(dtype, threads, m, epochs, batch_size=BATCH_SIZE):
    """Seconds for exactly the matrix products of a run, with the trainer's shapes and layouts, and nothing else."""
    blas = blas_functions(dtype)
    rng = np.random.default_rng(0)
    L = len(LAYER_DIMS) - 1
    W = [rng.standard_normal((n_out, n_in)).astype(dtype) * 0.05 for n_in, n_out in zip(LAYER_DIMS, LAYER_DIMS[1:])]
    X_rows = rng.random((m, LAYER_DIMS[0])).astype(dtype)  # one example per row, as the trainer stores them
    steps = [(start, min(start + batch_size, m)) for start in range(0, m, batch_size)]  # the last may be smaller
    chunks = [(start, min(start + EVAL_CHUNK, m)) for start in range(0, m, EVAL_CHUNK)]
    Z = {b: [np.empty((n, b), dtype) for n in LAYER_DIMS[1:]] for b in {stop - start for start, stop in steps + chunks}}
    dA = {b: [np.empty((n, b), dtype) for n in LAYER_DIMS[1:-1]] for b in {stop - start for start, stop in steps}}
    with threadpool_limits(threads, user_api="blas"):
        start_time = time.perf_counter()
        for _ in range(epochs):
            for start, stop in steps:
                Zb, dAb = Z[stop - start], dA[stop - start]
                A = [X_rows[start:stop].T] + Zb[:-1]
                for l in range(L):  # forward
                    matmul_into(Zb[l], W[l], A[l], blas)
                for l in range(L - 1, 0, -1):  # dA of every layer but the first
                    matmul_into(dAb[l - 1], W[l].T, Zb[l], blas)
                for l in range(L):  # W -= (a tiny) dZ A.T, in place
                    matmul_into(W[l], Zb[l], A[l].T, blas, alpha=-1e-12, beta=1.0)
            for start, stop in chunks:  # the evaluation of the training set
                A = X_rows[start:stop].T
                for Z_l, W_l in zip(Z[stop - start], W):
                    matmul_into(Z_l, W_l, A, blas)
                    A = Z_l
        return time.perf_counter() - start_time


class Stopwatch:
    """Wraps functions and adds up the seconds spent inside them."""

    def __init__(self):
        self.seconds = 0.0

    def wrap(self, function):
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - start
        return timed


def contenders(data, solutions, epochs, stopwatches):
    """{name: fit(seed) -> score()}: the four contenders, each a fit that returns its test-accuracy function.

    data -- DigitSplits (examples in columns); stopwatches -- dict {dtype name: [Stopwatch of every fit]}, filled
    """
    from sklearn.neural_network import MLPClassifier

    X_rows, y_rows = data.X_train.T, data.Y_train.argmax(axis=0)  # scikit-learn takes examples in ROWS
    y_rows_test = data.Y_test.argmax(axis=0)

    def ours(dtype):
        X_train = data.X_train.astype(dtype)

        def fit(seed):
            watch = stopwatches.setdefault(dtype.__name__, [])
            watch.append(Stopwatch())
            parameters, _ = train_mlp(X_train, data.Y_train, LAYER_DIMS, epochs=epochs, batch_size=BATCH_SIZE,
                                      learning_rate=LEARNING_RATE, dtype=dtype, random_state=seed,
                                      print_cost=False, lambd=LAMBD, keep_prob=KEEP_PROB,
                                      regularizer=watch[-1].wrap(solutions["l2_regularization"]),
                                      dropout_forward=watch[-1].wrap(solutions["dropout_forward"]),
                                      dropout_backward=watch[-1].wrap(solutions["dropout_backward"]))
            return lambda: evaluate_mlp(data.X_test, data.Y_test, parameters)[1]
        return fit

    def sklearn(threads):
        def fit(seed):
            model = MLPClassifier(hidden_layer_sizes=(256, 128), activation="relu", solver="sgd", alpha=LAMBD,
                                  batch_size=BATCH_SIZE, learning_rate="constant", learning_rate_init=LEARNING_RATE,
                                  momentum=0.0, nesterovs_momentum=False, max_iter=epochs, shuffle=True,
                                  tol=1e-12, n_iter_no_change=10 ** 6, early_stopping=False, random_state=seed)
            with threadpool_limits(threads, user_api="blas"):
                model.fit(X_rows, y_rows)
            assert model.n_iter_ == epochs, f"scikit-learn stopped after {model.n_iter_} epochs, not {epochs}"
            return lambda: model.score(data.X_test.T, y_rows_test)
        return fit

    return {
        "scikit-learn MLPClassifier, float64, default BLAS threads": sklearn(None),
        "scikit-learn MLPClassifier, float64, 1 BLAS thread": sklearn(1),
        "train_mlp, float64, L2 + dropout": ours(np.float64),
        "train_mlp, float32, L2 + dropout": ours(np.float32),
    }


def interleaved_rounds(fits, rounds):
    """({name: [seconds of each round]}, {name: [test accuracy of each round]}); round r fits all with seed r."""
    times = {name: [] for name in fits}
    accuracies = {name: [] for name in fits}
    for seed in range(rounds):
        for name, fit in fits.items():
            start = time.perf_counter()
            score = fit(seed)
            times[name].append(time.perf_counter() - start)
            accuracies[name].append(score())
    return times, accuracies


def report(times, accuracies, rates, flops, alone, stopwatches):
    """Print the times of every contender, then ours against scikit-learn, the bound and the products alone."""
    print()
    sk_best = min(min(times[name]) for name in times if name.startswith("scikit"))
    for name in times:
        print(f"{name:<58} best {min(times[name]):5.2f} s  median {statistics.median(times[name]):5.2f} s   "
              f"test accuracy {np.mean(accuracies[name]):.1%} (seeds: "
              f"{', '.join(f'{a:.1%}' for a in accuracies[name])})")
    print()
    for dtype in ("float64", "float32"):
        name = f"train_mlp, {dtype}, L2 + dropout"
        best = min(times[name])
        bound = flops / max(rate for (d, _), rate in rates.items() if d == dtype)
        inside = stopwatches[dtype][int(np.argmin(times[name]))].seconds
        print(f"train_mlp {dtype}: best {best:.2f} s = {best / sk_best:.2f} x scikit-learn's best; "
              f"bound {bound:.2f} s ({flops / 1e9:.1f} GFLOP), time / bound {best / bound:.2f}")
        print(f"    the products alone (2 BLAS threads) {alone[dtype]:.2f} s = {alone[dtype] / bound:.2f} x the "
              f"bound; inside the assignment's functions {inside:.2f} s; the trainer's own time "
              f"{best - inside:.2f} s = {(best - inside) / alone[dtype]:.2f} x the products alone")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="256 examples, 1 epoch, 1 round: checks that the script runs (its times mean nothing)")
    size = QUICK if parser.parse_args(argv).quick else FULL
    warnings.simplefilter("ignore")  # MLPClassifier warns that 20 iterations did not converge

    solutions = get_assignment("deep_regularization").load_solutions()
    data = load_mnist_subset(one_hot=True)
    if size.m is not None:
        data = data._replace(X_train=data.X_train[:, :size.m], Y_train=data.Y_train[:, :size.m])
    m = data.X_train.shape[1]
    quick_note = "; --quick: the times mean nothing" if size is QUICK else ""
    print(f"784-256-128-10, {m} training examples, {size.epochs} epochs, batch {BATCH_SIZE}, learning rate "
          f"{LEARNING_RATE}, lambd = alpha = {LAMBD}, dropout keep_prob {KEEP_PROB} (ours only); {size.rounds} "
          f"rounds (random_state 0..{size.rounds - 1}){quick_note}")

    rates = {(dtype.__name__, threads): matmul_rate(dtype, threads, size.matmul_n)
             for dtype in (np.float64, np.float32) for threads in (1, 2)}
    for (dtype, threads), rate in rates.items():
        print(f"np.matmul {size.matmul_n}x{size.matmul_n} {dtype}, {threads} BLAS thread(s): {rate / 1e9:6.1f} "
              f"GFLOP/s")

    stopwatches = {}
    times, accuracies = interleaved_rounds(contenders(data, solutions, size.epochs, stopwatches), size.rounds)
    alone = {dtype.__name__: min(products_alone(dtype, 2, m, size.epochs) for _ in range(size.repeats))
             for dtype in (np.float64, np.float32)}
    report(times, accuracies, rates, training_flops(m, size.epochs), alone, stopwatches)


if __name__ == "__main__":
    main()
