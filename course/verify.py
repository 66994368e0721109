"""The verification pass: points come only from checks the student's code cannot reach.

nbgrader runs a notebook's tests inside the student's own kernel, where one line
(``np.testing.assert_allclose = lambda *a, **k: None``) can turn every check off. Here each graded function's
source is taken from the submission by grade_id and run alone in a fresh Python process (``course.sandbox``) with
a time limit; only numbers come back (``allow_pickle=False``), and this process, which never runs student code,
judges them against the reference solutions. A function earns its points only if the clean run confirms them.
"""

import json
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from course.classroom import POINTS
from course.reference import load_solutions
from reg_utils.network import forward_propagation

#: Seconds one graded function may run in the clean process (all its calls together).
TIME_LIMIT = 10
#: Serializes building the verification cases, which use NumPy's global RNG (see verify_function).
_CASES_LOCK = threading.Lock()

#: Largest notebook file read (bytes): a bigger one is not a genuine submission.
MAX_NOTEBOOK_BYTES = 20 * 1024 ** 2


@dataclass
class Verdict:
    """What the clean run of one graded function showed.

    points -- the points the clean run confirms (the score can never exceed them)
    reason -- why it confirms fewer than all points ("" when it confirms all)
    """

    points: float
    reason: str = ""


def read_answers(notebook_path):
    """{grade_id: source} of the graded functions' answer cells in a submitted notebook, read as plain JSON.

    Returns {} for a file that is missing, too large, not JSON, or not shaped like a notebook.
    """
    try:
        path = Path(notebook_path)
        if path.stat().st_size > MAX_NOTEBOOK_BYTES:
            return {}
        nb = json.loads(path.read_text(encoding="utf-8", errors="replace"))
        answers = {}
        for cell in nb.get("cells", []):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            source = cell.get("source", "")
            source = source if isinstance(source, str) else "".join(source)
            if grade_id in POINTS and cell.get("cell_type") == "code":
                answers[grade_id] = source
        return answers
    except (OSError, ValueError, AttributeError, TypeError):
        return {}


def run_clean(function, source, calls, arrays, time_limit=TIME_LIMIT):
    """Run one function's answer cell and calls in a fresh, isolated Python process.

    Arguments:
    function -- the graded function's name
    source -- the answer cell's source
    calls -- list of {"args": [...], "kwargs": {...}, "seed": int or None} (arrays named "@key")
    arrays -- {key: numpy array} the calls refer to

    Returns:
    (statuses, outputs) -- per call {"ok", "error"/"keys"}, and {"c{i}__{name}": float64 array}; statuses is None
    when the process died, timed out or wrote nothing readable
    """
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        work = Path(tmp)
        (work / "spec.json").write_text(json.dumps({"function": function, "source": source, "calls": calls}))
        np.savez(work / "inputs.npz", **arrays)
        try:
            subprocess.run([sys.executable, "-I", "-m", "course.sandbox", str(work)], cwd=work, timeout=time_limit,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           env=_clean_env())
        except subprocess.TimeoutExpired:
            return None, {}
        try:
            statuses = json.loads((work / "status.json").read_text()[:1_000_000])
            with np.load(work / "outputs.npz", allow_pickle=False) as npz:
                outputs = {k: np.asarray(npz[k], dtype=np.float64) for k in npz.files}
        except (OSError, ValueError, KeyError):
            return None, {}
        if not isinstance(statuses, list):
            return None, {}
        return statuses, outputs


def _clean_env():
    import os

    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    env = {k: v for k, v in os.environ.items() if k in keep}
    env["OMP_NUM_THREADS"] = "1"
    env["OPENBLAS_NUM_THREADS"] = "1"
    return env


# ---------------------------------------------------------------------------------------------------------------
# The cases each function is verified on, and how its outputs are judged.

def _random_parameters(rng, n_x, n_h1, n_h2, scale=1.0):
    return {"W1": rng.normal(size=(n_h1, n_x)), "b1": rng.normal(size=(n_h1, 1)),
            "W2": rng.normal(size=(n_h2, n_h1)) * scale, "b2": rng.normal(size=(n_h2, 1)),
            "W3": rng.normal(size=(1, n_h2)) * scale, "b3": rng.normal(size=(1, 1))}


def _put(arrays, prefix, parameters):
    """Store a parameters dict among the arrays; return its JSON reference."""
    for k, v in parameters.items():
        arrays[f"{prefix}_{k}"] = v
    return {"@dict": {k: f"@{prefix}_{k}" for k in parameters}}


class _Cases:
    """Inputs and reference outputs for one graded function."""

    def __init__(self):
        self.arrays, self.calls, self.reference = {}, [], []


def _cost_cases(ref):
    import testCases.cases as cases

    c = _Cases()
    rng = np.random.default_rng(101)
    a3, Y, parameters = cases.compute_cost_with_regularization_test_case()
    inputs = [(a3, Y, parameters, 0.1)]
    for n_x, n_h1, n_h2, m, lambd in [(4, 5, 3, 7, 0.3), (2, 20, 3, 211, 0.7)]:
        inputs.append((rng.uniform(0.05, 0.95, (1, m)), (rng.random((1, m)) < 0.5).astype(float),
                       _random_parameters(rng, n_x, n_h1, n_h2), lambd))
    for i, (A3, Y, p, lambd) in enumerate(inputs):
        c.arrays[f"A3_{i}"], c.arrays[f"Y_{i}"] = A3, Y
        c.calls.append({"args": [f"@A3_{i}", f"@Y_{i}", _put(c.arrays, f"p{i}", p), lambd]})
        c.reference.append({"value": np.asarray(ref(A3, Y, {k: v.copy() for k, v in p.items()}, lambd))})
    return c


def _backward_cases(ref, dropout):
    import testCases.cases as cases

    c = _Cases()
    rng = np.random.default_rng(202)
    if dropout:
        X, Y, cache = cases.backward_propagation_with_dropout_test_case()
        inputs = [(X, Y, cache, 0.8)]
        for n_x, n_h1, n_h2, m, kp in [(3, 6, 4, 8, 0.7), (2, 5, 3, 6, 0.5)]:
            p = _random_parameters(rng, n_x, n_h1, n_h2)
            X_ = rng.normal(size=(n_x, m))
            D1 = rng.random((n_h1, m)) < kp
            D2 = rng.random((n_h2, m)) < kp
            Z1 = p["W1"] @ X_ + p["b1"]
            A1 = np.maximum(Z1, 0) * D1 / kp
            Z2 = p["W2"] @ A1 + p["b2"]
            A2 = np.maximum(Z2, 0) * D2 / kp
            Z3 = p["W3"] @ A2 + p["b3"]
            A3 = 1 / (1 + np.exp(-Z3))
            inputs.append((X_, (rng.random((1, m)) < 0.5).astype(float),
                           (Z1, D1, A1, p["W1"], p["b1"], Z2, D2, A2, p["W2"], p["b2"], Z3, A3, p["W3"], p["b3"]),
                           kp))
    else:
        X, Y, cache = cases.backward_propagation_with_regularization_test_case()
        inputs = [(X, Y, cache, 0.7)]
        for n_x, n_h1, n_h2, m, lambd in [(4, 5, 3, 7, 0.7), (2, 3, 2, 9, 1.5)]:
            p = _random_parameters(rng, n_x, n_h1, n_h2)
            X_ = rng.normal(size=(n_x, m))
            inputs.append((X_, (rng.random((1, m)) < 0.5).astype(float), forward_propagation(X_, p)[1], lambd))
    for i, (X_, Y_, cache_, hyper) in enumerate(inputs):
        c.arrays[f"X_{i}"], c.arrays[f"Y_{i}"] = X_, Y_
        for j, v in enumerate(cache_):
            c.arrays[f"cache{i}_{j}"] = np.asarray(v)
        ref_cache = tuple(np.array(v) for v in cache_)
        c.calls.append({"args": [f"@X_{i}", f"@Y_{i}", {"@tuple": [f"@cache{i}_{j}" for j in range(len(cache_))]},
                                 hyper]})
        c.reference.append({k: np.asarray(v, dtype=float) for k, v in ref(X_, Y_, ref_cache, hyper).items()})
    return c


def _judge_exact(c, statuses, outputs):
    """'' when every call returned outputs close to the reference's, else the first difference."""
    for i, (status, want) in enumerate(zip(statuses, c.reference)):
        if not status.get("ok"):
            return f"on verification case {i + 1} it raised {status.get('error', 'an error')}"
        for key, value in want.items():
            got = outputs.get(f"c{i}__{key}")
            label = "the returned value" if key == "value" else key
            if got is None:
                return f"on verification case {i + 1} it returned no {label}"
            if got.shape != value.shape or not np.allclose(got, value, rtol=1e-6, atol=1e-7):
                return f"on verification case {i + 1}, {label} differs from the reference solution's"
    return ""


def _dropout_forward_cases():
    import testCases.cases as cases

    c = _Cases()
    rng = np.random.default_rng(303)
    X, p = cases.forward_propagation_with_dropout_test_case()
    big = _random_parameters(rng, 3, 40, 30, scale=0.25)
    Xb = rng.normal(size=(3, 500))
    c.arrays["X_0"], c.arrays["X_1"] = X, Xb
    small, large = _put(c.arrays, "p0", p), _put(c.arrays, "p1", big)
    c.calls = [{"args": ["@X_0", small, 0.7], "seed": 1},
               {"args": ["@X_1", large, 0.8], "seed": 3},
               {"args": ["@X_1", large, 0.5], "seed": 4},
               {"args": ["@X_1", large, 0.5]},  # unseeded: must draw new masks
               {"args": ["@X_1", large, 1.0]}]
    c.params = [p, big, big, big, big]
    c.inputs = [X, Xb, Xb, Xb, Xb]
    c.keep = [0.7, 0.8, 0.5, 0.5, 1.0]
    return c


def _judge_dropout_forward(c, statuses, outputs):
    """'' when the outputs have every property of inverted dropout, else the first one missing."""
    for i, status in enumerate(statuses):
        if not status.get("ok"):
            return f"on verification case {i + 1} it raised {status.get('error', 'an error')}"
    got = [{k.split("__", 1)[1]: v for k, v in outputs.items() if k.startswith(f"c{i}__")} for i in range(len(c.calls))]
    for i, (out, p, X, kp) in enumerate(zip(got, c.params, c.inputs, c.keep)):
        needed = ["A3"] + [f"cache_{j}" for j in range(14)]
        if any(k not in out for k in needed):
            return f"on verification case {i + 1}, the output is not (A3, cache) with 14 cache entries"
        Z1, D1, A1, Z2, D2, A2, Z3 = (out[f"cache_{j}"] for j in (0, 1, 2, 5, 6, 7, 10))
        m = X.shape[1]
        if D1.shape != (p["W1"].shape[0], m) or D2.shape != (p["W2"].shape[0], m):
            return f"on verification case {i + 1}, the masks have the wrong shape"
        if not (np.isin(D1, (0, 1)).all() and np.isin(D2, (0, 1)).all()):
            return f"on verification case {i + 1}, the masks are not 0/1"
        checks = [(Z1, p["W1"] @ X + p["b1"], "Z1 is not W1 X + b1"),
                  (A1, np.maximum(Z1, 0) * D1 / kp, "A1 is not relu(Z1) * D1 / keep_prob"),
                  (Z2, p["W2"] @ A1 + p["b2"], "Z2 does not use the masked A1"),
                  (A2, np.maximum(Z2, 0) * D2 / kp, "A2 is not relu(Z2) * D2 / keep_prob"),
                  (Z3, p["W3"] @ A2 + p["b3"], "Z3 does not use the masked A2"),
                  (out["A3"], 1 / (1 + np.exp(-Z3)), "A3 is not sigmoid(Z3)")]
        for value, want, message in checks:
            if value.shape != want.shape or not np.allclose(value, want, rtol=1e-6, atol=1e-7):
                return f"on verification case {i + 1}, {message}"
        if i in (1, 2) and (abs(D1.mean() - kp) > 0.02 or abs(D2.mean() - kp) > 0.03):
            return f"on verification case {i + 1}, the masks keep {D1.mean():.2f} of the units, expected {kp}"
    if np.array_equal(got[2]["cache_1"], got[3]["cache_1"]):
        return "reseeds"
    return ""


def verify_function(function, source, solutions=None):
    """Run one graded function in a clean process and say how many points it confirms.

    Arguments:
    function -- the graded function's name (a key of POINTS)
    source -- its answer cell's source, or None when the submission has none

    Returns:
    Verdict
    """
    from testCases.checks import RESEED_CREDIT, _known_mistake

    points = POINTS[function]
    if not source:
        return Verdict(0.0, "the answer cell is missing from the submission")
    solutions = solutions or load_solutions()
    # The original test cases are drawn from NumPy's global RNG (seed 1, then randn): one thread at a time.
    with _CASES_LOCK:
        if function == "forward_propagation_with_dropout":
            c = _dropout_forward_cases()
        elif function == "compute_cost_with_regularization":
            c = _cost_cases(solutions[function])
        else:
            c = _backward_cases(solutions[function], dropout=function == "backward_propagation_with_dropout")
    statuses, outputs = run_clean(function, source, c.calls, c.arrays)
    if statuses is None:
        return Verdict(0.0, "the clean run did not finish (it timed out, exited or crashed)")
    if len(statuses) != len(c.calls):
        return Verdict(0.0, statuses[0].get("error", "the clean run failed") if statuses else "the clean run failed")
    if function == "forward_propagation_with_dropout":
        problem = _judge_dropout_forward(c, statuses, outputs)
        if problem == "reseeds":
            return Verdict(points * RESEED_CREDIT, "the function reseeds the random generator")
    else:
        problem = _judge_exact(c, statuses, outputs)
    if not problem:
        return Verdict(float(points))
    # A known, partly right mistake keeps its share, recognised on the public case as the public check does.
    public = {k.split("__", 1)[1]: v for k, v in outputs.items() if k.startswith("c0__")}
    names = {"compute_cost_with_regularization": {"value": "cost"},
             "forward_propagation_with_dropout": {"cache_1": "D1", "cache_2": "A1", "cache_6": "D2",
                                                  "cache_7": "A2", "A3": "A3"}}.get(function, {})
    for key, value in public.items():
        known = _known_mistake(function, names.get(key, key), value)
        if known is not None:
            return Verdict(points * known[1], f"{problem}; it matches a known mistake: {known[0]}")
    return Verdict(0.0, problem)


def verify_submission(notebook_path, solutions=None):
    """{function: Verdict} for every graded function of a submitted notebook.

    The functions' clean processes run side by side: each mostly waits for its child process.
    """
    from concurrent.futures import ThreadPoolExecutor

    answers = read_answers(notebook_path)
    solutions = solutions or load_solutions()
    with ThreadPoolExecutor(max_workers=len(POINTS)) as pool:
        futures = {name: pool.submit(verify_function, name, answers.get(name), solutions) for name in POINTS}
        return {name: future.result() for name, future in futures.items()}
