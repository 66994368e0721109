"""nbgrader's own round trip, for every assignment: the reference solutions earn full marks, the untouched release 0."""

import pytest

from course.assignments import all_assignments
from course.pipeline import round_trip


@pytest.fixture(scope="module", params=all_assignments(), ids=lambda a: a.name)
def graded(request, tmp_path_factory):
    """(assignment, its gradebook scores after nbgrader's round trip)."""
    assignment = request.param
    return assignment, round_trip(tmp_path_factory.mktemp(assignment.name), assignment)


def test_reference_solutions_earn_the_assignments_total_points(graded):
    assignment, scores = graded
    row = scores["reference"]
    assert assignment.total_points > 0
    assert row["max"] == assignment.total_points and row["total"] == assignment.total_points


def test_reference_solutions_earn_points_in_every_test_cell(graded):
    assignment, scores = graded
    earned = {f.test_cell: scores["reference"][f.test_cell] for f in assignment.functions}
    assert all(points > 0 for points in earned.values()), earned


def test_untouched_release_earns_zero(graded):
    _, scores = graded
    assert scores["untouched"]["total"] == 0
