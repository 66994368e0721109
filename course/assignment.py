"""What an assignment is, for the instructor side: its notebook, graded functions, points, mistakes and cases.

One ``Assignment`` per module of ``course.assignments`` declares everything the grader, the verifier, the demo,
the tests and the benchmarks need to know about an assignment; nothing else maps an assignment to its notebook,
its functions or its points. Points are read from the source notebook's test cells (nbgrader's own metadata), so
the notebook stays the one truth; the declared graded functions are checked against it.
"""

import ast
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np

from course.reference import (cell_sources, differing_outputs, exec_cells, render_expected_module,
                              test_cell_points)

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "notebooks"


@dataclass(frozen=True)
class Variant:
    """An edited copy of one graded function's reference solution: a catalogued mistake or a correct alternative.

    grade_id -- the function (answer cell) it edits
    name -- short identifier, used in test ids and submission names
    description -- what the student did, as the feedback says it (the hint of the public check)
    edits -- pairs (old, new) applied with str.replace; each old must occur in the source it edits
    feedback -- the words the feedback must contain (by default the description)
    credit -- share of the exercise's points the mistake still earns (correct alternatives earn all)
    """

    grade_id: str
    name: str
    description: str
    edits: tuple = ()
    feedback: str = ""
    credit: float = 0.0

    @property
    def expected_feedback(self):
        """What a check's message must contain for this variant."""
        return self.feedback or self.description

    def apply(self, source):
        """The source with this variant's edits applied (it may already carry other variants' edits)."""
        for old, new in self.edits:
            if old not in source:
                raise ValueError(f"variant {self.name}: {old!r} is not in the source of {self.grade_id}")
            source = source.replace(old, new)
        return source


@dataclass
class Cases:
    """The calls a graded function is verified on, and how its outputs are judged.

    arrays -- {key: numpy array} the calls refer to as "@key"
    calls -- [{"args": [...], "kwargs": {...}, "seed": int or None}]; the first call is seeded, so that every
             call's random draws are reproducible (an unseeded call continues the previous call's stream)
    judge -- callable(cases, runs, reference_runs) -> "" when the runs are right, else the first problem; None
             compares every output with the reference solution's (course.verify.judge_exact)
    special -- callable(cases, runs) -> (credit, reason, mistake name) or None: a partly right answer recognised
               by its properties (e.g. a dropout that reseeds), checked when the judge finds a problem
    context -- anything the judge needs (e.g. the inputs as arrays)
    """

    arrays: dict = field(default_factory=dict)
    calls: list = field(default_factory=list)
    judge: object = None
    special: object = None
    context: dict = field(default_factory=dict)

    def put(self, key, value):
        """Store an array (or a dict or tuple of arrays) among the arrays; return its JSON reference."""
        if isinstance(value, dict):
            return {"@dict": {k: self.put(f"{key}_{k}", v) for k, v in value.items()}}
        if isinstance(value, tuple):
            return {"@tuple": [self.put(f"{key}_{i}", v) for i, v in enumerate(value)]}
        self.arrays[key] = np.asarray(value)
        return f"@{key}"

    def call(self, *args, seed=None, **kwargs):
        """Add a call; arrays, dicts and tuples of arrays among the arguments are stored and referenced."""
        n = len(self.calls)
        store = (lambda i, v: self.put(f"c{n}a{i}", v) if isinstance(v, (np.ndarray, dict, tuple)) else v)
        self.calls.append({"args": [store(i, a) for i, a in enumerate(args)],
                           "kwargs": {k: store(k, v) for k, v in kwargs.items()}, "seed": seed})


@dataclass(frozen=True)
class GradedFunction:
    """One graded function: its answer cell (grade_id = name), its test cell (name + "_tests") and its cases.

    name -- the function's name, also the grade_id of its answer cell
    short -- a column label (the demo's table)
    cases -- callable(solutions namespace) -> Cases: the verification cases
    """

    name: str
    short: str
    cases: object

    @property
    def test_cell(self):
        """The grade_id of its autograded test cell."""
        return self.name + "_tests"


@dataclass(frozen=True)
class TamperTarget:
    """Where the tampering corpus aims: the function whose answer an attempt replaces by a wrong one.

    function -- a graded function's name
    wrong -- (old, new): the edit that makes its reference solution wrong
    public_output -- callable(function) -> what that function returns on its public case
    """

    function: str
    wrong: tuple
    public_output: object = None


@dataclass(frozen=True, eq=False)
class Assignment:
    """Everything the instructor side knows about one assignment.

    name -- the nbgrader assignment name (folder under source/ and release/)
    notebook -- the notebook's file name
    title -- a human title
    functions -- the GradedFunctions, in notebook order
    mistakes, alternatives -- Variants: known mistakes (with their credit) and correct alternatives
    expected_module -- dotted name of the generated module holding the public checks' reference outputs
    expected_outputs -- callable(solutions namespace) -> {NAME: value} that module stores
    public_variables -- callable(outputs, function) -> {variable: value}: one function's outputs on its public case,
                        as its check names them (what KNOWN_MISTAKES stores)
    expected_docstring -- the generated module's docstring lines
    tamper -- the TamperTarget of the tampering corpus
    results_title -- what the demo prints above the notebook's results table
    position -- where it comes in the course (the registry lists assignments in this order)
    course -- the nbgrader course root
    reused_answers -- grade_ids of answer cells that are not graded here: the student fills them with their own
                      answers to an earlier assignment's graded functions, which the notebook needs (giving them
                      out would hand out the earlier assignment's solutions; grading them again would count them
                      twice). The reference submissions fill them with the source notebook's code.
    """

    name: str
    notebook: str
    title: str
    functions: tuple
    mistakes: tuple
    alternatives: tuple
    expected_module: str
    expected_outputs: object
    public_variables: object
    expected_docstring: tuple
    tamper: TamperTarget
    results_title: str = ""
    position: int = 0
    course: Path = COURSE
    reused_answers: tuple = ()

    # -- where it lives ------------------------------------------------------------------------------------------
    @property
    def source_path(self):
        return Path(self.course) / "source" / self.name / self.notebook

    @property
    def release_path(self):
        return Path(self.course) / "release" / self.name / self.notebook

    @property
    def function_names(self):
        return tuple(f.name for f in self.functions)

    def function(self, name):
        """The GradedFunction called `name`."""
        return next(f for f in self.functions if f.name == name)

    @cached_property
    def points(self):
        """{graded function: points of its test cell}, read from the source notebook (the one truth)."""
        cells = test_cell_points(self.source_path)
        missing = [f.test_cell for f in self.functions if f.test_cell not in cells]
        if missing:
            raise ValueError(f"{self.source_path.name} has no autograded test cell {missing}: every graded function "
                             f"of {self.name} needs a cell with grade_id '<function>_tests' and points")
        return {f.name: cells[f.test_cell] for f in self.functions}

    @property
    def total_points(self):
        return sum(self.points.values())

    # -- the reference solutions ---------------------------------------------------------------------------------
    def solution_sources(self):
        """{graded function: source of its answer cell} in the source notebook."""
        sources = cell_sources(self.source_path, self.function_names)
        missing = set(self.function_names) - set(sources)
        if missing:
            raise ValueError(f"{self.source_path.name} has no answer cell {sorted(missing)}")
        return sources

    def answer_sources(self):
        """{grade_id: source} of every answer cell a complete submission fills: the graded functions' and the
        reused answers' (see `reused_answers`), from the source notebook."""
        names = (*self.function_names, *self.reused_answers)
        sources = cell_sources(self.source_path, names)
        missing = set(names) - set(sources)
        if missing:
            raise ValueError(f"{self.source_path.name} has no answer cell {sorted(missing)}")
        return sources

    def base_namespace(self):
        """What the notebook's answer cells see: numpy as np and every name `from reg_utils import *` gives."""
        import reg_utils

        namespace = {"np": np}
        namespace.update({name: getattr(reg_utils, name) for name in reg_utils.__all__})
        return namespace

    def load_solutions(self, replace=None):
        """Execute the answer cells (reference solutions, some optionally replaced) in a fresh namespace.

        Arguments:
        replace -- optional {grade_id: source} substituting some answer cells (for variants)

        Returns:
        namespace -- dict holding the graded functions
        """
        sources = self.solution_sources()
        sources.update(replace or {})
        return exec_cells(sources, self.function_names, self.base_namespace())

    def variant_source(self, variant):
        """The source of the answer cell a variant edits, with its edits applied to the reference solution."""
        return variant.apply(self.solution_sources()[variant.grade_id])

    def variant(self, name):
        """The mistake or correct alternative called `name`."""
        return next(v for v in self.mistakes + self.alternatives if v.name == name)

    # -- the public checks' stored outputs -----------------------------------------------------------------------
    def mistake_catalogue(self):
        """{function: [(description, credit, {variable: output})]}: what each known mistake outputs on the public
        case, where that differs from the reference (mistakes that raise there are explained by their exception)."""
        reference = self.expected_outputs(self.load_solutions())
        catalogue = {}
        for variant in self.mistakes:
            try:
                outputs = self.expected_outputs(self.load_solutions({variant.grade_id: self.variant_source(variant)}))
            except Exception:  # noqa: BLE001 -- a mistake that raises on the public case has no outputs to store
                continue
            differing = differing_outputs(self.public_variables(outputs, variant.grade_id),
                                          self.public_variables(reference, variant.grade_id))
            if differing:
                catalogue.setdefault(variant.grade_id, []).append((variant.description, variant.credit, differing))
        return catalogue

    def render_expected(self):
        """The text of the generated expected-outputs module (``python -m course.assignments expected NAME``)."""
        return render_expected_module(list(self.expected_docstring), self.expected_outputs(self.load_solutions()),
                                      self.mistake_catalogue(),
                                      "{function: [(description of the mistake, share of the points it earns, "
                                      "{variable: what it outputs})]}")

    @property
    def expected_path(self):
        """The file of the generated expected-outputs module."""
        return ROOT.joinpath(*self.expected_module.split(".")).with_suffix(".py")


def function_body_offset(source, function):
    """The index in `source` where the body of `def function` starts after its docstring (for inserting code)."""
    tree = ast.parse(source)
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == function)
    first = node.body[0]
    is_docstring = isinstance(first, ast.Expr) and isinstance(getattr(first, "value", None), ast.Constant) \
        and isinstance(first.value.value, str)
    anchor = node.body[1] if is_docstring and len(node.body) > 1 else first
    lines = source.splitlines(True)
    return sum(len(line) for line in lines[:anchor.lineno - 1])
