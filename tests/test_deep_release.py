"""The DeepRegularization release hides the solutions (its nbgrader round trip is in test_nbgrader_roundtrip.py)."""

import json

from tests.deep_reference import GRADED_FUNCTIONS, RELEASE_NOTEBOOK, SOURCE_NOTEBOOK, cell_sources

ASSIGNMENT = "deep_regularization"
NOTEBOOK = "DeepRegularization.ipynb"


def _release_text():
    return RELEASE_NOTEBOOK.read_text(encoding="utf-8")


def test_release_has_no_solution_or_hidden_test_markers():
    text = _release_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text


def test_release_code_contains_none_of_the_solution_lines():
    # Code cells only: the instructions (markdown) state formulas such as `A_out = A * mask / keep_prob` on purpose.
    sources = "\n".join(cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
                        for cell in json.loads(_release_text())["cells"] if cell["cell_type"] == "code")
    for name, source in cell_sources(SOURCE_NOTEBOOK).items():
        inside = source.split("### BEGIN SOLUTION")[1].split("### END SOLUTION")[0]
        for line in filter(None, (line.strip() for line in inside.splitlines())):
            assert line not in sources, f"{name}: {line!r} is in the release"


def test_release_has_no_outputs():
    cells = json.loads(_release_text())["cells"]
    assert all(not cell.get("outputs") for cell in cells if cell["cell_type"] == "code")


def test_release_keeps_every_graded_function_as_a_stub():
    cells = {cell["metadata"].get("nbgrader", {}).get("grade_id"): cell for cell in json.loads(_release_text())["cells"]}
    for name in GRADED_FUNCTIONS:
        assert "raise NotImplementedError()" in "".join(cells[name]["source"])
