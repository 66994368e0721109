"""A small class of submissions made from the release: the demo grades it, and the tests check its scores.

Every submission is the committed release with some answer cells filled in; the code comes from the source
notebook's reference solutions and from the variants in ``course.variants`` (the catalogued mistakes and the
correct alternatives), so nothing here is a hand-edited notebook that could drift from the assignment.
"""

from dataclasses import dataclass, field

from course.reference import GRADED_FUNCTIONS, solution_sources
from course.variants import CORRECT_ALTERNATIVES, MISTAKES

ASSIGNMENT = "regularization"
NOTEBOOK = "Regularization.ipynb"
#: Points of each exercise's test cell, by graded function.
POINTS = {"compute_cost_with_regularization": 2, "backward_propagation_with_regularization": 3,
          "forward_propagation_with_dropout": 3, "backward_propagation_with_dropout": 2}


@dataclass
class Submission:
    """One student's submission.

    student -- the student id nbgrader files it under
    about -- what the student did, in a few words
    variants -- names of the variants applied on top of the reference solutions
    answered -- whether the answer cells hold code at all (False: the untouched release)
    expected -- {graded function: points} this submission must earn
    """

    student: str
    about: str
    variants: tuple = ()
    answered: bool = True
    expected: dict = field(default_factory=dict)

    def answers(self, sources=None):
        """{grade_id: source} of the answer cells of this submission."""
        if not self.answered:
            return {}
        sources = dict(sources or solution_sources())
        answers = {name: sources[name] for name in GRADED_FUNCTIONS}
        by_name = {v.name: v for v in MISTAKES + CORRECT_ALTERNATIVES}
        for name in self.variants:
            variant = by_name[name]
            answers[variant.grade_id] = _apply(variant, answers[variant.grade_id])
        return answers


def _apply(variant, source):
    """Apply a variant's edits to a source that may already carry other edits."""
    for old, new in variant.edits:
        if old not in source:
            raise ValueError(f"variant {variant.name} cannot be applied: {old!r} not found")
        source = source.replace(old, new)
    return source


def _expected(variants):
    """Points per exercise when the given variants are applied to the reference solutions."""
    by_name = {v.name: v for v in MISTAKES + CORRECT_ALTERNATIVES}
    points = dict(POINTS)
    for name in variants:
        variant = by_name[name]
        if variant in MISTAKES:
            points[variant.grade_id] = POINTS[variant.grade_id] * variant.credit
    return points


def _submission(student, about, variants=()):
    return Submission(student, about, tuple(variants), expected=_expected(variants))


def demo_class(attempts=True):
    """The demo's class: the reference, the untouched release, typical mistakes, a correct-but-different one, and
    (with attempts) a tampering attempt, a kernel killer and an infinite loop."""
    chosen = ("patch-numpy", "kernel-killer", "infinite-loop") if attempts else ()
    return _typical_class() + [a for a in tamper_class() if a.student in chosen]


def _typical_class():
    return [
        _submission("reference", "the reference solutions"),
        Submission("untouched", "the release as handed out", answered=False,
                   expected={name: 0 for name in GRADED_FUNCTIONS}),
        _submission("alternative", "correct, written differently (norm**2, @, binomial masks, in-place)",
                    ("cost_norm_squared", "l2b_matmul", "df_binomial", "db_inplace")),
        _submission("no-1-over-m", "forgot the 1/m in the L2 cost and gradients",
                    ("cost_missing_1_over_m", "l2b_missing_1_over_m")),
        _submission("biases", "regularized the biases, doubled the L2 gradient",
                    ("cost_regularizes_biases", "l2b_doubled")),
        _submission("no-scaling", "inverted dropout without the 1/keep_prob",
                    ("df_no_scaling", "db_no_scaling")),
        _submission("reseeds", "reseeds inside dropout, multiplies dA by keep_prob",
                    ("df_reseeds", "db_times_keep_prob")),
        _submission("swapped", "keeps with > keep_prob, swapped the masks in backward",
                    ("df_greater_than", "db_masks_swapped")),
    ]


def every_mistake_class():
    """One submission per catalogued mistake group: each catalogued mistake appears in exactly one submission,
    at most one per graded function, so every exercise's score shows that mistake's credit."""
    per_function = {name: [v for v in MISTAKES if v.grade_id == name] for name in GRADED_FUNCTIONS}
    rounds = max(len(v) for v in per_function.values())
    class_ = []
    for i in range(rounds):
        chosen = [vs[i].name for vs in per_function.values() if i < len(vs)]
        class_.append(_submission(f"mistakes-{i + 1}", ", ".join(chosen), chosen))
    alternatives = {name: [v for v in CORRECT_ALTERNATIVES if v.grade_id == name] for name in GRADED_FUNCTIONS}
    rounds = max(len(v) for v in alternatives.values())
    for i in range(rounds):
        chosen = [vs[i].name for vs in alternatives.values() if i < len(vs)]
        class_.append(_submission(f"alternative-{i + 1}", ", ".join(chosen), chosen))
    return class_


# ---------------------------------------------------------------------------------------------------------------
# Attempts to get points without earning them, and submissions that break the notebook. Each targets the cost
# function with a WRONG answer (the cost is 0) unless it says otherwise; the other three functions are right.

_COST = "compute_cost_with_regularization"
_WRONG_COST_LINE = "cost = cross_entropy_cost + L2_regularization_cost"


@dataclass
class Attempt(Submission):
    """A submission built by editing the reference answers and, optionally, the notebook itself.

    prefix -- code put before the cost answer cell's code (module level)
    body -- code put at the top of the cost function's body
    wrong -- whether the cost function returns a wrong cost (0.0)
    notebook_edit -- callable(nb) changing the notebook (e.g. deleting a test cell), or None
    raw -- text written instead of a notebook (a file that is not JSON), or None
    rename -- a file name to submit the notebook under instead of the expected one, or None
    """

    prefix: str = ""
    body: str = ""
    wrong: bool = True
    notebook_edit: object = None
    raw: str = None
    rename: str = None

    def answers(self, sources=None):
        answers = super().answers(sources)
        source = answers[_COST]
        if self.wrong:
            source = source.replace(_WRONG_COST_LINE, "cost = 0.0")
        if self.body:
            indented = "".join(f"    {line}\n" for line in self.body.splitlines())
            source = source.replace('    m = Y.shape[1]\n', indented + '    m = Y.shape[1]\n', 1)
        answers[_COST] = self.prefix + ("\n" if self.prefix else "") + source
        return answers

    def write(self, folder, notebook, release):
        """Write this submission's files into submitted/STUDENT/ASSIGNMENT/."""
        from course.grading import make_submission
        import nbformat

        target = folder / (self.rename or notebook)
        if self.raw is not None:
            target.write_text(self.raw)
            return
        nb = make_submission(release, self.answers())
        if self.notebook_edit is not None:
            self.notebook_edit(nb)
        nbformat.write(nb, target)


def _delete_cell(grade_id):
    def edit(nb):
        nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != grade_id]
    return edit


def _replace_cell(grade_id, source):
    def edit(nb):
        for cell in nb.cells:
            if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
                cell.source = source
    return edit


_FULL_BUT_COST = {name: (0 if name == _COST else points) for name, points in POINTS.items()}
_ALWAYS_TRUE_ARRAY = '''
class _Agreeable(np.ndarray):
    def __eq__(self, other): return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.ones(np.broadcast(*[np.asarray(i) for i in inputs]).shape, dtype=bool) \\
            if ufunc in (np.less_equal, np.equal, np.isfinite) else \\
            getattr(ufunc, method)(*[np.asarray(i) for i in inputs], **kwargs)
'''


def tamper_class():
    """The tampering corpus: every attempt, with the points each one must get (no more)."""
    def attempt(student, about, expected=None, **kwargs):
        return Attempt(student, about, expected=dict(expected or _FULL_BUT_COST), **kwargs)

    patch = ("np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: np.True_\n"
             "np.testing.assert_allclose = lambda *a, **k: None\n")
    return [
        attempt("patch-numpy", "patches np.allclose, np.isclose and np.testing at module level", prefix=patch),
        attempt("patch-in-body", "patches NumPy's comparisons inside the graded function", body=patch),
        attempt("patch-checks", "replaces testCases' checks and score at module level",
                prefix="import testCases\ntestCases.compute_cost_with_regularization_test = lambda f: None\n"
                       "compute_cost_with_regularization_test = lambda f: None\n"
                       "testCases.score = lambda check, f, points: points\nscore = lambda check, f, points: points\n"
                       "import builtins\nbuiltins.score = score\n"),
        attempt("redefine-check", "redefines the public check inside the function, for later cells",
                body="globals()['compute_cost_with_regularization_test'] = lambda f: None\n"
                     "globals()['score'] = lambda check, f, points: points\n"),
        attempt("agreeable-array", "returns an ndarray subclass whose comparisons always succeed",
                prefix=_ALWAYS_TRUE_ARRAY, wrong=False,
                body="return np.asarray(0.0).view(_Agreeable)\n"),
        attempt("sys-exit", "calls sys.exit() in the answer cell", prefix="import sys\nsys.exit()\n"),
        attempt("kernel-killer", "kills its kernel with os._exit(0)", prefix="import os\nos._exit(0)\n",
                wrong=False),
        attempt("infinite-loop", "loops forever inside the graded function", body="while True:\n    pass\n",
                wrong=False),
        attempt("keyboard-interrupt", "raises KeyboardInterrupt inside the graded function",
                body="raise KeyboardInterrupt\n", wrong=False),
        attempt("flood", "floods the output with 20000 lines per call, then answers correctly",
                body="for _i in range(20000):\n    print('spam', _i)\n", wrong=False,
                expected=dict(POINTS)),
        attempt("deleted-test-cell", "deleted the cost function's test cell (the answer itself is right)",
                wrong=False, notebook_edit=_delete_cell(_COST + "_tests")),
        attempt("edited-test-cell", "replaced the cost test cell by one that always passes",
                notebook_edit=_replace_cell(_COST + "_tests", "points = 2\npoints")),
        attempt("not-json", "a file that is not JSON", raw="{ this is not a notebook",
                expected={name: 0 for name in POINTS}),
        attempt("renamed", "correct answers in a notebook saved under another name", wrong=False,
                rename="Regularization-final (1).ipynb", expected=dict(POINTS)),
    ]
