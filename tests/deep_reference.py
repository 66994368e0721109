"""The DeepRegularization reference solutions, read from the nbgrader source notebook, and what they output.

The solutions live only in ``notebooks/source/deep_regularization/DeepRegularization.ipynb``; tests and the
benchmark load them from there by grade_id (they are never copied into a package). Running
``python -m tests.deep_reference`` prints ``testCases/deep_expected.py``.
"""

from pathlib import Path

import numpy as np

from course.reference import cell_source, exec_cells, grade_id, notebook_cells, render_expected_module

ROOT = Path(__file__).resolve().parents[1]
SOURCE_NOTEBOOK = ROOT / "notebooks" / "source" / "deep_regularization" / "DeepRegularization.ipynb"
RELEASE_NOTEBOOK = ROOT / "notebooks" / "release" / "deep_regularization" / "DeepRegularization.ipynb"
GRADED_FUNCTIONS = ("l2_regularization", "l1_regularization", "dropout_forward", "dropout_backward")

#: Known mistakes: (grade_id, description, the solution line it changes, what it becomes). The description is the
#: hint a public check gives when a student's output equals what the mistake outputs.
MISTAKES = (
    ("l2_regularization", "the 1/2 is missing: the penalty is lambd / (2 * m) * sum(W ** 2), whose gradient is "
     "lambd / m * W.", "lambd / (2 * m) * np.sum(np.square(W))", "lambd / m * np.sum(np.square(W))"),
    ("l2_regularization", "the division by m is missing: the penalty is lambd / (2 * m) * sum(W ** 2).",
     "lambd / (2 * m) * np.sum(np.square(W))", "lambd / 2 * np.sum(np.square(W))"),
    ("l2_regularization", "the penalty sums absolute values (that is L1); L2 sums squares.",
     "np.sum(np.square(W))", "np.sum(np.abs(W))"),
    ("l2_regularization", "the gradient of lambd / (2 * m) * sum(W ** 2) is lambd / m * W: the 2 of the square "
     "cancels the 1/2.", "lambd / m * W", "lambd / (2 * m) * W"),
    ("l1_regularization", "the L1 penalty of this notebook has no 1/2: lambd / m * sum(|W|).",
     "lambd / m * np.sum(np.abs(W))", "lambd / (2 * m) * np.sum(np.abs(W))"),
    ("l1_regularization", "the gradient of |w| is sign(w), not w: use lambd / m * np.sign(W).",
     "lambd / m * np.sign(W)", "lambd / m * W"),
    ("l1_regularization", "the penalty sums squares (that is L2); L1 sums absolute values.",
     "np.sum(np.abs(W))", "np.sum(np.square(W))"),
    ("dropout_forward", "divide the kept activations by keep_prob (inverted dropout), so that their expected "
     "value is unchanged.", "A * mask / keep_prob", "A * mask"),
    ("dropout_backward", "divide by keep_prob in the backward pass too, as in the forward pass.",
     "dA * mask / keep_prob", "dA * mask"),
)


def cell_sources(path=SOURCE_NOTEBOOK, names=GRADED_FUNCTIONS):
    """The source of the cells with the given grade_ids, by grade_id."""
    return {grade_id(c): cell_source(c) for c in notebook_cells(path) if grade_id(c) in names}


def load_functions(path=SOURCE_NOTEBOOK, names=GRADED_FUNCTIONS, replace=None):
    """Execute some answer cells of a notebook in a fresh namespace that has NumPy as np.

    Arguments:
    path -- the notebook (the source holds the reference solutions)
    names -- grade_ids of the cells to execute, in order
    replace -- optional dict {grade_id: source} substituting some cells (for mistake variants)

    Returns:
    namespace -- dict holding the functions the cells define
    """
    sources = cell_sources(path, names)
    sources.update(replace or {})
    return exec_cells(sources, names, {"np": np})


def expected_outputs(namespace):
    """Every reference output that testCases.deep_expected stores, computed with the given functions."""
    import testCases.deep_cases as cases

    out = {}
    parameters, m = cases.regularization_test_case()
    out["L2_PENALTY"], out["L2_GRADS_TERM"] = namespace["l2_regularization"](parameters, cases.L2_LAMBD, m)
    out["L1_PENALTY"], out["L1_GRADS_TERM"] = namespace["l1_regularization"](parameters, cases.L1_LAMBD, m)
    np.random.seed(1)
    A_out, mask = namespace["dropout_forward"](cases.dropout_forward_test_case(), cases.DROPOUT_FORWARD_KEEP_PROB)
    out["DROPOUT_FORWARD_SEEDED"] = {"A_out": A_out, "mask": mask}
    dA, mask = cases.dropout_backward_test_case()
    out["DROPOUT_BACKWARD"] = namespace["dropout_backward"](dA, mask, cases.DROPOUT_BACKWARD_KEEP_PROB)
    return out


def _variables(outputs, function):
    """{variable: value} of one function's outputs, as the checks name them."""
    if function == "l2_regularization":
        return {"penalty": outputs["L2_PENALTY"], **outputs["L2_GRADS_TERM"]}
    if function == "l1_regularization":
        return {"penalty": outputs["L1_PENALTY"], **outputs["L1_GRADS_TERM"]}
    if function == "dropout_forward":
        return {"A_out": outputs["DROPOUT_FORWARD_SEEDED"]["A_out"]}
    return {"dA_out": outputs["DROPOUT_BACKWARD"]}


def mistake_outputs():
    """{grade_id: [(description, {variable: value})]}: what each known mistake outputs where it differs."""
    sources = cell_sources()
    reference = expected_outputs(load_functions())
    catalogue = {}
    for function, description, old, new in MISTAKES:
        if old not in sources[function]:
            raise ValueError(f"mistake {description!r}: {old!r} is not in the solution of {function}")
        outputs = expected_outputs(load_functions(replace={function: sources[function].replace(old, new)}))
        got, want = _variables(outputs, function), _variables(reference, function)
        differing = {k: v for k, v in got.items() if not np.allclose(v, want[k])}
        if differing:
            catalogue.setdefault(function, []).append((description, differing))
    return catalogue


def render_expected():
    """The text of testCases/deep_expected.py."""
    docstring = ["Reference outputs of the DeepRegularization public checks, and what known mistakes output.", "",
                 "Generated by ``python -m tests.deep_reference`` from the reference solutions in the source notebook;",
                 "``tests/test_deep_checks.py`` fails when this file and the solutions disagree. Do not edit by hand.",
                 "DROPOUT_FORWARD_SEEDED is what dropout_forward returns right after np.random.seed(1) when it draws",
                 "its mask with np.random.rand(*A.shape) < keep_prob; other correct ways of drawing are accepted too."]
    return render_expected_module(docstring, expected_outputs(load_functions()), mistake_outputs(),
                                  "{function: [(description of the mistake, {variable: what the mistake outputs})]}")


if __name__ == "__main__":
    print(render_expected(), end="")
