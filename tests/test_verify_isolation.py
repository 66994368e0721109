"""The verification pass runs every graded function of a submission in ONE sandbox, one child process each,
and nothing one function does reaches another's run (course.verify.run_students, course/clean_run.py --each).

Each test takes the first assignment's reference answers and turns one of them into an attack; the other
functions must keep their full points. The tests run real sandboxes and skip, saying why, where bubblewrap
cannot run.
"""

import textwrap

import pytest

from course import clean_run, sandbox, sandbox_host, verify
from course.assignments import get_assignment

ASSIGNMENT = get_assignment("regularization")
FIRST, SECOND = ASSIGNMENT.function_names[:2]


pytestmark = pytest.mark.usefixtures("sandbox_available")


def answers(**attacks):
    """[(function, source, cases)] of the reference answers, with attack code run at the start of each call of the
    functions named in attacks (function name -> code)."""
    sources = ASSIGNMENT.solution_sources()
    items = []
    for function in ASSIGNMENT.function_names:
        source = sources[function]
        if function in attacks:
            source += "\n\n_inner = {0}\n\n\ndef {0}(*args, **kwargs):\n{1}\n    return _inner(*args, **kwargs)\n".format(
                function, textwrap.indent(textwrap.dedent(attacks[function]).strip(), "    "))
        items.append((function, source, verify.prepared(ASSIGNMENT, function)[0]))
    return items


def verdicts(items, **kwargs):
    """{function: Verdict} from one shared run (no fallback: a function it does not report on is absent)."""
    outcomes = verify.run_students(items, **kwargs)
    return {f: verify.judge_function(ASSIGNMENT, f, outcome) for f, outcome in outcomes.items()}


def full_points(found, functions):
    return {f: found[f].points for f in functions} == {f: float(ASSIGNMENT.points[f]) for f in functions}


def test_a_correct_submission_is_verified_in_one_run_of_the_sandbox_host(monkeypatch):
    one_shots, runs = [], []
    real_one_shot, real_run = sandbox.run_sandboxed, sandbox_host.SandboxHost.verify
    monkeypatch.setattr(sandbox, "run_sandboxed", lambda *a, **k: one_shots.append(a) or real_one_shot(*a, **k))
    monkeypatch.setattr(sandbox_host.SandboxHost, "verify", lambda self, items, limit: runs.append(
        len(items)) or real_run(self, items, limit))
    found = verify.verify_submission(ASSIGNMENT, _notebook_with(ASSIGNMENT.solution_sources()))
    assert full_points(found, ASSIGNMENT.function_names)
    assert runs == [len(ASSIGNMENT.function_names)] and one_shots == []


def test_a_process_one_function_leaves_running_is_gone_before_the_next_function_runs():
    leaves_a_writer = """
        import os, time
        if os.fork() == 0:  # a daemon in a session of its own, appending to a file every 5 ms
            os.setsid()
            if os.fork() == 0:
                while True:
                    with open("/tmp/leftover", "a") as f:
                        f.write(".")
                    time.sleep(0.005)
            os._exit(0)
        time.sleep(0.05)
    """
    checks_for_it = """
        import os, time
        size = os.path.getsize("/tmp/leftover") if os.path.exists("/tmp/leftover") else -1
        time.sleep(0.1)
        if size < 0 or os.path.getsize("/tmp/leftover") != size:
            raise RuntimeError("no trace of the first function, or its process is still running")
    """
    found = verdicts(answers(**{FIRST: leaves_a_writer, SECOND: checks_for_it}))
    assert full_points(found, ASSIGNMENT.function_names), {f: v.reason for f, v in found.items()}


def test_a_function_cannot_read_or_trace_the_process_that_runs_the_others():
    pries = """
        import ctypes, os
        parent = os.getppid()
        try:
            with open("/proc/%d/mem" % parent, "rb"):
                raise AssertionError("the parent's memory is readable")
        except PermissionError:
            pass
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.ptrace(16, parent, None, None) == 0:  # PTRACE_ATTACH
            raise AssertionError("the parent can be traced")
    """
    found = verdicts(answers(**{FIRST: pries}))
    assert full_points(found, ASSIGNMENT.function_names), {f: v.reason for f, v in found.items()}


def test_a_function_that_kills_the_shared_run_costs_only_its_own_points():
    kills = "import os, signal\nos.kill(os.getppid(), signal.SIGKILL)"
    sources = {f: s for f, s, _ in answers(**{SECOND: kills})}
    notebook = _notebook_with(sources)
    # The shared run reports the function before the killer, and nothing from the killer on ...
    assert set(verify.run_students(answers(**{SECOND: kills}))) == {FIRST}
    found = verify.verify_submission(ASSIGNMENT, notebook)  # ... so those run again, each alone
    others = [f for f in ASSIGNMENT.function_names if f != SECOND]
    assert full_points(found, others) and found[SECOND].points == 0.0
    assert found[SECOND].reason == clean_run.CRASHED


def test_an_endless_loop_costs_only_its_own_function():
    found = verdicts(answers(**{FIRST: "while True:\n    pass"}), time_limit=1)
    assert found[FIRST].points == 0.0 and found[FIRST].reason == clean_run.TIMED_OUT
    assert full_points(found, ASSIGNMENT.function_names[1:])


def test_the_unsandboxed_opt_out_runs_every_function_in_one_process_too():
    found = verdicts(answers(), sandboxed=False)
    assert full_points(found, ASSIGNMENT.function_names)


def _notebook_with(sources):
    """A submission's bytes: the release with these answer cells."""
    import nbformat

    from course.nbgrader_course import make_submission

    return nbformat.writes(make_submission(ASSIGNMENT.release_path, sources)).encode()


def test_a_graded_function_gets_no_longer_than_nbgrader_gives_a_cell():
    from traitlets.config import Config

    from course.autograde import verification_time_limit

    def limit(**execute):
        config = Config()
        for key, value in execute.items():
            config.Execute[key] = value
        return verification_time_limit(config)

    assert limit(timeout=3) == 3
    assert limit(timeout=60) == verify.TIME_LIMIT
    assert limit() == verify.TIME_LIMIT
    assert limit(timeout=-1) == verify.TIME_LIMIT  # nbgrader's "no limit": the verifier keeps its own


def test_feedback_names_a_returned_value_by_its_position():
    """The verifier's reasons say which output differs in words a student reads, not the runner's keys."""
    assert verify.output_label("value") == "the returned value"
    assert verify.output_label("0") == "the 1st returned value"
    assert verify.output_label("1.dW1") == "the 2nd returned value's dW1"
    assert verify.output_label("dW1") == "dW1"
