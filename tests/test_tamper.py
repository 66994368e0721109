"""Grading cannot be gamed, and nothing is lost: the tampering corpus, graded with two parallel workers.

Each attempt is generated at test time from the committed release (course.classroom.tamper_class). None may earn
a point it should not; the batch completes; every student has a gradebook row and a feedback file.
"""

import html
import re

import pytest

from course.classroom import tamper_class
from course.grading import grade_class

CORPUS = tamper_class()


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = tmp_path_factory.mktemp("tamper")
    return course, grade_class(course, CORPUS, jobs=2)


def _feedback(course, student):
    path = course / "feedback" / student / "regularization" / "Regularization.html"
    return html.unescape(re.sub(r"<[^>]+>", " ", path.read_text()))


def test_every_attempt_has_a_gradebook_row(graded):
    _, scores = graded
    assert set(scores) == {a.student for a in CORPUS}


@pytest.mark.parametrize("attempt", CORPUS, ids=lambda a: a.student)
def test_no_attempt_earns_a_point_it_should_not(graded, attempt):
    _, scores = graded
    row = scores[attempt.student]
    for name, points in attempt.expected.items():
        assert row[name + "_tests"] == pytest.approx(points), f"{attempt.student}: {name}"


@pytest.mark.parametrize("attempt", CORPUS, ids=lambda a: a.student)
def test_every_attempt_gets_a_feedback_file(graded, attempt):
    course, _ = graded
    assert _feedback(course, attempt.student).strip()


def test_feedback_says_why_a_score_was_lowered(graded):
    course, _ = graded
    assert "Verified in a clean run: 0 of 2 points" in _feedback(course, "patch-numpy")


def test_feedback_of_a_notebook_that_could_not_run_says_so(graded):
    course, _ = graded
    text = _feedback(course, "kernel-killer")
    assert "could not be run to the end" in text and "8" in text


def test_renamed_notebook_is_graded_and_the_feedback_says_so(graded):
    course, _ = graded
    assert "was submitted as 'Regularization-final (1).ipynb'" in _feedback(course, "renamed")


def test_verification_of_functions_side_by_side_recognises_known_mistakes(tmp_path):
    """The four clean runs go side by side; the original cases use NumPy's global RNG, so building them must not
    race (a race garbles the public case and hides a known mistake's partial credit)."""
    import nbformat

    from course.classroom import every_mistake_class
    from course.grading import make_submission
    from course.verify import verify_submission

    submission = next(s for s in every_mistake_class() if s.student == "mistakes-4")
    path = tmp_path / "Regularization.ipynb"
    nbformat.write(make_submission("notebooks/release/regularization/Regularization.ipynb", submission.answers()),
                   path)
    for _ in range(3):
        verdicts = verify_submission(path)
        assert {name: v.points for name, v in verdicts.items()} == submission.expected
