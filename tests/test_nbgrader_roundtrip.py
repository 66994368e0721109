"""nbgrader round trip: the reference solutions earn full marks, the untouched release earns nothing."""

import pytest

from course.grading import answer_sources, copy_course, gradebook_scores, make_submission, run_nbgrader, submit
from course.reference import GRADED_FUNCTIONS, SOURCE_NOTEBOOK

ASSIGNMENT = "regularization"
NOTEBOOK = "Regularization.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("course"), assignments=[ASSIGNMENT])
    run_nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")  # also records the assignment in the gradebook
    release = course / "release" / ASSIGNMENT / NOTEBOOK
    submit(course, "reference", ASSIGNMENT, NOTEBOOK, make_submission(release, answer_sources(SOURCE_NOTEBOOK)))
    submit(course, "untouched", ASSIGNMENT, NOTEBOOK, make_submission(release, {}))
    run_nbgrader(course, "autograde", ASSIGNMENT, "--force")
    return gradebook_scores(course, ASSIGNMENT)


def test_reference_solutions_earn_full_marks(graded):
    row = graded["reference"]
    assert row["max"] == 10 and row["total"] == row["max"]
    for name in GRADED_FUNCTIONS:
        assert row[name + "_tests"] > 0


def test_untouched_release_earns_zero(graded):
    assert graded["untouched"]["total"] == 0
