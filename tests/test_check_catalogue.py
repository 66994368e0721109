"""Every assignment's public checks against its own catalogue (course.assignments): the reference solution passes
with one pass line, every correct alternative passes, and every catalogued mistake fails with a hint that names
it and earns exactly its share of the test cell's points. The assignment-specific messages are tested in
tests/test_public_checks.py, tests/test_deep_checks.py and tests/test_other_checks.py."""

import pytest

from course.assignments import all_assignments
from tests.failures import failure_message, public_check, scored, variant_function

ASSIGNMENTS = all_assignments()


def _cases(kind):
    """(assignment, item) pairs, with readable ids, for every assignment of the registry."""
    pairs = []
    for assignment in ASSIGNMENTS:
        items = assignment.function_names if kind == "functions" else getattr(assignment, kind)
        pairs += [pytest.param(assignment, item, id=f"{assignment.name}-{getattr(item, 'name', item)}")
                  for item in items]
    return pairs


@pytest.fixture(scope="module")
def solutions():
    return {a.name: a.load_solutions() for a in ASSIGNMENTS}


@pytest.mark.parametrize("assignment, name", _cases("functions"))
def test_reference_solution_passes_and_prints_one_pass_line(assignment, name, solutions, capsys):
    public_check(name)(solutions[assignment.name][name])
    out = capsys.readouterr().out
    assert out.startswith("All tests passed") and out.count("All tests passed") == 1


@pytest.mark.parametrize("assignment, variant", _cases("alternatives"))
def test_correct_alternatives_pass(assignment, variant):
    public_check(variant.grade_id)(variant_function(assignment, variant))


@pytest.mark.parametrize("assignment, variant", _cases("mistakes"))
def test_each_catalogued_mistake_fails_with_a_message_naming_it(assignment, variant):
    message = failure_message(public_check(variant.grade_id), variant_function(assignment, variant))
    assert "Hint:" in message and variant.expected_feedback in message


@pytest.mark.parametrize("assignment, variant", _cases("mistakes"))
def test_each_catalogued_mistake_earns_its_share_of_the_test_cells_points(assignment, variant):
    points = assignment.points[variant.grade_id]
    earned, message = scored(public_check(variant.grade_id), variant_function(assignment, variant), points)
    assert earned == points * variant.credit and variant.expected_feedback in message
