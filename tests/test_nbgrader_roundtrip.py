"""nbgrader round trip, for each assignment: the reference solutions earn full marks, the untouched release 0."""

import pytest

from course.grading import round_trip
from course.reference import GRADED_FUNCTIONS
from tests.deep_reference import GRADED_FUNCTIONS as DEEP_GRADED_FUNCTIONS

ASSIGNMENTS = {"regularization": ("Regularization.ipynb", GRADED_FUNCTIONS),
               "deep_regularization": ("DeepRegularization.ipynb", DEEP_GRADED_FUNCTIONS)}


@pytest.fixture(scope="module", params=list(ASSIGNMENTS))
def graded(request, tmp_path_factory):
    notebook, functions = ASSIGNMENTS[request.param]
    return round_trip(tmp_path_factory.mktemp(request.param), request.param, notebook), functions


def test_reference_solutions_earn_full_marks(graded):
    scores, functions = graded
    row = scores["reference"]
    assert row["max"] == 10 and row["total"] == row["max"]
    for name in functions:
        assert row[name + "_tests"] > 0


def test_untouched_release_earns_zero(graded):
    scores, _ = graded
    assert scores["untouched"]["total"] == 0
