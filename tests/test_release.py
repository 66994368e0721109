"""The committed release is exactly what nbgrader generates from the source, and it holds no solution."""

import json
import shutil
from pathlib import Path

import pytest

from course.grading import copy_course, run_nbgrader
from course.reference import GRADED_FUNCTIONS, cell_source, grade_id, marked_lines, notebook_cells

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "notebooks" / "release" / "regularization" / "Regularization.ipynb"
STUDENT_FACING = [*sorted((ROOT / "reg_utils").rglob("*.py")), *sorted((ROOT / "testCases").rglob("*.py")), RELEASE]


def _solution_lines():
    return marked_lines("SOLUTION", 12)


def _hidden_test_lines():
    return marked_lines("HIDDEN TESTS", 25)


ASSIGNMENTS = {"regularization": "Regularization.ipynb", "deep_regularization": "DeepRegularization.ipynb"}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    course = copy_course(tmp_path_factory.mktemp("course"), assignments=list(ASSIGNMENTS))
    shutil.rmtree(course / "release")
    for assignment in ASSIGNMENTS:
        run_nbgrader(course, "generate_assignment", assignment, "--force")
    return course / "release"


@pytest.mark.parametrize("assignment", ASSIGNMENTS)
def test_committed_release_is_what_nbgrader_generates(regenerated, assignment):
    path = Path(assignment) / ASSIGNMENTS[assignment]
    committed = ROOT / "notebooks" / "release" / path
    assert json.loads((regenerated / path).read_text()) == json.loads(committed.read_text()), \
        "notebooks/release is stale: run `make release` and commit it"


def test_source_notebook_marks_every_graded_function_and_its_tests():
    cells = {grade_id(c): c for c in notebook_cells()}
    for name in GRADED_FUNCTIONS:
        answer = cells[name]["metadata"]["nbgrader"]
        assert answer["solution"] and not answer["grade"]
        tests = cells[name + "_tests"]["metadata"]["nbgrader"]
        assert tests["grade"] and tests["locked"] and tests["points"] > 0
        assert "### BEGIN HIDDEN TESTS" in cell_source(cells[name + "_tests"])
        assert cell_source(cells[name + "_tests"]).startswith('"""Check ' + name)


def test_provided_code_cells_are_read_only():
    for cell in notebook_cells():
        meta = cell["metadata"].get("nbgrader", {})
        if cell["cell_type"] == "code" and not meta.get("solution"):
            assert meta.get("locked"), f"code cell {meta.get('grade_id')} must be read-only"


def test_release_has_no_markers_and_no_outputs():
    text = RELEASE.read_text()
    for marker in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS"):
        assert marker not in text
    assert all(not cell.get("outputs") for cell in json.loads(text)["cells"])


def _code(path):
    """The code a student receives in a file: for a notebook, its code cells (the instructions in markdown cells
    spell out steps such as `D1 = D1 < keep_prob` on purpose, as the original assignment does)."""
    if path.suffix == ".ipynb":
        return "\n".join(cell_source(c) for c in notebook_cells(path) if c["cell_type"] == "code")
    return path.read_text()


@pytest.mark.parametrize("path", STUDENT_FACING, ids=lambda p: str(p.relative_to(ROOT)))
def test_student_facing_files_contain_no_solution_line(path):
    text = _code(path)
    leaked = [line for line in _solution_lines() if line in text]
    assert not leaked, f"{path.name} contains solution code: {leaked[:3]}"


@pytest.mark.parametrize("path", STUDENT_FACING, ids=lambda p: str(p.relative_to(ROOT)))
def test_student_facing_files_contain_no_hidden_test(path):
    text = path.read_text()
    leaked = [line for line in _hidden_test_lines() if line in text]
    assert not leaked, f"{path.name} contains hidden tests: {leaked[:3]}"


def test_solution_and_hidden_line_lists_are_not_empty():
    assert len(_solution_lines()) >= 10 and len(_hidden_test_lines()) >= 20
