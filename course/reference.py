"""Reading nbgrader source notebooks: cells, answer cells, marked regions, and executing reference solutions.

Used by the instructor side (the assignment registry, the verifier, the tests). The solutions themselves live
only in the source notebooks (``notebooks/source/<assignment>/<notebook>``), between ``### BEGIN SOLUTION`` and
``### END SOLUTION``; they are read from there at run time and never copied into a package.
"""

import json
import linecache
import re
from pathlib import Path

import numpy as np


def notebook_cells(path):
    """The notebook's cells as a list of dicts (parsed with json: no Jupyter needed)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def cell_source(cell):
    """A cell's source as one string."""
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def grade_id(cell):
    """The nbgrader grade_id of a cell, or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def cell_sources(path, names):
    """{grade_id: source} of the cells of a notebook whose grade_id is in `names`."""
    return {grade_id(c): cell_source(c) for c in notebook_cells(path) if grade_id(c) in names}


def test_cell_points(path):
    """{grade_id: points} of the autograded test cells of a notebook (nbgrader's `grade` cells with points)."""
    found = {}
    for cell in notebook_cells(path):
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade") and cell.get("cell_type") == "code":
            found[meta["grade_id"]] = float(meta.get("points", 0))
    return found


def marked_lines(region, min_length, path):
    """Every line longer than min_length (stripped) between `### BEGIN REGION` and `### END REGION`.

    marked_lines("SOLUTION", ...) lists solution code, marked_lines("HIDDEN TESTS", ...) hidden tests: what must
    never reach a student (tests look for these lines in the release, the packages, the kit and the feedback).
    """
    lines = set()
    for cell in notebook_cells(path):
        pattern = rf"### BEGIN {region}(.*?)### END {region}"
        for block in re.findall(pattern, cell_source(cell), flags=re.S):
            lines.update(line.strip() for line in block.splitlines() if len(line.strip()) > min_length)
    return lines


def exec_cells(sources, names, namespace):
    """Execute the cells {grade_id: source} named in `names`, in order, in `namespace`; return the namespace."""
    for name in names:
        filename = f"<answer cell {name}>"
        # Registered like IPython registers a cell, so tracebacks (and our feedback) can quote the failing line.
        linecache.cache[filename] = (len(sources[name]), None, sources[name].splitlines(True), filename)
        exec(compile(sources[name], filename, "exec"), namespace)
    return namespace


def python_literal(value):
    """Python source for a float, dict or numpy array, exact to the last bit (shortest round-trip repr)."""
    if isinstance(value, dict):
        inner = ",\n".join(f"    {k!r}: {python_literal(v)}" for k, v in value.items())
        return "{\n" + inner + ",\n}"
    if isinstance(value, np.ndarray):
        if value.dtype == bool:
            return f"np.array({value.tolist()!r})"
        return f"np.array({np.asarray(value, dtype=np.float64).tolist()!r})"
    return repr(float(value))


def render_expected_module(docstring, outputs, catalogue, catalogue_comment):
    """The text of a generated expected-outputs module.

    Arguments:
    docstring -- lines of the module docstring
    outputs -- {NAME: value} written as NAME = literal
    catalogue -- {function: [(field, ..., {variable: value})]}: KNOWN_MISTAKES, the last field of each entry a dict
    catalogue_comment -- the comment line above KNOWN_MISTAKES
    """
    lines = ['"""' + docstring[0], *docstring[1:], '"""', "", "import numpy as np", ""]
    for name, value in outputs.items():
        lines += [f"{name} = {python_literal(value)}", ""]
    lines += [f"#: {catalogue_comment}", "KNOWN_MISTAKES = {"]
    for function, entries in catalogue.items():
        lines.append(f"    {function!r}: [")
        for *fields, values in entries:
            body = ", ".join(f"{k!r}: {python_literal(v)}" for k, v in values.items())
            lines.append(f"        ({', '.join(repr(f) for f in fields)}, {{{body}}}),")
        lines.append("    ],")
    lines.append("}")
    return "\n".join(lines) + "\n"


def differing_outputs(got, want):
    """{variable: value} of `got` whose value differs from `want`'s (same keys compared, shapes first)."""
    return {k: v for k, v in got.items()
            if k in want and not (np.shape(v) == np.shape(want[k]) and np.allclose(v, want[k]))}
