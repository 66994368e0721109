"""No release notebook hands out working code of a graded function, of any assignment, outside an answer cell.

Generic over the registry by construction: every graded function of every assignment (and every function a
catalogued mistake or correct alternative edits) against every release notebook. An answer cell (nbgrader's
``solution`` cells) is where a student writes code: in the release it holds the stub nbgrader made, and its
definitions are the student's. Anywhere else a definition of a graded function is working code handed out: the
third assignment once gave the second's ``l2_regularization`` and dropout that way, written differently from the
second's reference solution, so only a test on the names caught it (tests/test_release.py compares lines).
Where a notebook needs an earlier assignment's graded functions, they are an answer cell the registry declares
(``Assignment.reused_answers``), which the student fills with their own code.
"""

import ast
import re

import pytest

from course.assignments import all_assignments
from course.reference import cell_source, grade_id, marked_lines, notebook_cells

ASSIGNMENTS = all_assignments()
#: Every function that is graded somewhere in the course.
GRADED = frozenset(name for a in ASSIGNMENTS
                   for name in (*a.function_names, *(v.grade_id for v in a.mistakes + a.alternatives)))
#: Solution lines shorter than this are everyday code (`return A_out, mask`, `W = W * 2`), as in test_release.py.
MIN_SOLUTION_LINE = 12

parametrize_releases = pytest.mark.parametrize("release", ASSIGNMENTS, ids=lambda a: a.name)


def _is_answer_cell(cell):
    return bool(cell.get("metadata", {}).get("nbgrader", {}).get("solution"))


def _names_bound(source):
    """Every name a code cell binds (def, class, assignment, import, for, with, lambda's target), at any depth.

    IPython's magics and shell escapes (`%matplotlib inline`, `!ls`) are not Python: they are blanked first. A cell
    that still does not parse is read with a regular expression for `def NAME` and `NAME =`."""
    python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines())
    try:
        tree = ast.parse(python)
    except SyntaxError:
        return set(re.findall(r"\bdef\s+(\w+)", python)) | set(re.findall(r"^\s*(\w+)\s*=[^=]", python, re.M))
    bound = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bound.add(node.name)
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            bound.add(node.id)
        elif isinstance(node, ast.alias):
            bound.add((node.asname or node.name).split(".")[0])
    return bound


def _outside_answer_cells(release):
    """(where, cell) of every cell of a release notebook that is not an answer cell."""
    return [(f"{release.notebook} cell {i} ({grade_id(c) or c['cell_type']})", c)
            for i, c in enumerate(notebook_cells(release.release_path)) if not _is_answer_cell(c)]


def test_every_graded_function_is_known_to_the_check():
    # The check is only as good as its list: every assignment contributes its graded functions.
    assert all(set(a.function_names) <= GRADED and a.function_names for a in ASSIGNMENTS)


@parametrize_releases
def test_no_code_cell_outside_the_answer_cells_defines_a_graded_function(release):
    found = {where: sorted(_names_bound(cell_source(c)) & GRADED)
             for where, c in _outside_answer_cells(release) if c["cell_type"] == "code"}
    found = {where: names for where, names in found.items() if names}
    assert not found, f"graded functions defined outside an answer cell (a solution leak): {found}"


@parametrize_releases
def test_no_markdown_cell_shows_the_definition_of_a_graded_function(release):
    # A code block in the instructions would hand the function out as surely as a code cell.
    found = {where: sorted(set(re.findall(r"\bdef\s+(\w+)\s*\(", cell_source(c))) & GRADED)
             for where, c in _outside_answer_cells(release) if c["cell_type"] == "markdown"}
    found = {where: names for where, names in found.items() if names}
    assert not found, f"graded functions defined in the instructions: {found}"


@parametrize_releases
def test_no_code_cell_holds_a_solution_line_of_any_source_notebook(release):
    # Answer cells included (the release's stubs hold none). Markdown is left out on purpose: the instructions of
    # the first two assignments spell out single steps, as the original assignment does (`D1 = D1 < keep_prob`).
    lines = set().union(*(marked_lines("SOLUTION", MIN_SOLUTION_LINE, a.source_path) for a in ASSIGNMENTS))
    found = {}
    for i, cell in enumerate(notebook_cells(release.release_path)):
        if cell["cell_type"] == "code":
            leaked = sorted(line for line in lines if line in cell_source(cell))
            if leaked:
                found[f"cell {i} ({grade_id(cell)})"] = leaked[:3]
    assert not found, f"{release.notebook} holds solution lines: {found}"


@parametrize_releases
def test_every_answer_cell_of_the_release_is_a_stub(release):
    # What an answer cell may define is the student's to write: the release gives its signature and docstring only.
    full = {where: grade_id(c) for where, c in
            ((f"cell {i}", c) for i, c in enumerate(notebook_cells(release.release_path)))
            if _is_answer_cell(c) and c["cell_type"] == "code" and "raise NotImplementedError()" not in cell_source(c)}
    assert not full, f"answer cells of {release.notebook} without nbgrader's stub: {full}"


# -- answer cells that reuse an earlier assignment's graded functions ------------------------------------------

def _defined_functions(source):
    """{name: ast.dump of the definition} of the top-level functions of a cell."""
    return {n.name: ast.dump(n) for n in ast.parse(source).body if isinstance(n, ast.FunctionDef)}


@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_every_answer_cell_is_a_graded_function_or_a_declared_reused_answer(assignment):
    answers = {grade_id(c) for c in notebook_cells(assignment.source_path) if _is_answer_cell(c)}
    assert answers == set(assignment.function_names) | set(assignment.reused_answers)


@pytest.mark.parametrize("assignment", [a for a in ASSIGNMENTS if a.reused_answers], ids=lambda a: a.name)
def test_a_reused_answer_defines_only_earlier_graded_functions_as_their_reference_does(assignment):
    earlier = {name: a for a in ASSIGNMENTS if a.position < assignment.position for name in a.function_names}
    for cell, source in assignment.answer_sources().items():
        if cell not in assignment.reused_answers:
            continue
        defined = _defined_functions(source)
        assert defined and set(defined) <= set(earlier), f"{cell} defines {sorted(defined)}"
        for name, definition in defined.items():
            reference = _defined_functions(earlier[name].solution_sources()[name])[name]
            assert definition == reference, f"{cell}: {name} is not {earlier[name].name}'s reference solution"
