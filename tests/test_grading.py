"""Grading that teaches: every catalogued mistake gets its own score and message through nbgrader, every correct
variant gets full marks, and the feedback HTML shows messages and points but never the hidden tests.

Submissions are generated at test time from the committed release (course.classroom), graded by nbgrader's own
CLI, and read back through nbgrader's gradebook API and the feedback HTML.
"""

import html
import re

import pytest

from course.classroom import every_mistake_class
from course.grading import feedback_summary, grade_class
from course.reference import marked_lines
from course.variants import CORRECT_ALTERNATIVES, MISTAKES

CLASS = every_mistake_class()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("class")
    return course, grade_class(course, CLASS)


def _feedback_html(course, student):
    return (course / "feedback" / student / "regularization" / "Regularization.html").read_text()


def _feedback_text(course, student):
    """The feedback as a student reads it: tags removed, entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", _feedback_html(course, student)))


@pytest.mark.parametrize("submission", CLASS, ids=lambda s: s.student)
def test_each_exercise_earns_the_points_its_variant_deserves(graded, submission):
    _, scores = graded
    row = scores[submission.student]
    for name, points in submission.expected.items():
        assert row[name + "_tests"] == pytest.approx(points), name
    assert row["total"] == pytest.approx(sum(submission.expected.values()))


def test_every_catalogued_mistake_and_alternative_is_graded():
    graded_variants = {name for s in CLASS for name in s.variants}
    assert graded_variants == {v.name for v in MISTAKES + CORRECT_ALTERNATIVES}


@pytest.mark.parametrize("variant", MISTAKES, ids=lambda v: v.name)
def test_feedback_names_each_mistake(graded, variant):
    course, _ = graded
    student = next(s.student for s in CLASS if variant.name in s.variants)
    assert variant.expected_feedback in _feedback_text(course, student)


def test_feedback_shows_points_per_cell(graded):
    course, _ = graded
    text = _feedback_text(course, "mistakes-1")
    assert re.search(r"Score:\s*1\.0\s*/\s*2\.0", text), "the cost cell earns 1 of 2 points"


def test_feedback_never_shows_hidden_test_source(graded):
    course, _ = graded
    hidden = marked_lines("HIDDEN TESTS", 25)
    for submission in CLASS:
        text = _feedback_text(course, submission.student)
        assert "_hidden_" not in text
        leaked = [line for line in hidden if line in text]
        assert not leaked, f"{submission.student}'s feedback shows hidden tests: {leaked[:2]}"


def test_feedback_summary_is_the_first_failing_check(graded):
    course, _ = graded
    assert feedback_summary(course, "alternative-1") == "all checks passed"
    first = next(v for v in MISTAKES if v.name in CLASS[0].variants)
    assert feedback_summary(course, "mistakes-1") == first.expected_feedback
