"""For every assignment, the committed release is exactly what nbgrader generates from the source, it holds no
solution and no hidden test, and no file a student receives holds a line of any source notebook's solutions or
hidden tests."""

import json
import shutil
from pathlib import Path

import pytest

from course.assignment import ROOT
from course.assignments import all_assignments, names
from course.nbgrader_course import copy_course, run_nbgrader
from course.notebooks import stream_text
from course.reference import cell_source, grade_id, marked_lines, notebook_cells

ASSIGNMENTS = all_assignments()
HELPERS = [*sorted((ROOT / "reg_utils").rglob("*.py")), *sorted((ROOT / "testCases").rglob("*.py"))]
STUDENT_FACING = [*HELPERS, *(a.release_path for a in ASSIGNMENTS)]
MARKERS = ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")

#: Marked lines that the helpers share with a source notebook without giving anything away, and why (as in
#: tests/test_student_kit.py). They are allowed in reg_utils and testCases only: in a notebook they would be a leak.
ALLOWED_IN_HELPERS = {
    "for l in range(1, len(layer_dims)):":
        "the deep hidden tests build random parameters with the loop of reg_utils' initialize_parameters",
}


def _marked(region, min_length):
    """The marked lines of every assignment's source notebook, longer than min_length (12 for solutions, 25 for
    hidden tests, as tests/test_student_kit.py: shorter hidden-test lines such as `before = A.copy()` or
    `for l in range(1, L + 1):` are everyday code that the helpers hold too)."""
    return set().union(*(marked_lines(region, min_length, a.source_path) for a in ASSIGNMENTS))


def _solution_lines():
    return _marked("SOLUTION", 12)


def _hidden_test_lines():
    return _marked("HIDDEN TESTS", 25)


def _cells(path):
    """{grade_id: cell} of a notebook's nbgrader cells."""
    return {grade_id(c): c for c in notebook_cells(path) if grade_id(c)}


def _code(path):
    """The code a student receives in a file: for a notebook, its code cells (the instructions in markdown cells
    spell out steps such as `D1 = D1 < keep_prob` on purpose, as the original assignment does)."""
    if path.suffix == ".ipynb":
        return "\n".join(cell_source(c) for c in notebook_cells(path) if c["cell_type"] == "code")
    return path.read_text(encoding="utf-8")


def _instructions():
    """The markdown of the release notebooks: what a student reads anyway."""
    return "\n".join(cell_source(c) for a in ASSIGNMENTS for c in notebook_cells(a.release_path)
                     if c["cell_type"] == "markdown")


def _allowed(path, lines):
    """Which of the marked `lines` this file may hold: a helper may repeat what the instructions state (a hint such
    as `A_out = A * mask / keep_prob`) and the lines of ALLOWED_IN_HELPERS; a notebook's code may hold none."""
    if path not in HELPERS:
        return set()
    instructions = _instructions()
    return {line for line in lines if line in instructions} | set(ALLOWED_IN_HELPERS)


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory):
    """{assignment: its release notebook as nbgrader generates it now}, every release regenerated in one copy of
    the course."""
    (course_root,) = {Path(a.course) for a in ASSIGNMENTS}  # the registry's assignments share one course
    course = copy_course(tmp_path_factory.mktemp("course"), course_root, assignments=names())
    shutil.rmtree(course / "release")
    for a in ASSIGNMENTS:
        run_nbgrader(course, "generate_assignment", a.name, "--force")
    return {a.name: course / "release" / a.name / a.notebook for a in ASSIGNMENTS}


parametrize_assignments = pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
parametrize_student_facing = pytest.mark.parametrize("path", STUDENT_FACING, ids=lambda p: str(p.relative_to(ROOT)))


# -- the release of each assignment -----------------------------------------------------------------------------

@parametrize_assignments
def test_committed_release_is_what_nbgrader_generates(regenerated, assignment):
    assert json.loads(regenerated[assignment.name].read_text(encoding="utf-8")) == \
        json.loads(assignment.release_path.read_text(encoding="utf-8")), \
        f"{assignment.release_path.relative_to(ROOT)} is stale: run `make release` and commit it"


#: Run after a release's imports cell while "nbgrader grades": counts the figures matplotlib draws.
_DRAW_PROBE = """from matplotlib.figure import Figure
_draws = []
_draw = Figure.draw
Figure.draw = lambda self, *args, **kwargs: (_draws.append(1), _draw(self, *args, **kwargs))[1]
fig, ax = plt.subplots()
ax.plot([1, 2])
plt.show()"""


@parametrize_assignments
def test_while_nbgrader_grades_the_release_draws_no_figure(assignment, monkeypatch):
    """Grading reads no figure, and drawing them costs seconds per submission (`%matplotlib inline`, even
    followed by a switch to Agg, still draws every figure after its cell)."""
    import nbformat
    from nbclient import NotebookClient

    imports = next(c for c in notebook_cells(assignment.release_path) if grade_id(c) == "imports")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell_source(imports)),
                                         nbformat.v4.new_code_cell(_DRAW_PROBE),
                                         nbformat.v4.new_code_cell("print(len(_draws), plt.get_backend())")])
    monkeypatch.setenv("NBGRADER_EXECUTION", "autograde")
    NotebookClient(nb, kernel_name="python3", timeout=60).execute(cwd=str(assignment.release_path.parent))
    assert stream_text(nb.cells[2]).split() == ["0", "agg"]


@parametrize_assignments
def test_release_has_no_solution_or_hidden_test_markers(assignment):
    text = assignment.release_path.read_text(encoding="utf-8")
    assert [m for m in MARKERS if m in text] == []


@parametrize_assignments
def test_release_code_cells_contain_no_line_of_the_solutions(assignment):
    # Every non-empty solution line, however short: the release's code has no reason to hold any of them.
    code = _code(assignment.release_path)
    leaked = sorted(line for line in marked_lines("SOLUTION", 0, assignment.source_path) if line in code)
    assert not leaked, f"{assignment.notebook} contains solution code: {leaked[:3]}"


@parametrize_assignments
def test_release_has_no_outputs(assignment):
    with_outputs = [grade_id(c) or i for i, c in enumerate(notebook_cells(assignment.release_path)) if c.get("outputs")]
    assert not with_outputs, f"cells with outputs in {assignment.notebook}: {with_outputs}"


@parametrize_assignments
def test_release_keeps_every_graded_function_as_a_stub_that_raises_not_implemented(assignment):
    cells = _cells(assignment.release_path)
    for name in assignment.function_names:
        source = cell_source(cells[name])
        assert f"def {name}(" in source and "raise NotImplementedError()" in source, f"{name}: {source!r}"


# -- the source notebook of each assignment ---------------------------------------------------------------------

@parametrize_assignments
def test_source_notebook_marks_every_graded_function_as_an_answer_cell(assignment):
    cells = _cells(assignment.source_path)
    for name in assignment.function_names:
        answer = cells[name]["metadata"]["nbgrader"]
        assert answer["solution"] and not answer["grade"], name
        assert "### BEGIN SOLUTION" in cell_source(cells[name]), name


@parametrize_assignments
def test_source_notebook_has_a_locked_test_cell_with_points_and_hidden_tests_per_graded_function(assignment):
    cells = _cells(assignment.source_path)
    for function in assignment.functions:
        tests = cells[function.test_cell]
        meta = tests["metadata"]["nbgrader"]
        assert meta["grade"] and meta["locked"] and meta["points"] > 0, function.test_cell
        assert "### BEGIN HIDDEN TESTS" in cell_source(tests), function.test_cell
        assert cell_source(tests).startswith(f'"""Check {function.name}'), \
            f"{function.test_cell} must open with a docstring saying what it checks"


@parametrize_assignments
def test_provided_code_cells_are_read_only(assignment):
    writable = [grade_id(c) for c in notebook_cells(assignment.source_path) if c["cell_type"] == "code"
                and not c["metadata"].get("nbgrader", {}).get("solution")
                and not c["metadata"].get("nbgrader", {}).get("locked")]
    assert not writable, f"code cells of {assignment.notebook} that must be read-only: {writable}"


@parametrize_assignments
def test_source_notebook_has_solution_and_hidden_test_lines_to_look_for(assignment):
    assert len(marked_lines("SOLUTION", 12, assignment.source_path)) >= 10
    assert len(marked_lines("HIDDEN TESTS", 25, assignment.source_path)) >= 20


# -- every file a student receives, against every assignment's solutions and hidden tests ------------------------

@parametrize_student_facing
def test_student_facing_files_contain_no_solution_line(path):
    text = _code(path)
    lines = _solution_lines()
    leaked = sorted(line for line in lines - _allowed(path, lines) if line in text)
    assert not leaked, f"{path.name} contains solution code: {leaked[:3]}"


@parametrize_student_facing
def test_student_facing_files_contain_no_hidden_test_line(path):
    text = path.read_text(encoding="utf-8")
    lines = _hidden_test_lines()
    leaked = sorted(line for line in lines - _allowed(path, lines) if line in text)
    assert not leaked, f"{path.name} contains hidden tests: {leaked[:3]}"


def test_every_line_allowed_in_the_helpers_is_still_marked_and_still_there():
    helpers = "\n".join(p.read_text(encoding="utf-8") for p in HELPERS)
    stale = [line for line in ALLOWED_IN_HELPERS
             if line not in _solution_lines() | _hidden_test_lines() or line not in helpers]
    assert not stale, f"ALLOWED_IN_HELPERS lists lines it no longer needs: {stale}"
