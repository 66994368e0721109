"""Grading cannot be gamed, and nothing is lost, for every assignment: the tampering corpus, graded with two
parallel workers.

Each attempt is generated at test time from the committed release (course.classroom.tamper_class). None may earn
a point it should not; the batch completes; every student has a gradebook row and a feedback file.
"""


import pytest

from course.assignments import all_assignments
from course.classroom import tamper_class
from tests.conftest import feedback_text

ASSIGNMENTS = all_assignments()
CORPORA = {a.name: tamper_class(a) for a in ASSIGNMENTS}


def test_every_attempt_has_a_gradebook_row(graded):
    assignment, _, scores = graded
    assert {a.student for a in CORPORA[assignment.name]} <= set(scores)


def test_no_attempt_earns_a_point_it_should_not(graded):
    assignment, _, scores = graded
    wrong = {}
    for attempt in CORPORA[assignment.name]:
        for name, points in attempt.expected.items():
            got = scores[attempt.student][assignment.function(name).test_cell]
            if got != pytest.approx(points):
                wrong[(attempt.student, name)] = (got, points)
    assert not wrong, f"(attempt, function): (points earned, points deserved): {wrong}"


#: Attempts that nbgrader's own test cells reward (patched comparisons, a frozen answer): only the verification
#: pass, which re-runs each graded function in a clean process on cases the notebook never sees, stops them.
FOOL_THE_TEST_CELLS = ("patch-numpy", "patch-in-body", "mimic-")


def test_the_attempts_that_fool_the_test_cells_are_stopped_by_the_verification_pass(graded):
    """Without the verification pass these attempts would earn their target's points: the corpus can fail."""
    import json

    from course.autograde import NOTES_FOLDER

    assignment, course, _ = graded
    target = assignment.tamper.function
    attempts = [a for a in CORPORA[assignment.name] if a.student.startswith(FOOL_THE_TEST_CELLS)]
    assert len(attempts) == len(FOOL_THE_TEST_CELLS)
    for attempt in attempts:
        notes = json.loads((course / NOTES_FOLDER / assignment.name / f"{attempt.student}.json").read_text())
        function = notes["functions"][target]
        assert function["in_kernel"] > 0, f"{attempt.student} no longer fools the test cells: {function}"
        assert function["final"] == attempt.expected[target] == 0, (attempt.student, function)


def test_every_attempt_gets_a_feedback_file(graded):
    assignment, course, _ = graded
    for attempt in CORPORA[assignment.name]:
        assert feedback_text(course, attempt.student, assignment).strip(), attempt.student


def test_feedback_says_why_a_score_was_lowered(graded):
    assignment, course, _ = graded
    target = assignment.tamper.function
    assert f"Verified in a clean run: 0 of {assignment.points[target]:g} points" in \
        feedback_text(course, "patch-numpy", assignment)


def test_feedback_of_a_notebook_that_could_not_run_says_so(graded):
    assignment, course, _ = graded
    text = feedback_text(course, "kernel-killer", assignment)
    assert "could not be run to the end" in text and f"{assignment.total_points:g}" in text


def test_renamed_notebook_is_graded_and_the_feedback_says_so(graded):
    assignment, course, _ = graded
    assert f"was submitted as '{assignment.notebook[:-6]}-final (1).ipynb'" in \
        feedback_text(course, "renamed", assignment)


def test_a_function_that_ran_out_of_time_in_its_test_cell_is_not_run_again(graded):
    """The endless loop scored 0 when its test cell met the time limit: the verification pass, which can only
    lower a score, settles it without spending the time limit once more; the other functions are verified."""
    import json

    from course.autograde import NOTES_FOLDER
    from course.worker import TIMED_OUT_IN_KERNEL

    assignment, course, _ = graded
    notes = json.loads((course / NOTES_FOLDER / assignment.name / "infinite-loop.json").read_text())
    target = notes["functions"][assignment.tamper.function]
    assert (target["in_kernel"], target["final"], target["reason"]) == (0.0, 0.0, TIMED_OUT_IN_KERNEL)
    others = [f for name, f in notes["functions"].items() if name != assignment.tamper.function]
    assert all(f["final"] == f["points"] and f["reason"] != TIMED_OUT_IN_KERNEL for f in others)


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_only_a_test_cell_that_timed_out_and_scored_nothing_skips_the_verification(assignment):
    """A submission can make its test cell show nbgrader's CellTimeoutError (raise an exception of that name):
    while that cell keeps points, its function is verified as any other."""
    import json

    from course.worker import Result, timed_out_in_kernel

    cell = assignment.function(assignment.tamper.function).test_cell
    timeout = {"output_type": "error", "ename": "CellTimeoutError", "evalue": "", "traceback": []}
    notebook = json.dumps({"cells": [{"cell_type": "code", "metadata": {"nbgrader": {"grade_id": cell}},
                                      "outputs": [timeout], "source": ""}]}).encode()
    kept = Result("s", in_kernel={cell: assignment.points[assignment.tamper.function]}, autograded=notebook)
    lost = Result("s", in_kernel={cell: 0.0}, autograded=notebook)
    assert timed_out_in_kernel(assignment, kept) == {}
    assert list(timed_out_in_kernel(assignment, lost)) == [assignment.tamper.function]
    assert timed_out_in_kernel(assignment, Result("s", autograded=notebook)) == {}  # nbgrader failed: all verified
