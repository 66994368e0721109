"""Grading that teaches, for every assignment: every catalogued mistake gets its own score and message through
nbgrader, every correct variant gets full marks, and the feedback HTML shows messages and points but never the
hidden tests.

Submissions are generated at test time from the committed release (course.classroom), graded by the grading
command (nbgrader in the sandbox, then the verification pass), and read back through nbgrader's gradebook API and
the feedback HTML.
"""

import re

import pytest

from course.assignments import all_assignments
from course.classroom import every_mistake_class
from course.pipeline import feedback_summary
from course.reference import marked_lines
from tests.conftest import feedback_text

ASSIGNMENTS = all_assignments()
CLASSES = {a.name: every_mistake_class(a) for a in ASSIGNMENTS}
CASES = [(a, s) for a in ASSIGNMENTS for s in CLASSES[a.name]]


def test_each_exercise_earns_the_points_its_variants_deserve(graded):
    assignment, _, scores = graded
    for submission in CLASSES[assignment.name]:
        row = scores[submission.student]
        for name, points in submission.expected.items():
            assert row[assignment.function(name).test_cell] == pytest.approx(points), (submission.student, name)
        assert row["total"] == pytest.approx(sum(submission.expected.values())), submission.student


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_every_catalogued_mistake_and_alternative_is_graded(assignment):
    graded_variants = {name for s in CLASSES[assignment.name] for name in s.variants}
    assert graded_variants == {v.name for v in assignment.mistakes + assignment.alternatives}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_every_assignment_names_at_least_eight_mistakes(assignment):
    assert len(assignment.mistakes) >= 8
    assert all(0 <= v.credit < 1 for v in assignment.mistakes)


def test_feedback_names_each_mistake(graded):
    assignment, course, _ = graded
    for variant in assignment.mistakes:
        student = next(s.student for s in CLASSES[assignment.name] if variant.name in s.variants)
        assert variant.expected_feedback in feedback_text(course, student, assignment), variant.name


def test_feedback_shows_points_per_cell(graded):
    assignment, course, scores = graded
    first = assignment.function_names[0]
    earned = scores["mistakes-1"][assignment.function(first).test_cell]
    text = feedback_text(course, "mistakes-1", assignment)
    assert re.search(rf"Score:\s*{earned:.1f}\s*/\s*{assignment.points[first]:.1f}", text)


def test_feedback_never_shows_hidden_test_source(graded):
    assignment, course, _ = graded
    hidden = marked_lines("HIDDEN TESTS", 25, assignment.source_path)
    for submission in CLASSES[assignment.name]:
        text = feedback_text(course, submission.student, assignment)
        assert "_hidden_" not in text
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{submission.student}'s feedback shows hidden tests: {leaked[:2]}"


def test_feedback_summary_is_the_first_failing_check(graded):
    assignment, course, _ = graded
    assert feedback_summary(course, "alternative-1", assignment) == "all checks passed"
    first = next(assignment.variant(name) for name in CLASSES[assignment.name][0].variants)
    assert first.expected_feedback in feedback_summary(course, "mistakes-1", assignment)
