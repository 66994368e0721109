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


def demo_class():
    """The demo's class: the reference, the untouched release, typical mistakes and a correct-but-different one."""
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
