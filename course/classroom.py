"""Classes of generated submissions for any assignment: the demo grades one, the tests and benchmarks use them.

Instructor side (the top layer, with the demo). Every submission is the committed release with some answer cells
filled in; the code comes from the source notebook's reference solutions and from the assignment's catalogued
mistakes and correct alternatives (``course.assignments``), so nothing here is a hand-edited notebook that could
drift from the assignment. ``expected`` says what each submission must score.
"""

from dataclasses import dataclass, field

import nbformat

from course.assignment import function_body_offset
from course.nbgrader_course import make_submission


@dataclass
class Submission:
    """One student's submission.

    student -- the student id nbgrader files it under
    about -- what the student did, in a few words
    variants -- names of the assignment's variants applied on top of the reference solutions
    answered -- whether the answer cells hold code at all (False: the untouched release)
    expected -- {graded function: points} this submission must earn
    unanswered -- graded functions left as the release's stub (the others are answered)
    """

    student: str
    about: str
    variants: tuple = ()
    answered: bool = True
    expected: dict = field(default_factory=dict)
    unanswered: tuple = ()

    def answers(self, assignment):
        """{grade_id: source} of the answer cells of this submission."""
        if not self.answered:
            return {}
        answers = {k: v for k, v in assignment.answer_sources().items() if k not in self.unanswered}
        for name in self.variants:
            variant = assignment.variant(name)
            answers[variant.grade_id] = variant.apply(answers[variant.grade_id])
        return answers

    def write(self, folder, assignment):
        """Write this submission's notebook into submitted/STUDENT/ASSIGNMENT/ (the folder)."""
        nbformat.write(make_submission(assignment.release_path, self.answers(assignment)),
                       folder / assignment.notebook)


def submission(assignment, student, about, variants=()):
    """A Submission with the variants applied, expecting each mistake's share of its exercise's points."""
    points = dict(assignment.points)
    for name in variants:
        variant = assignment.variant(name)
        if variant in assignment.mistakes:
            points[variant.grade_id] = assignment.points[variant.grade_id] * variant.credit
    return Submission(student, about, tuple(variants), expected=points)


def reference_and_untouched(assignment):
    """The reference solutions (full marks) and the release as handed out (0)."""
    return [submission(assignment, "reference", "the reference solutions"),
            Submission("untouched", "the release as handed out", answered=False,
                       expected={name: 0 for name in assignment.function_names})]


def every_mistake_class(assignment):
    """One submission per round of catalogued mistakes (at most one per graded function, so every exercise's score
    shows its mistake's credit), then one per round of correct alternatives."""
    class_ = []
    for kind, variants in (("mistakes", assignment.mistakes), ("alternative", assignment.alternatives)):
        per_function = [[v for v in variants if v.grade_id == name] for name in assignment.function_names]
        for i in range(max(len(v) for v in per_function)):
            chosen = [vs[i].name for vs in per_function if i < len(vs)]
            class_.append(submission(assignment, f"{kind}-{i + 1}", ", ".join(chosen), chosen))
    return class_


def demo_class(assignment, attempts=True):
    """The demo's class: the reference, the untouched release, the first rounds of mistakes and alternatives,
    and (with attempts) a tampering attempt, a kernel killer and an infinite loop."""
    rounds = every_mistake_class(assignment)
    chosen = ("patch-numpy", "kernel-killer", "infinite-loop") if attempts else ()
    return reference_and_untouched(assignment) + [s for s in rounds if s.student.endswith(("-1", "-2", "-3"))] \
        + [a for a in tamper_class(assignment) if a.student in chosen]


# ---------------------------------------------------------------------------------------------------------------
# Attempts to get points without earning them, and submissions that break the notebook. Each targets the
# assignment's tamper function with a WRONG answer unless it says otherwise; the other functions are right.

@dataclass
class Attempt(Submission):
    """A submission built by editing the reference answers and, optionally, the notebook itself.

    prefix -- code put before the target answer cell's code (module level)
    body -- code put at the top of the target function's body (after its docstring)
    wrong -- whether the target function is made wrong (the assignment's TamperTarget edit)
    notebook_edit -- callable(nb, assignment) changing the notebook (e.g. deleting a test cell), or None
    raw -- text written instead of a notebook (a file that is not JSON), or None
    rename -- a file name to submit the notebook under instead of the expected one, or None
    sandbox_only -- True when only the OS sandbox stops it (graded without it, it earns points it should not)
    """

    prefix: str = ""
    body: str = ""
    wrong: bool = True
    notebook_edit: object = None
    raw: str = None
    rename: str = None
    sandbox_only: bool = False

    def answers(self, assignment):
        answers = super().answers(assignment)
        target = assignment.tamper.function
        source = answers[target]
        if self.wrong:
            old, new = assignment.tamper.wrong
            source = source.replace(old, new)
        if self.body:
            at = function_body_offset(source, target)
            indent = source[at:].split("\n", 1)[0][:-len(source[at:].split("\n", 1)[0].lstrip())]
            source = source[:at] + "".join(f"{indent}{line}\n" for line in self.body.splitlines()) + source[at:]
        answers[target] = self.prefix.replace("{FUNCTION}", target).replace("{ASSIGNMENT}", assignment.name) \
            + ("\n" if self.prefix else "") + source
        return answers

    def write(self, folder, assignment):
        target = folder / (self.rename.replace("{NOTEBOOK}", assignment.notebook[:-len(".ipynb")])
                           if self.rename else assignment.notebook)
        if self.raw is not None:
            target.write_text(self.raw)
            return
        nb = make_submission(assignment.release_path, self.answers(assignment))
        if self.notebook_edit is not None:
            self.notebook_edit(nb, assignment)
        nbformat.write(nb, target)


def _delete_test_cell(nb, assignment):
    cell_id = assignment.function(assignment.tamper.function).test_cell
    nb.cells = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade_id") != cell_id]


def _replace_test_cell(nb, assignment):
    target = assignment.tamper.function
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == assignment.function(target).test_cell:
            cell.source = f"points = {assignment.points[target]:g}\npoints"


_ALWAYS_TRUE_ARRAY = '''
class _Agreeable(np.ndarray):
    def __eq__(self, other): return True
    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        return np.ones(np.broadcast(*[np.asarray(i) for i in inputs]).shape, dtype=bool) \\
            if ufunc in (np.less_equal, np.equal, np.isfinite) else \\
            getattr(ufunc, method)(*[np.asarray(i) for i in inputs], **kwargs)
'''
_PATCH = ("np.allclose = lambda *a, **k: True\nnp.isclose = lambda *a, **k: np.True_\n"
          "np.testing.assert_allclose = lambda *a, **k: None\n")


#: The flood attempt prints 20,000 lines in all, a hundred times the course's limit per output, however often the
#: notebook calls its function (the deep notebook's checks call it about sixty times: 2000 lines a call took 3 s).
_FLOOD_COUNTER = "_flood_calls = [0]\n"
_FLOOD = ("_flood_calls[0] += 1\n"
          "if _flood_calls[0] <= 10:\n"
          "    for _i in range(2000):\n"
          "        print('spam', _i)\n")


def tamper_class(assignment):
    """The tampering corpus for an assignment: every attempt, with the points each one must get (no more).
    ``course.attacks`` adds the attempts that only the OS sandbox stops."""
    points = assignment.points
    target = assignment.tamper.function
    full_but_target = {name: (0 if name == target else p) for name, p in points.items()}

    def attempt(student, about, expected=None, **kwargs):
        return Attempt(student, about, expected=dict(full_but_target if expected is None else expected), **kwargs)

    check = f"{target}_test"
    return [
        attempt("patch-numpy", "patches np.allclose, np.isclose and np.testing at module level", prefix=_PATCH),
        attempt("patch-in-body", "patches NumPy's comparisons inside the graded function", body=_PATCH),
        attempt("patch-checks", "replaces testCases' checks and score at module level",
                prefix=f"import testCases\ntestCases.{check} = lambda f: None\n{check} = lambda f: None\n"
                       "testCases.score = lambda check, f, points: points\nscore = lambda check, f, points: points\n"
                       "import builtins\nbuiltins.score = score\n"),
        attempt("redefine-check", "redefines the public check inside the function, for later cells",
                body=f"globals()['{check}'] = lambda f: None\n"
                     "globals()['score'] = lambda check, f, points: points\n"),
        attempt("agreeable-array", "returns an ndarray subclass whose comparisons always succeed",
                prefix=_ALWAYS_TRUE_ARRAY, wrong=False, body="return np.asarray(0.0).view(_Agreeable)\n"),
        attempt("sys-exit", "calls sys.exit() in the answer cell", prefix="import sys\nsys.exit()\n"),
        attempt("kernel-killer", "kills its kernel with os._exit(0)", prefix="import os\nos._exit(0)\n", wrong=False),
        attempt("infinite-loop", "loops forever inside the graded function", body="while True:\n    pass\n",
                wrong=False),
        attempt("keyboard-interrupt", "raises KeyboardInterrupt inside the graded function",
                body="raise KeyboardInterrupt\n", wrong=False),
        attempt("flood", "floods the output with 2000 lines on each of its first 10 calls, then answers correctly",
                prefix=_FLOOD_COUNTER, body=_FLOOD, wrong=False, expected=dict(points)),
        attempt("deleted-test-cell", "deleted the target function's test cell (the answer itself is right)",
                wrong=False, notebook_edit=_delete_test_cell),
        attempt("edited-test-cell", "replaced the target test cell by one that always passes",
                notebook_edit=_replace_test_cell),
        attempt("not-json", "a file that is not JSON", raw="{ this is not a notebook",
                expected={name: 0 for name in points}),
        attempt("renamed", "correct answers in a notebook saved under another name", wrong=False,
                rename="{NOTEBOOK}-final (1).ipynb", expected=dict(points)),
    ] + mistake_mimics(assignment)


def mistake_mimics(assignment):
    """An attempt that returns a catalogued, partly credited mistake's public-case output for EVERY input: a known
    mistake keeps its share only when it explains every verification case, so it earns nothing there."""
    target = assignment.tamper.function
    for variant in assignment.mistakes:
        if variant.grade_id == target and variant.credit > 0:
            namespace = assignment.load_solutions({target: assignment.variant_source(variant)})
            frozen = repr(assignment.tamper.public_output(namespace[target]))
            return [Attempt(f"mimic-{variant.name}", f"returns what '{variant.name}' outputs on the public case, "
                            "whatever the input", wrong=False, body="return _frozen_answer()\n",
                            prefix=f"def _frozen_answer():\n    from numpy import array\n    return {frozen}\n",
                            expected={name: (0 if name == target else p) for name, p in assignment.points.items()})]
    return []


# ---------------------------------------------------------------------------------------------------------------
# A synthetic class of any size, for the cluster tests and benchmarks.

def synthetic_class(assignment, n, seed=0):
    """n realistic submissions with known expected scores: first one of each kind (the reference, the untouched
    release, every round of mistakes and of correct alternatives, every tampering attempt), then random ones in
    which each graded function is right, written another correct way, a known mistake, or left unanswered.

    Arguments:
    assignment -- the Assignment
    n -- the class size (at least the number of kinds; more are drawn at random)
    seed -- the draws' seed (the same seed gives the same class)

    Returns:
    [Submission] -- each with its `expected` points per graded function
    """
    import random

    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"n (the class size) must be a whole number of at least 1, got {n!r}")
    rng = random.Random(seed)
    fixed = reference_and_untouched(assignment) + every_mistake_class(assignment) + tamper_class(assignment)
    drawn = [_random_submission(assignment, rng, f"student-{i:04d}") for i in range(max(0, n - len(fixed)))]
    return (fixed + drawn)[:n] if n < len(fixed) else fixed + drawn


def _random_submission(assignment, rng, student):
    """One submission: per graded function the reference (40%), an alternative (20%), a mistake (30%) or the stub."""
    chosen, unanswered, expected = [], [], {}
    for name in assignment.function_names:
        draw = rng.random()
        mistakes = [v for v in assignment.mistakes if v.grade_id == name]
        alternatives = [v for v in assignment.alternatives if v.grade_id == name]
        points = assignment.points[name]
        if draw < 0.3 and mistakes:
            variant = rng.choice(mistakes)
            chosen.append(variant.name)
            expected[name] = points * variant.credit
        elif draw < 0.5 and alternatives:
            chosen.append(rng.choice(alternatives).name)
            expected[name] = points
        elif draw < 0.6:
            unanswered.append(name)
            expected[name] = 0
        else:
            expected[name] = points
    about = ", ".join(chosen + [f"{u} unanswered" for u in unanswered]) or "the reference solutions"
    return Submission(student, about, tuple(chosen), expected=expected, unanswered=tuple(unanswered))


def write_class(course_root, assignment, submissions):
    """Write submissions into COURSE/submitted/ and their expected scores into COURSE/expected-<assignment>.json."""
    import json
    from pathlib import Path

    for s in submissions:
        folder = Path(course_root) / "submitted" / s.student / assignment.name
        folder.mkdir(parents=True, exist_ok=True)
        s.write(folder, assignment)
    expected = {s.student: {"about": s.about, "points": s.expected} for s in submissions}
    path = Path(course_root) / f"expected-{assignment.name}.json"
    path.write_text(json.dumps(expected, indent=1, sort_keys=True))
    return path


def main(argv=None):
    """``python -m course.classroom --students N --seed S [--assignment NAME] [--course DIR]``: write a synthetic
    class into the course's submitted/ folder, with its expected scores next to it."""
    import argparse

    from course.assignment import COURSE
    from course.assignments import get_assignment

    parser = argparse.ArgumentParser(description=main.__doc__.split("``")[0].strip() or "synthetic class")
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--assignment", default="regularization")
    parser.add_argument("--course", default=str(COURSE))
    args = parser.parse_args(argv)
    if args.students < 1:
        parser.error(f"--students must be at least 1, got {args.students}")
    try:
        assignment = get_assignment(args.assignment)
    except KeyError as exc:
        parser.error(exc.args[0])
    path = write_class(args.course, assignment, synthetic_class(assignment, args.students, args.seed))
    print(f"{args.students} submissions of {assignment.name} in {args.course}/submitted/; expected scores: {path}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
