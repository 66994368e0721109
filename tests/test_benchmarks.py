"""The benchmarks run end to end: each started as its docstring says, from the repository root, with --quick."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_benchmark(name, timeout=120):
    """Run ``benchmarks/<name>.py --quick`` from the repository root with this interpreter's bin/ first on PATH.

    Returns:
    result -- subprocess.CompletedProcess with text stdout and stderr
    """
    env = dict(os.environ, PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]))
    return subprocess.run([sys.executable, str(Path("benchmarks") / f"{name}.py"), "--quick"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_bench_mlp_quick_prints_its_figures():
    result = run_benchmark("bench_mlp")
    assert result.returncode == 0, result.stderr
    for figure in ("GFLOP/s", "scikit-learn MLPClassifier, float64, 1 BLAS thread", "train_mlp, float32, L2 + dropout",
                   "x scikit-learn's best", "the products alone", "inside the assignment's functions"):
        assert figure in result.stdout, f"{figure!r} is not in the output:\n{result.stdout}"


def test_bench_autograde_quick_runs_as_documented_without_the_venv_on_path():
    """Started exactly as its docstring says (`.venv/bin/python benchmarks/bench_autograde.py`), with a PATH that
    does not hold the venv's bin/: the benchmark itself puts it first for nbgrader's `alembic` and the kernels."""
    venv_bin = str(Path(sys.executable).parent)
    path = os.pathsep.join(p for p in os.environ.get("PATH", "").split(os.pathsep) if p != venv_bin)
    result = subprocess.run([sys.executable, str(Path("benchmarks") / "bench_autograde.py"), "--quick"], cwd=ROOT,
                            env=dict(os.environ, PATH=path), capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    for figure in ("floor: nbgrader on a trivial one-cell notebook", "process pool, sandbox:", "1 worker", "2 workers",
                   "speed-up", "sizing, at"):
        assert figure in result.stdout, f"{figure!r} is not in the output:\n{result.stdout}"
    # How many machines depends on the speed measured, so the sizing lines are checked by their form.
    for hours in (1, 2, 8):
        line = rf"20000 submissions in {hours} h: +\d+ workers? +\(\d+ machines? of 8 cores\)"
        assert re.search(line, result.stdout), f"no sizing line for {hours} h in the output:\n{result.stdout}"


def load_bench_autograde():
    spec = importlib.util.spec_from_file_location("bench_autograde", ROOT / "benchmarks" / "bench_autograde.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sizing_table_rounds_workers_and_machines_up():
    sizing = load_bench_autograde().sizing
    assert sizing(1.8, 20000, 1) == (10, 2)     # 10 workers of 1.8 s grade 20,000 in exactly one hour
    assert sizing(1.81, 20000, 1) == (11, 2)    # a little slower needs one more
    assert sizing(1.44, 20000, 1) == (8, 1)     # 8 workers fill one machine of 8 cores
    assert sizing(1.45, 20000, 1) == (9, 2)     # the ninth needs a second machine
    assert sizing(0.01, 20000, 8) == (1, 1)     # never fewer than one worker


def test_the_best_of_rounds_takes_each_measurement_once_per_round_in_turn():
    calls, results = [], {"pool 1": iter([3.0, 2.0]), "pool 2": iter([1.0, 1.5])}

    def measure(name):
        calls.append(name)
        return next(results[name])

    best = load_bench_autograde().best_of_rounds(2, [("pool", 1, lambda: measure("pool 1")),
                                                     ("pool", 2, lambda: measure("pool 2"))])
    assert calls == ["pool 1", "pool 2", "pool 1", "pool 2"]  # interleaved, not one figure's rounds in a row
    assert best == {("pool", 1): 2.0, ("pool", 2): 1.0}       # the least of each figure's rounds


def test_bench_augment_quick_prints_the_ratio_of_augmentation_to_the_training_step():
    result = run_benchmark("bench_augment")
    assert result.returncode == 0, result.stderr
    for figure in ("augment_batch, reference solution, float32", "SciPy loop", "float32, 2 BLAS threads",
                   "training step (forward + backward + update), float64, 1 BLAS thread", "x the step",
                   "augmentation costs less than the forward and backward pass in every setting"):
        assert figure in result.stdout, f"{figure!r} is not in the output:\n{result.stdout}"
