"""nbgrader round trip: the reference solutions earn full marks, the untouched release earns nothing."""

import pytest

from course.grading import round_trip
from course.reference import GRADED_FUNCTIONS

ASSIGNMENT = "regularization"
NOTEBOOK = "Regularization.ipynb"


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return round_trip(tmp_path_factory.mktemp("course"), ASSIGNMENT, NOTEBOOK)


def test_reference_solutions_earn_full_marks(graded):
    row = graded["reference"]
    assert row["max"] == 10 and row["total"] == row["max"]
    for name in GRADED_FUNCTIONS:
        assert row[name + "_tests"] > 0


def test_untouched_release_earns_zero(graded):
    assert graded["untouched"]["total"] == 0
