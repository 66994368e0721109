"""Each assignment's generated expected-outputs module (testCases/expected.py, testCases/deep_expected.py, ...) is
exactly what its reference solutions and catalogued mistakes produce."""

import pytest

from course.assignment import ROOT
from course.assignments import all_assignments


@pytest.mark.parametrize("assignment", all_assignments(), ids=lambda a: a.name)
def test_expected_outputs_file_matches_the_reference_solutions(assignment):
    path = assignment.expected_path.relative_to(ROOT)
    assert assignment.expected_path.read_text(encoding="utf-8") == assignment.render_expected(), \
        f"{path} is stale: regenerate it with " \
        f"`.venv/bin/python -m course.assignments expected {assignment.name} > {path}`"
