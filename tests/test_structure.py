"""The instructor side's structure holds by construction: layers without import cycles, one truth per assignment
fact (the registry), and small functions."""

import ast
import re
from pathlib import Path

import pytest

from course.assignments import all_assignments

ROOT = Path(__file__).resolve().parents[1]
COURSE_MODULES = sorted((ROOT / "course").rglob("*.py"))


def _module_name(path):
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path):
    """The course modules a module imports, at any level (function-level imports included)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
    return found


def import_graph():
    """{course module: set of course modules it imports}."""
    names = {_module_name(p) for p in COURSE_MODULES}
    return {_module_name(p): {m for m in _imports(p) if m in names and m != _module_name(p)} for p in COURSE_MODULES}


def test_course_has_no_import_cycles():
    graph = import_graph()
    state = {}

    def visit(node, path):
        state[node] = "open"
        for nxt in sorted(graph[node]):
            if state.get(nxt) == "open":
                pytest.fail("import cycle: " + " -> ".join(path + [node, nxt]))
            if nxt not in state:
                visit(nxt, path + [node])
        state[node] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [])


def test_lower_layers_never_import_higher_ones():
    graph = import_graph()
    layers = [{"course", "course.reference", "course.clean_run", "course.zygote", "course.sandbox",
               "course.notebooks", "course.feedback"},
              {"course.assignment", "course.nbgrader_course", "course.nbgrader_tuning", "course.sandbox_host"},
              {"course.assignments"},
              {"course.verify"}, {"course.worker"}, {"course.backends"}, {"course.autograde", "course.feedback_pages"},
              {"course.pipeline", "course.classroom", "course.attacks", "course.demo", "course.student_kit",
               "course.validate", "course.report", "course.lms", "course.regrade"}]
    level = {m: i for i, layer in enumerate(layers) for m in layer}
    unplaced = sorted(set(graph) - set(level) - {m for m in graph if m.startswith("course.assignments.")})
    assert not unplaced, f"place these modules in a layer: {unplaced}"
    for module, imported in graph.items():
        base = level.get(module, level.get(module.rsplit(".", 1)[0]))
        for other in imported:
            assert level.get(other, level.get(other.rsplit(".", 1)[0], 0)) <= base, f"{module} imports {other}"


def test_the_grader_imports_no_private_names_of_the_student_packages():
    for path in COURSE_MODULES:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("reg_utils", "testCases"):
                private = [a.name for a in node.names if a.name.startswith("_")]
                assert not private, f"{path.name} imports {private} from {node.module}"


def test_only_the_registry_maps_an_assignment_to_its_notebook_functions_and_points():
    places = [p for p in COURSE_MODULES if "assignments" not in p.parts] + [ROOT / "Makefile"] \
        + sorted((ROOT / "benchmarks").glob("*.py"))
    for assignment in all_assignments():
        pairs = [assignment.notebook] + [rf"{f}\W+{p:g}\b" for f, p in assignment.points.items()]
        for path in places:
            text = path.read_text()
            for pattern in pairs:
                assert not re.search(re.escape(pattern) if pattern == assignment.notebook else pattern, text), \
                    f"{path.relative_to(ROOT)} names {pattern!r}: ask course.assignments instead"


@pytest.mark.parametrize("folder", ["course", "reg_utils", "testCases"])
def test_no_function_is_longer_than_sixty_lines(folder):
    for path in sorted((ROOT / folder).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                length = node.end_lineno - node.lineno + 1
                assert length <= 60, f"{path.relative_to(ROOT)}:{node.lineno} {node.name} has {length} lines"


@pytest.mark.parametrize("folder", ["course", "reg_utils", "testCases"])
def test_every_module_says_what_it_holds(folder):
    for path in sorted((ROOT / folder).rglob("*.py")):
        assert ast.get_docstring(ast.parse(path.read_text())), f"{path.relative_to(ROOT)} has no module docstring"
