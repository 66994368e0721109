"""Benchmark: data augmentation of a mini-batch against the training step it feeds.

The trainer calls the student's augmentation on every mini-batch (``TrainingConfig(augment=...)``), so it must cost
less than what the trainer does with the batch anyway: the forward pass, the backward pass and the fused SGD update
of the 784-256-128-10 network (``reg_utils.mlp_model.sgd_step``, exactly what ``train_mlp`` runs per mini-batch).
Both are timed on the same batch of 64 MNIST training images, in float32 and float64, with 1 BLAS thread (the third
notebook's setting) and 2 (the trainer's default, the faster step, so the harder comparison).

The augmentation is the third assignment's reference solution (vectorized NumPy: all 64 images in one pass of
bilinear interpolation), loaded through the assignment registry (``course.assignments``) from the nbgrader source
notebook; for comparison, the accepted alternative that loops over the images with ``scipy.ndimage.rotate`` and
``shift`` is timed too (the assignment's variant ``aug_scipy_loop``).

Method: rounds; each round times every contender once in turn (so that a slow spell of the shared machine hits
them all), each time as the best of `repeats` loops of `calls` calls, on a fresh draw each call. A contender's
figure is its best over the rounds (the least disturbed measurement): milliseconds per call.

Run: ``.venv/bin/python benchmarks/bench_augment.py`` from the repository root (about 30 seconds). With ``--quick``
it runs every step on 2 rounds of a few calls (a few seconds): a smoke test of the script
(``tests/test_benchmarks.py``), whose times mean little.
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from course.assignments import get_assignment  # noqa: E402
from reg_utils import TrainingConfig, initialize_mlp, load_mnist_subset  # noqa: E402
from reg_utils.blas import blas_functions  # noqa: E402 -- the trainer's own BLAS kernels
from reg_utils.mlp_model import sgd_step, workspace_for  # noqa: E402 -- the trainer's step of one mini-batch

LAYER_DIMS = [784, 256, 128, 10]
BATCH_SIZE = 64
ASSIGNMENT = "other_regularization"
AUGMENTATION, SCIPY_VARIANT = "augment_batch", "aug_scipy_loop"


@dataclass(frozen=True)
class Size:
    """How much the benchmark runs: rounds, and per contender and round `repeats` loops of `calls` calls."""

    rounds: int
    repeats: int
    calls: int


FULL = Size(rounds=7, repeats=3, calls=40)
QUICK = Size(rounds=2, repeats=1, calls=3)


def best_ms_per_call(function, size, blas_threads):
    """The best of size.repeats loops of size.calls calls of function(i), in milliseconds per call, with the BLAS
    limited to `blas_threads` threads around the loops (not inside them: setting a limit costs time too)."""
    best = float("inf")
    with threadpool_limits(blas_threads, user_api="blas"):
        for _ in range(size.repeats):
            start = time.perf_counter()
            for i in range(size.calls):
                function(i)
            best = min(best, (time.perf_counter() - start) / size.calls)
    return best * 1e3


def contenders(dtype):
    """{label: (function(i), BLAS threads)} for one dtype: the reference augmentation, the SciPy loop, and the
    training step with 1 and 2 BLAS threads, all on the same 64 training images."""
    assignment = get_assignment(ASSIGNMENT)
    augment = assignment.load_solutions()[AUGMENTATION]
    variant = assignment.variant(SCIPY_VARIANT)
    scipy_loop = assignment.load_solutions({variant.grade_id: assignment.variant_source(variant)})[AUGMENTATION]
    X_train, Y_train = load_mnist_subset(one_hot=False, dtype=dtype)[:2]
    X, labels = np.ascontiguousarray(X_train[:, :BATCH_SIZE]), Y_train.reshape(-1)[:BATCH_SIZE]
    parameters = initialize_mlp(LAYER_DIMS, dtype=dtype, random_state=0)
    config = TrainingConfig(dtype=dtype, learning_rate=0.01)  # a small step: the weights stay sane over the calls
    blas = blas_functions(dtype)
    workspace = workspace_for({}, LAYER_DIMS, BATCH_SIZE, config.dtype)

    def step(i):
        sgd_step(X, labels, parameters, workspace, config, blas)

    name = np.dtype(dtype).name
    return {f"augment_batch, reference solution, {name}": (lambda i: augment(X, i), 1),
            f"augment_batch, SciPy loop ({SCIPY_VARIANT}), {name}": (lambda i: scipy_loop(X, i), 1),
            f"training step (forward + backward + update), {name}, 1 BLAS thread": (step, 1),
            f"training step (forward + backward + update), {name}, 2 BLAS threads": (step, 2)}


def measure(size):
    """{label: best milliseconds per call} of every contender, in interleaved rounds."""
    functions = {**contenders(np.float32), **contenders(np.float64)}
    for function, threads in functions.values():  # warm-up: imports, workspaces, BLAS threads
        with threadpool_limits(threads, user_api="blas"):
            function(0)
    best = {label: float("inf") for label in functions}
    for _ in range(size.rounds):
        for label, (function, threads) in functions.items():
            best[label] = min(best[label], best_ms_per_call(function, size, threads))
    return best


def report(best, quick):
    """Print every figure and the ratios augmentation / step; return the largest ratio of the reference."""
    note = " (--quick: few calls, the times mean little)" if quick else ""
    print(f"Milliseconds per call on a batch of {BATCH_SIZE} MNIST images, best of the rounds{note}:")
    for label, ms in best.items():
        print(f"  {label:<74} {ms:8.3f} ms")
    worst = 0.0
    print("Ratio of the augmentation to the training step on the same batch (below 1: augmenting costs less):")
    for name in ("float32", "float64"):
        for threads in ("1 BLAS thread", "2 BLAS threads"):
            step = best[f"training step (forward + backward + update), {name}, {threads}"]
            ratio = best[f"augment_batch, reference solution, {name}"] / step
            loop = best[f"augment_batch, SciPy loop ({SCIPY_VARIANT}), {name}"] / step
            worst = max(worst, ratio)
            print(f"  {name}, {threads}: reference {ratio:.2f}x the step, SciPy loop {loop:.2f}x")
    verdict = "holds" if worst < 1 else "does NOT hold"
    print(f"augmentation costs less than the forward and backward pass in every setting: {verdict} "
          f"(largest ratio {worst:.2f})")
    return worst


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a smoke test: 2 rounds of a few calls")
    quick = parser.parse_args(argv).quick
    report(measure(QUICK if quick else FULL), quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
