"""The verification pass: points come only from checks the student's code cannot reach.

Instructor side (the grading command calls it). nbgrader runs a notebook's tests inside the student's own kernel,
where one line (``np.testing.assert_allclose = lambda *a, **k: None``) can turn every check off. Here each graded
function's answer cell is taken from the submitted bytes (read once, before any student code ran) and run alone,
on the assignment's verification cases, in a fresh process inside the OS sandbox (``course.sandbox``; the runner
is ``course/clean_run.py``). Only numbers come back (``allow_pickle=False``), and this process, which never runs
student code, judges them: against the reference solution's outputs on the same calls, or by the properties a
right answer has. A known mistake keeps its share of the points only when it explains EVERY verification case.
"""

import io
import json
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from course import clean_run

#: Seconds one graded function may run in the clean process (all its calls together), at most: the grading
#: command lowers it to the course's nbgrader cell timeout (Execute.timeout) when that is shorter.
TIME_LIMIT = 10
#: The reason of a graded function whose answer cell is not in the submission.
MISSING = "the answer cell is missing from the submission"
#: Largest notebook read (bytes): a bigger one is not a genuine submission.
MAX_NOTEBOOK_BYTES = 20 * 1024 ** 2
#: Building cases and running the reference and the mistakes in this process use NumPy's global RNG.
_RNG_LOCK = threading.RLock()


@dataclass
class Verdict:
    """What the clean run of one graded function showed.

    points -- the points the clean run confirms (the score can never exceed them)
    reason -- why it confirms fewer than all points ("" when it confirms all)
    mistake -- the name of the catalogued mistake that explains every verification case, if one does
    """

    points: float
    reason: str = ""
    mistake: str = None


def read_answers(notebook_bytes, function_names):
    """{grade_id: source} of the graded functions' answer cells in a submitted notebook, parsed as plain JSON.

    Arguments:
    notebook_bytes -- the submitted file's bytes (or None when nothing was submitted)
    function_names -- the graded functions (their answer cells' grade_ids)

    Returns {} for bytes that are missing, too large, not JSON, or not shaped like a notebook.
    """
    if not notebook_bytes or len(notebook_bytes) > MAX_NOTEBOOK_BYTES:
        return {}
    try:
        nb = json.loads(notebook_bytes.decode("utf-8", errors="replace"))
        answers = {}
        for cell in nb.get("cells", []):
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            source = cell.get("source", "")
            source = source if isinstance(source, str) else "".join(source)
            if grade_id in function_names and cell.get("cell_type") == "code" and isinstance(source, str):
                answers[grade_id] = source
        return answers
    except (ValueError, AttributeError, TypeError):
        return {}


# -- running the calls --------------------------------------------------------------------------------------------
def runs_from(statuses, outputs, n_calls):
    """[{"ok", "error", "out": {key: float64 array}}] per call, from the runner's status list and outputs."""
    runs = []
    for i, status in enumerate(statuses[:n_calls]):
        prefix = f"c{i}__"
        out = {k[len(prefix):]: v for k, v in outputs.items() if k.startswith(prefix)}
        runs.append({"ok": bool(status.get("ok")), "error": str(status.get("error", ""))[:500], "out": out})
    return runs


def _npz_bytes(arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _outcome(statuses, outputs, cases):
    """(runs, problem) from what a clean run left: runs is None, and problem says why, when it left nothing
    readable or fewer statuses than calls."""
    if statuses is None:
        return None, clean_run.CRASHED
    if len(statuses) != len(cases.calls):
        return None, (str(statuses[0].get("error", "")) if statuses else "") or "the clean run failed"
    return runs_from(statuses, outputs, len(cases.calls)), ""


def run_student(function, source, cases, *, sandboxed=True, slot=0, time_limit=TIME_LIMIT):
    """Run one answer cell's function on the cases in a fresh process of its own; return (runs, problem).

    runs is None, and problem says why, when the process died, timed out, or returned nothing readable.
    """
    spec = json.dumps({"function": function, "source": source, "calls": cases.calls}).encode()
    try:
        if sandboxed:
            statuses, outputs = _run_function_sandboxed(spec, _npz_bytes(cases.arrays), slot, time_limit)
        else:
            statuses, outputs = _run_function_unsandboxed(spec, _npz_bytes(cases.arrays), time_limit)
    except subprocess.TimeoutExpired:
        return None, clean_run.TIMED_OUT
    return _outcome(statuses, outputs, cases)


def run_students(answers, *, sandboxed=True, slot=0, time_limit=TIME_LIMIT):
    """Run several answer cells' functions in one clean run (one child process per function, each isolated from
    the others); return {function: (runs, problem)} for the functions it reported on.

    Sandboxed, the run happens in this process's long-lived sandbox of the slot (course/sandbox_host.py: reset
    for it, the children forked from a parent that has imported NumPy and the helpers); the opt-out runs
    ``clean_run.py --each`` in a plain isolated process.

    Arguments:
    answers -- [(function, source, cases)]

    A function missing from the result (the run as a whole died, timed out, or left nothing readable for it)
    must be run alone (run_student).
    """
    if not answers:
        return {}
    try:
        with tempfile.TemporaryDirectory(prefix="verified-") as tmp:
            if sandboxed:
                _run_batch_in_host(answers, Path(tmp), slot, time_limit)
            else:
                _run_batch_unsandboxed(answers, Path(tmp), time_limit)
            found = {j: clean_run.read_outputs(tmp, suffix=f"-{j}") for j in range(len(answers))}
    except subprocess.TimeoutExpired:
        return {}
    return {f: _outcome(*found[j], c) for j, (f, _, c) in enumerate(answers) if found[j][0] is not None}


def _run_batch_in_host(answers, into, slot, time_limit):
    """The children of one verification run in the slot's sandbox host; what each sent is written into `into`
    as status-J.json and outputs-J.npz (nothing for a function the run did not reach)."""
    from course import sandbox_host

    items = [(json.dumps({"function": f, "source": s, "calls": c.calls}).encode(), _npz_bytes(c.arrays))
             for f, s, c in answers]
    host = sandbox_host.host_for(slot)
    with host.lock:
        results = host.verify(items, time_limit)
    for j, (data, timed_out) in enumerate(results):
        status, npz = clean_run.parse_result(data, timed_out)
        (into / f"status-{j}.json").write_bytes(status)
        (into / f"outputs-{j}.npz").write_bytes(npz)


def _run_batch_unsandboxed(answers, into, time_limit):
    """The opt-out: clean_run.py --each in a plain isolated Python process, in `into`."""
    spec = {"functions": [{"function": f, "source": s, "calls": c.calls} for f, s, c in answers],
            "time_limit": time_limit}
    (into / "spec.json").write_text(json.dumps(spec))
    for j, (_, _, cases) in enumerate(answers):
        (into / f"inputs-{j}.npz").write_bytes(_npz_bytes(cases.arrays))
    total = time_limit * len(answers) + 10  # every child's own limit, plus the interpreter's start
    subprocess.run([sys.executable, "-I", clean_run.__file__, str(into), "--each"], cwd=into, timeout=total,
                   stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})


def _run_function_sandboxed(spec, inputs, slot, time_limit):
    """The runner in the OS sandbox: it sees the submission's function and its inputs only; outputs come back as
    bytes and are read here without unpickling."""
    from course.sandbox import CLEAN_RUN, run_sandboxed

    result = run_sandboxed([sys.executable, "-I", CLEAN_RUN, "/scratch"],
                           files={"spec.json": spec, "inputs.npz": inputs}, collect=("outputs.npz", "status.json"),
                           slot=slot, timeout=time_limit, env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    with tempfile.TemporaryDirectory(prefix="verified-") as tmp:
        for name, data in result.files.items():
            (Path(tmp) / name).write_bytes(data)
        return clean_run.read_outputs(tmp)


def _run_function_unsandboxed(spec, inputs, time_limit):
    """The opt-out: the runner in a plain isolated Python process (no OS sandbox)."""
    with tempfile.TemporaryDirectory(prefix="verify-") as tmp:
        work = Path(tmp)
        (work / "spec.json").write_bytes(spec)
        (work / "inputs.npz").write_bytes(inputs)
        subprocess.run([sys.executable, "-I", clean_run.__file__, str(work)], cwd=work, timeout=time_limit,
                       stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={"PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
        return clean_run.read_outputs(work)


def run_trusted(function, cases):
    """Run a trusted function (the reference solution, a catalogued mistake) on the cases, in this process,
    exactly as the clean runner does (same seeds, same output keys); return its runs."""
    with _RNG_LOCK:
        statuses, outputs = clean_run.run_calls(function, cases.calls, cases.arrays)
    return runs_from(statuses, outputs, len(cases.calls))


# -- judging ----------------------------------------------------------------------------------------------------
def _error_kind(run):
    return run["error"].split(":", 1)[0]


def _same_run(got, want):
    """Whether two runs of one call agree: both raised the same kind of error, or returned close outputs."""
    if got["ok"] != want["ok"]:
        return False
    if not want["ok"]:
        return _error_kind(got) == _error_kind(want)
    return all(key in got["out"] and _close(got["out"][key], value) for key, value in want["out"].items())


def _close(got, want):
    return got.shape == want.shape and np.allclose(got, want, rtol=1e-6, atol=1e-7, equal_nan=True)


def output_label(key):
    """How feedback names an output key of clean_run.flatten: "value" -> "the returned value", "0" -> "the 1st
    returned value", "1.dW1" -> "the 2nd returned value's dW1", "dW1" (a returned dict's key) -> "dW1"."""
    if key == "value":
        return "the returned value"
    parts = key.split(".")
    if not parts[0].isdigit():
        return key
    position = int(parts[0]) + 1
    suffix = {1: "st", 2: "nd", 3: "rd"}.get(position if position < 20 else position % 10, "th")
    label = f"the {position}{suffix} returned value"
    return label + "".join(f"'s {part}" if not part.isdigit() else f"'s item {int(part) + 1}" for part in parts[1:])


def judge_exact(cases, runs, reference_runs):
    """'' when every call agrees with the reference solution's (same outputs, or the same kind of error), else
    the first difference."""
    for i, (run, want) in enumerate(zip(runs, reference_runs)):
        case = f"on verification case {i + 1}"
        if not want["ok"]:
            if run["ok"] or _error_kind(run) != _error_kind(want):
                return f"{case} it should raise {_error_kind(want)}, but " + \
                    ("returned normally" if run["ok"] else f"raised {run['error']}")
            continue
        if not run["ok"]:
            return f"{case} it raised {run['error']}"
        for key, value in want["out"].items():
            label = output_label(key)
            got = run["out"].get(key)
            if got is None:
                return f"{case} it returned no {label}"
            if not _close(got, value):
                return f"{case}, {label} differs from the reference solution's"
    return ""


@lru_cache(maxsize=None)
def prepared(assignment, function):
    """(cases, reference runs, [(mistake, its runs)]) of one graded function: built once per process."""
    with _RNG_LOCK:
        solutions = assignment.load_solutions()
        cases = assignment.function(function).cases(solutions)
        if not cases.calls or cases.calls[0].get("seed") is None:
            raise ValueError(f"{assignment.name}.{function}: the first verification call must be seeded")
        reference = run_trusted(solutions[function], cases)
        mistakes = []
        for variant in assignment.mistakes:
            if variant.grade_id == function:
                namespace = assignment.load_solutions({function: assignment.variant_source(variant)})
                mistakes.append((variant, run_trusted(namespace[function], cases)))
    return cases, reference, mistakes


def verify_function(assignment, function, source, *, sandboxed=True, slot=0, time_limit=TIME_LIMIT):
    """Run one graded function in a clean process of its own and say how many points it confirms.

    Arguments:
    assignment -- the Assignment
    function -- the graded function's name
    source -- its answer cell's source, or None when the submission has none
    sandboxed -- run the student's code in the OS sandbox (False only with the explicit opt-out)
    slot -- the grading slot of the sandbox (course.sandbox)
    time_limit -- seconds the function may run (all its calls together)

    Returns:
    Verdict
    """
    if not source:
        return Verdict(0.0, MISSING)
    cases = prepared(assignment, function)[0]
    return judge_function(assignment, function, run_student(function, source, cases, sandboxed=sandboxed,
                                                            slot=slot, time_limit=time_limit))


def judge_function(assignment, function, outcome):
    """The Verdict on one graded function from its clean run's (runs, problem)."""
    points = assignment.points[function]
    cases, reference, mistakes = prepared(assignment, function)
    runs, problem = outcome
    if runs is None:
        return Verdict(0.0, problem)
    problem = (cases.judge or judge_exact)(cases, runs, reference)
    if not problem:
        return Verdict(float(points))
    special = cases.special(cases, runs) if cases.special else None
    if special:
        return Verdict(points * special[0], special[1], special[2] if len(special) > 2 else None)
    for variant, expected in mistakes:
        if len(expected) == len(runs) and all(_same_run(g, w) for g, w in zip(runs, expected)):
            return Verdict(points * variant.credit, f"{problem}; it matches a known mistake: {variant.description}",
                           variant.name)
    return Verdict(0.0, problem)


def verify_submission(assignment, notebook_bytes, *, sandboxed=True, slot=0, time_limit=TIME_LIMIT, settled=None):
    """{function: Verdict} for every graded function of a submission (its bytes, read before any code ran).

    Every answered function runs in ONE clean run (one sandbox, one child process per function: see
    ``clean_run.main_each``); a function that run does not report on (it died as a whole) runs again alone.
    Each function may run time_limit seconds. settled -- {function: Verdict} already decided, whose functions do
    not run (course.worker settles a function whose test cell ran out of time and scored 0: a clean run could
    only spend the same time again, and can never raise a score).
    """
    settled = dict(settled or {})
    answers = read_answers(notebook_bytes, assignment.function_names)
    answered = [(f, answers[f], prepared(assignment, f)[0]) for f in assignment.function_names
                if answers.get(f) and f not in settled]
    outcomes = run_students(answered, sandboxed=sandboxed, slot=slot, time_limit=time_limit)
    verdicts = {}
    for function in assignment.function_names:
        source = answers.get(function)
        if function in settled:
            verdicts[function] = settled[function]
        elif not source:
            verdicts[function] = Verdict(0.0, MISSING)
        elif function in outcomes:
            verdicts[function] = judge_function(assignment, function, outcomes[function])
        else:
            verdicts[function] = verify_function(assignment, function, source, sandboxed=sandboxed, slot=slot,
                                                 time_limit=time_limit)
    return verdicts
