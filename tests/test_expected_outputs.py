"""testCases/expected.py is exactly what the reference solutions (and the catalogued mistakes) produce."""

from pathlib import Path

from course.reference import render_expected

EXPECTED_FILE = Path(__file__).resolve().parents[1] / "testCases" / "expected.py"


def test_expected_outputs_file_matches_the_reference_solutions():
    assert EXPECTED_FILE.read_text() == render_expected(), \
        "testCases/expected.py is stale: regenerate it with `.venv/bin/python -m course.reference > testCases/expected.py`"
