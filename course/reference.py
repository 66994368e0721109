"""The reference solutions, read from the nbgrader source notebook, and the reference outputs they produce.

The solutions live only in ``notebooks/source/regularization/Regularization.ipynb``; tests load them from there
(they are never copied into a package). Running ``python -m course.reference`` prints ``testCases/expected.py``.
"""

import json
import linecache
import re
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SOURCE_NOTEBOOK = ROOT / "notebooks" / "source" / "regularization" / "Regularization.ipynb"
GRADED_FUNCTIONS = ("compute_cost_with_regularization", "backward_propagation_with_regularization",
                    "forward_propagation_with_dropout", "backward_propagation_with_dropout")


def notebook_cells(path=SOURCE_NOTEBOOK):
    """The notebook's cells as a list of dicts (parsed with json: no Jupyter needed)."""
    return json.loads(Path(path).read_text(encoding="utf-8"))["cells"]


def cell_source(cell):
    """A cell's source as one string."""
    source = cell["source"]
    return source if isinstance(source, str) else "".join(source)


def grade_id(cell):
    """The nbgrader grade_id of a cell, or None."""
    return cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")


def solution_sources(path=SOURCE_NOTEBOOK):
    """The source of each graded function's answer cell, by grade_id."""
    return {grade_id(c): cell_source(c) for c in notebook_cells(path) if grade_id(c) in GRADED_FUNCTIONS}


def marked_lines(region, min_length, path=SOURCE_NOTEBOOK):
    """Every line longer than min_length (stripped) between `### BEGIN REGION` and `### END REGION`.

    marked_lines("SOLUTION", ...) lists solution code, marked_lines("HIDDEN TESTS", ...) hidden tests: what must
    never reach a student (tests look for these lines in the release, the packages and the feedback).
    """
    lines = set()
    for cell in notebook_cells(path):
        pattern = rf"### BEGIN {region}(.*?)### END {region}"
        for block in re.findall(pattern, cell_source(cell), flags=re.S):
            lines.update(line.strip() for line in block.splitlines() if len(line.strip()) > min_length)
    return lines


def load_solutions(path=SOURCE_NOTEBOOK, replace=None):
    """Execute the reference solutions in a fresh namespace that has what the notebook imports.

    Arguments:
    path -- the source notebook
    replace -- optional dict {grade_id: source} that substitutes some answer cells (for mistake variants)

    Returns:
    namespace -- dict holding the four graded functions (and numpy as np, the reg_utils names)
    """
    import reg_utils

    namespace = {"np": np}
    namespace.update({name: getattr(reg_utils, name) for name in reg_utils.__all__})
    sources = solution_sources(path)
    sources.update(replace or {})
    return exec_cells(sources, GRADED_FUNCTIONS, namespace)


def exec_cells(sources, names, namespace):
    """Execute the cells {grade_id: source} named in `names`, in order, in `namespace`; return the namespace."""
    for name in names:
        filename = f"<answer cell {name}>"
        # Registered like IPython registers a cell, so tracebacks (and our feedback) can quote the failing line.
        linecache.cache[filename] = (len(sources[name]), None, sources[name].splitlines(True), filename)
        exec(compile(sources[name], filename, "exec"), namespace)
    return namespace


def expected_outputs(namespace):
    """Every reference output that testCases.expected stores, computed with the given solutions."""
    import testCases.cases as cases

    out = {"COST_LAMBD": 0.1, "L2_BACKWARD_LAMBD": 0.7, "DROPOUT_FORWARD_KEEP_PROB": 0.7,
           "DROPOUT_BACKWARD_KEEP_PROB": 0.8}
    a3, Y, parameters = cases.compute_cost_with_regularization_test_case()
    out["COST"] = float(namespace["compute_cost_with_regularization"](a3, Y, parameters, out["COST_LAMBD"]))
    X, Y, cache = cases.backward_propagation_with_regularization_test_case()
    out["L2_BACKWARD"] = namespace["backward_propagation_with_regularization"](X, Y, cache, out["L2_BACKWARD_LAMBD"])
    X, parameters = cases.forward_propagation_with_dropout_test_case()
    np.random.seed(1)
    A3, cache = namespace["forward_propagation_with_dropout"](X, parameters, out["DROPOUT_FORWARD_KEEP_PROB"])
    out["DROPOUT_FORWARD"] = {"D1": cache[1], "A1": cache[2], "D2": cache[6], "A2": cache[7], "A3": A3}
    X, Y, cache = cases.backward_propagation_with_dropout_test_case()
    out["DROPOUT_BACKWARD"] = namespace["backward_propagation_with_dropout"](X, Y, cache,
                                                                           out["DROPOUT_BACKWARD_KEEP_PROB"])
    return out


def mistake_outputs():
    """{grade_id: [(description, credit, outputs)]}: what each catalogued mistake outputs on the public case.

    Only outputs that differ from the reference are kept, and only mistakes that return normally.
    """
    from course.variants import MISTAKES

    reference = expected_outputs(load_solutions())
    sources = solution_sources()
    keys = {"compute_cost_with_regularization": "COST", "backward_propagation_with_regularization": "L2_BACKWARD",
            "forward_propagation_with_dropout": "DROPOUT_FORWARD", "backward_propagation_with_dropout": "DROPOUT_BACKWARD"}
    catalogue = {}
    for variant in MISTAKES:
        try:
            outputs = expected_outputs(load_solutions(replace={variant.grade_id: variant.source(sources)}))
        except Exception:  # a mistake that raises on the public case is explained by its exception instead
            continue
        got, want = outputs[keys[variant.grade_id]], reference[keys[variant.grade_id]]
        if not isinstance(got, dict):
            got, want = {"cost": got}, {"cost": want}
        differing = {k: v for k, v in got.items() if k in want and not (np.shape(v) == np.shape(want[k])
                                                                         and np.allclose(v, want[k]))}
        if differing:
            catalogue.setdefault(variant.grade_id, []).append((variant.description, variant.credit, differing))
    return catalogue


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


def render_expected():
    """The text of testCases/expected.py."""
    docstring = ["Reference outputs of the public checks, and what known mistakes output on the same cases.", "",
                 "Generated by ``python -m course.reference`` from the reference solutions in the source notebook;",
                 "``tests/test_expected_outputs.py`` fails when this file and the solutions disagree. Do not edit by "
                 "hand."]
    return render_expected_module(docstring, expected_outputs(load_solutions()), mistake_outputs(),
                                  "{function: [(description of the mistake, share of the points it earns, "
                                  "{variable: what it outputs})]}")


if __name__ == "__main__":
    print(render_expected(), end="")


def load_model(namespace=None):
    """The notebook's provided `model` cell, executed on top of the reference solutions.

    Returns:
    namespace -- dict with `model` and the graded functions
    """
    import matplotlib.pyplot as plt

    namespace = load_solutions() if namespace is None else namespace
    namespace.setdefault("plt", plt)
    cells = {grade_id(c): cell_source(c) for c in notebook_cells()}
    exec(compile(cells["model"], "<cell model>", "exec"), namespace)
    return namespace


def stored_accuracies(path=SOURCE_NOTEBOOK):
    """{grade_id: (train accuracy, test accuracy)} as printed by the stored outputs of the training cells."""
    found = {}
    for cell in notebook_cells(path):
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        values = [float(line.split(":", 1)[1]) for line in text.splitlines() if line.startswith("Accuracy:")]
        if len(values) == 2:
            found[grade_id(cell)] = tuple(values)
    return found
