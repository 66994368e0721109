"""One writer per gradebook fact: the grader writes nbgrader's automatic fields only; manual scores stand."""

import pytest

from course.assignments import get_assignment
from course.autograde import autograde
from course.classroom import reference_and_untouched, tamper_class
from course.nbgrader_course import load_course
from course.pipeline import grade_class

ASSIGNMENT = get_assignment("regularization")


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    attempt = next(a for a in tamper_class(ASSIGNMENT) if a.student == "patch-numpy")
    root = tmp_path_factory.mktemp("writer")
    grade_class(root, reference_and_untouched(ASSIGNMENT)[:1] + [attempt], ASSIGNMENT, jobs=2)
    return root


def _grade(root, student, cell):
    from nbgrader.api import Gradebook

    gb = Gradebook(load_course(root)[1].db_url)
    submission = gb.find_submission_notebook(ASSIGNMENT.notebook[:-len(".ipynb")], ASSIGNMENT.name, student)
    return gb, next(g for g in submission.grades if g.name == cell), submission


def test_a_lowered_score_is_an_automatic_score_with_an_automatic_comment(course):
    target = ASSIGNMENT.function(ASSIGNMENT.tamper.function)
    gb, grade, submission = _grade(course, "patch-numpy", target.test_cell)
    with gb:
        assert grade.auto_score == 0 and grade.manual_score is None and not grade.needs_manual_grade
        comment = next(c for c in submission.comments if c.name == target.name)
        assert comment.manual_comment is None and "Verified in a clean run: 0 of" in comment.auto_comment


def test_a_regrade_never_overwrites_a_manual_score(course):
    cell = ASSIGNMENT.function(ASSIGNMENT.tamper.function).test_cell
    gb, grade, _ = _grade(course, "patch-numpy", cell)
    with gb:  # what the formgrader does when an instructor types a score
        grade.manual_score = 1.5
        gb.db.commit()
    autograde(course, ASSIGNMENT, jobs=1, progress=False, students=["patch-numpy"], force=True)
    gb, grade, _ = _grade(course, "patch-numpy", cell)
    with gb:
        assert grade.manual_score == 1.5 and grade.score == 1.5
        assert grade.auto_score == 0
