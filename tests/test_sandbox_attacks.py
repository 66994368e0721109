"""The attacks only the OS sandbox stops (course.attacks): graded in the sandbox they earn nothing and change
nothing; graded without it (the opt-out) they really earn points, which shows that the corpus can fail.

One assignment (the first of the registry), one class: the honest classmate the copier copies from, every attack
of course.attacks and two attempts of the in-Python corpus, graded end to end with two workers, once in the
sandbox and once with sandboxed=False. The unsandboxed run executes the attacks for real, as this process's user:
each leaves its effects in temporary folders, or the fixture undoes them at once (the .pth files, the background
processes); the fork bomb and the big file are bounded and cleaned up by the attempts themselves.
"""

import hashlib
import html
import json
import os
import re
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from course import attacks, pipeline
from course.assignments import all_assignments
from course.classroom import tamper_class
from course.notebooks import stream_text
from course.sandbox import Limits, SandboxUnavailable, ensure_available

ASSIGNMENT = all_assignments()[0]
TARGET = ASSIGNMENT.tamper.function
ATTACKS = attacks.sandbox_attacks(ASSIGNMENT)
TAMPER = [a for a in tamper_class(ASSIGNMENT) if a.student in ("patch-numpy", "not-json")]
HONEST = attacks.honest_classmate(ASSIGNMENT)
CLASS = [HONEST] + ATTACKS + TAMPER
SANDBOX_ONLY = [a for a in ATTACKS if a.sandbox_only]
#: What grading itself writes in the course folder (top-level names): everything else must stay as it was.
GRADING_WRITES = {"gradebook.db", "gradebook.db-journal", "autograded", "feedback", "grading", "grades.csv"}


@dataclass
class Graded:
    """One grading of CLASS, with what was around it."""

    course: Path
    scores: dict = field(default_factory=dict)
    course_before: dict = field(default_factory=dict)  # the course folder just before autograde, and after
    course_after: dict = field(default_factory=dict)
    venv_before: dict = field(default_factory=dict)    # the virtual environment before grading, and after
    venv_after: dict = field(default_factory=dict)
    pth_files: list = field(default_factory=list)      # .pth files of the attempts right after grading
    lingering: dict = field(default_factory=dict)      # new background processes of the attempts, likewise


# -- what is around a grading ------------------------------------------------------------------------------------
def _course_digest(course_root):
    """{relative path: sha256} of the course folder's files, outside what grading writes."""
    root = Path(course_root)
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*"))
            if p.is_file() and p.relative_to(root).parts[0] not in GRADING_WRITES}


def _venv_digest():
    """{relative path: (size, mtime, mode, sha256 of .pth files)} of the virtual environment's files.

    Byte caches are left out: other test runs compile modules in this shared environment at any time.
    """
    root = Path(sys.prefix)
    digest = {}
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in files:
            path = Path(folder) / name
            info = path.lstat()
            content = hashlib.sha256(path.read_bytes()).hexdigest() if name.endswith(".pth") else ""
            digest[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns, info.st_mode, content)
    return digest


def _end(processes):
    """Kill the given background processes of the attempts (started by this test's gradings) and wait."""
    for pid in processes:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 10
    while set(processes) & set(attacks.lingering_processes()) and time.monotonic() < deadline:
        time.sleep(0.05)


def _new_lingering(before, wait=2.0):
    """The attempts' background processes that were not there before; a sandbox's die within `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        new = {pid: cmd for pid, cmd in attacks.lingering_processes().items() if pid not in before}
        if not new or time.monotonic() > deadline:
            return new
        time.sleep(0.05)


def _grade(tmp_path_factory, name, sandboxed):
    """Grade CLASS in a new course copy, with the course folder hashed just before and after autograde."""
    graded = Graded(tmp_path_factory.mktemp(name))
    real_autograde = pipeline.autograde

    def watched(course_root, *args, **kwargs):
        graded.course_before = _course_digest(course_root)
        try:
            return real_autograde(course_root, *args, **kwargs)
        finally:
            graded.course_after = _course_digest(course_root)

    graded.venv_before = _venv_digest()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(pipeline, "autograde", watched)
        graded.scores = pipeline.grade_class(graded.course, CLASS, ASSIGNMENT, jobs=2, sandboxed=sandboxed)
    graded.venv_after = _venv_digest()
    return graded


@pytest.fixture(scope="module")
def decoy_postgres():
    """A listener on PostgreSQL's TCP port of the host's loopback (None when the port is taken): reachable from
    the grader, so the attempt's probe shows what the sandbox changes. Yields the list of connections."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        server.bind(("127.0.0.1", 5432))
    except OSError:
        server.close()
        yield None
        return
    server.listen(16)
    connections = []

    def accept():
        while True:
            try:
                connection, _ = server.accept()
            except OSError:
                return
            connections.append(connection.getpeername())
            connection.close()

    threading.Thread(target=accept, daemon=True).start()
    yield connections
    server.close()


@pytest.fixture(scope="module")
def sandboxed(tmp_path_factory, decoy_postgres):
    try:
        ensure_available()
    except SandboxUnavailable as exc:
        pytest.skip(f"the sandbox cannot run here: {exc}")
    before = attacks.lingering_processes()
    graded = _grade(tmp_path_factory, "attacks-sandboxed", sandboxed=True)
    graded.pth_files, graded.lingering = attacks.pth_files(), _new_lingering(before)
    _end(graded.lingering)  # none, unless the test fails: then no later run should meet them
    return graded


@pytest.fixture(scope="module")
def unsandboxed(tmp_path_factory, decoy_postgres):
    """The class graded WITHOUT the sandbox: the attacks run for real; their leftovers are recorded, then removed
    before anything else runs (the .pth files would reach every Python process of this environment)."""
    before = attacks.lingering_processes()
    pth_before = set(attacks.pth_files())
    graded = Graded(Path())
    try:
        graded = _grade(tmp_path_factory, "attacks-unsandboxed", sandboxed=False)
    finally:
        graded.pth_files = sorted(set(attacks.pth_files()) - pth_before)
        graded.lingering = _new_lingering(before, wait=0)
        for path in graded.pth_files:
            path.unlink(missing_ok=True)
        _end(graded.lingering)
    return graded


def _points(graded, attempt):
    return {name: graded.scores[attempt.student][ASSIGNMENT.function(name).test_cell]
            for name in ASSIGNMENT.function_names}


def _report(graded, student):
    """What an attempt said about itself in its answer cell's output (course.attacks.REPORT_TAG), or {}."""
    path = graded.course / "autograded" / student / ASSIGNMENT.name / ASSIGNMENT.notebook
    for cell in nbformat.read(path, as_version=4).cells if path.is_file() else []:
        for line in stream_text(cell).splitlines():
            if line.startswith(attacks.REPORT_TAG + " "):
                return json.loads(line[len(attacks.REPORT_TAG) + 1:])
    return {}


def _feedback(graded, student):
    path = graded.course / "feedback" / student / ASSIGNMENT.name / ASSIGNMENT.notebook.replace(".ipynb", ".html")
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text())) if path.is_file() else ""


# -- the corpus itself --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("assignment", all_assignments(), ids=lambda a: a.name)
def test_the_corpus_is_built_for_every_assignment_from_the_registry(assignment):
    corpus = attacks.sandbox_attacks(assignment)
    assert len({a.student for a in corpus}) == len(corpus) == 10
    for attempt in corpus:
        answers = attempt.answers(assignment)
        compile(answers[assignment.tamper.function], attempt.student, "exec")
        assert attempt.wrong and attempt.expected == {
            name: (0 if name == assignment.tamper.function else p) for name, p in assignment.points.items()}
        assert attacks.REPORT_TAG in answers[assignment.tamper.function]


# -- in the sandbox --------------------------------------------------------------------------------------------
def test_sandboxed_every_student_has_a_gradebook_row_and_a_feedback_file(sandboxed):
    assert set(sandboxed.scores) == {s.student for s in CLASS}
    assert [s.student for s in CLASS if not _feedback(sandboxed, s.student).strip()] == []


def test_sandboxed_no_attempt_earns_a_point_it_should_not(sandboxed):
    wrong = {(s.student, name): (got, s.expected[name]) for s in CLASS for name, got in _points(sandboxed, s).items()
             if got != pytest.approx(s.expected[name])}
    assert not wrong, f"(student, function): (points earned, points deserved): {wrong}"


def test_sandboxed_grading_changes_no_file_outside_its_scratch_folders(sandboxed):
    assert sandboxed.course_before and sandboxed.course_after == sandboxed.course_before
    changed = {p for p in set(sandboxed.venv_before) | set(sandboxed.venv_after)
               if sandboxed.venv_before.get(p) != sandboxed.venv_after.get(p)}
    assert changed == set(), f"files of the virtual environment changed while grading: {sorted(changed)}"
    assert sandboxed.pth_files == []


def test_sandboxed_no_background_process_survives(sandboxed):
    assert sandboxed.lingering == {}
    assert _report(sandboxed, "background-process").get("started")  # it did start one, inside


def test_sandboxed_attacks_find_no_solution_gradebook_or_classmate(sandboxed):
    reports = {a.student: _report(sandboxed, a.student) for a in ATTACKS}
    assert all(reports.values()), [name for name, report in reports.items() if not report]
    assert [name for name, report in reports.items() if report.get("stole")] == []
    assert [name for name, report in reports.items() if report.get("course_roots")] == []
    assert reports["pth-persist"]["pth_refused"] and "pth" not in reports["pth-persist"]
    assert reports["gradebook-trigger"]["triggers"] == [] and reports["rewrite-submission"]["rewrote"] == []
    assert "connected" not in reports["gradebook-trigger"]["postgres"].values()


def test_sandboxed_fork_bomb_and_big_file_stop_at_the_limits(sandboxed):
    bomb = _report(sandboxed, "fork-bomb")
    assert bomb["forked"] <= Limits().processes and bomb["refused"] > 0, bomb
    for written in _report(sandboxed, "big-file")["files"]:
        assert written["taken"] <= Limits().file_size and written["errors"], written


# -- without the sandbox ---------------------------------------------------------------------------------------
def test_unsandboxed_every_sandbox_only_attack_earns_points_it_should_not(unsandboxed):
    # If one of these ever stops earning points without the sandbox, the sandboxed tests above prove nothing
    # about it: the corpus must be able to fail.
    harmless = {a.student: _report(unsandboxed, a.student) for a in SANDBOX_ONLY
                if _points(unsandboxed, a)[TARGET] <= a.expected[TARGET]}
    assert not harmless, f"earned no unearned point without the sandbox (their reports): {harmless}"


def test_unsandboxed_the_other_submissions_earn_what_they_deserve(unsandboxed):
    # rewrite-submission, the robustness attacks and the in-Python corpus are stopped by the grader itself.
    others = [s for s in CLASS if not getattr(s, "sandbox_only", False)]
    wrong = {(s.student, name): (got, s.expected[name]) for s in others for name, got in _points(unsandboxed, s).items()
             if got != pytest.approx(s.expected[name])}
    assert not wrong, f"(student, function): (points earned, points deserved): {wrong}"


def test_unsandboxed_rewritten_submission_is_seen_by_the_course_digest(unsandboxed):
    # The check the sandboxed run passes can fail: here rewrite-submission changed its file in the course folder.
    assert _report(unsandboxed, "rewrite-submission")["rewrote"]
    changed = {p for p in unsandboxed.course_before if unsandboxed.course_after.get(p) != unsandboxed.course_before[p]}
    assert changed == {str(Path("submitted", "rewrite-submission", ASSIGNMENT.name, ASSIGNMENT.notebook))}


def test_unsandboxed_the_robustness_attacks_do_their_damage(unsandboxed):
    """Without the sandbox the bomb forks past the sandbox's process limit, or takes nbgrader's run of the notebook
    down with it (on a loaded host it has done both): either way it was not contained."""
    from course.autograde import NOTES_FOLDER

    bomb = _report(unsandboxed, "fork-bomb")
    if bomb:
        assert bomb["forked"] > Limits().processes, bomb
    else:
        notes = json.loads((unsandboxed.course / NOTES_FOLDER / ASSIGNMENT.name / "fork-bomb.json").read_text())
        assert notes["ran_to_the_end"] is False, notes
    for written in _report(unsandboxed, "big-file")["files"]:
        assert written["taken"] >= attacks.BIG_FILE_BYTES, written
    assert len(unsandboxed.lingering) >= 1, "no background process outlived its kernel"


def test_unsandboxed_pth_files_land_in_site_packages(unsandboxed):
    names = {p.name for p in unsandboxed.pth_files}
    assert names == {f"{attacks.PTH_PREFIX}{s}.pth" for s in ("relative-source", "pth-persist")}
    changed = {Path(p).name for p in set(unsandboxed.venv_before) | set(unsandboxed.venv_after)
               if unsandboxed.venv_before.get(p) != unsandboxed.venv_after.get(p)}
    assert changed == names  # what the venv digest of the sandboxed run would have caught
    assert attacks.pth_files() == []  # and the fixture removed them


def test_unsandboxed_postgres_probe_reaches_the_host(unsandboxed, decoy_postgres):
    if decoy_postgres is None:
        pytest.skip("port 5432 of the loopback is taken: no decoy listener")
    assert _report(unsandboxed, "gradebook-trigger")["postgres"]["tcp"] == "connected"
