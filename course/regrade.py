"""`make regrade [ASSIGNMENT=...] [DRY_RUN=1]`: grade every stored submission again with the current grader, and
say exactly which scores that changes before any of them is written.

Instructor side, the top layer. After a fix to the grader (a new catalogued mistake, a corrected verification
case), the stored submissions (``COURSE/submitted/*/ASSIGNMENT/``) are graded again by the grading command
(``course.autograde.autograde``: nbgrader in the OS sandbox, then the verification pass) in a TEMPORARY copy of the
course with its own SQLite gradebook, so nothing of the real course is touched while grading. The new automatic
scores are compared with the ``auto_score`` the real gradebook holds, and every difference is printed and written
to ``COURSE/reports/ASSIGNMENT-regrade.csv``: student, test cell, old -> new, and why (the new verdict's reason).
Unless it is a dry run, the same results are then written into the real gradebook by the grading command's own
writer (``course.autograde.record``), so what is committed is exactly the diff that was shown (grading twice could
differ, e.g. on a timeout) and, as always, only nbgrader's automatic fields are written: a manual score the
instructor set stands, and the diff says when it hides a change.

    python -m course.regrade --course notebooks --assignment NAME [--jobs N] [--dry-run] [--student ID ...]
"""

import argparse
import csv
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from course.assignment import COURSE
from course.assignments import get_assignment
from course.autograde import autograde, record
from course.nbgrader_course import copy_course, gradebook_template, load_course

#: Scores closer than this are the same score.
_EPS = 1e-9
CSV_COLUMNS = ("student", "test_cell", "old", "new", "why", "manual_score", "note")


@dataclass
class Change:
    """One automatic score the current grader gives differently.

    student, cell -- the student id and the test cell (grade_id)
    old -- the auto_score in the gradebook (None: the submission was never graded)
    new -- the auto_score the current grader gives
    why -- the new verdict's reason
    manual -- the instructor's manual score of that cell, if any (it stands: the student's score does not move)
    """

    student: str
    cell: str
    old: float
    new: float
    why: str
    manual: float = None

    @property
    def note(self):
        """What the change does to the student's score."""
        if self.manual is not None:
            return f"manual score {self.manual:g} stands: this change is hidden, the cell still scores {self.manual:g}"
        return "new submission" if self.old is None else ""

    def line(self):
        old = "(none)" if self.old is None else f"{self.old:g}"
        note = f"  [{self.note}]" if self.note else ""
        return f"{self.student:<20}{self.cell:<50}{old:>7} -> {self.new:<7g}{self.why}{note}"


def stored_grades(course_root, assignment_name):
    """{student: {test cell: (auto_score, manual_score)}} of the real gradebook, through nbgrader's API."""
    from nbgrader.api import Gradebook

    stored = {}
    with Gradebook(load_course(course_root)[1].db_url) as gb:
        for submission in gb.assignment_submissions(assignment_name):
            stored[submission.student_id] = {grade.name: (grade.auto_score, grade.manual_score)
                                             for nb in submission.notebooks for grade in nb.grades}
    return stored


def scratch_course(folder, course_root, assignment):
    """A temporary copy of the course to grade in: config, source, release, the stored submissions, and a fresh
    SQLite gradebook of its own (its config is pinned to it, whatever db_url the real course uses)."""
    import shutil

    scratch = copy_course(Path(folder) / "course", course_root, assignments=[assignment.name])
    for submitted in sorted((Path(course_root) / "submitted").glob(f"*/{assignment.name}")):
        shutil.copytree(submitted, scratch / "submitted" / submitted.parent.name / assignment.name)
    with open(scratch / "nbgrader_config.py", "a") as config:
        config.write(f"\n# regrade: this copy grades into its own gradebook, never the course's\n"
                     f"c.CourseDirectory.root = {str(scratch)!r}\n"
                     f"c.CourseDirectory.db_url = {'sqlite:///' + str(scratch / 'gradebook.db')!r}\n")
    (scratch / "gradebook.db").write_bytes(gradebook_template(course_root, assignment.name))
    return scratch


def _why(assignment, result, cell, new):
    """The reason of a test cell's new score: the final score's reason, else the verdict's, else what it means."""
    reason = result.final_scores(assignment).get(cell, (0.0, ""))[1]
    function = next((f for f in assignment.functions if f.test_cell == cell), None)
    verdict = result.verdicts.get(function.name) if function else None
    if reason or (verdict and verdict.reason):
        return reason or verdict.reason
    if function and new >= assignment.points[function.name] - _EPS:
        return "full marks, confirmed by the clean run"
    return "the points nbgrader's test cell gave" if function else "not a graded function of the registry"


def diff(assignment, stored, results):
    """[Change] for every test cell whose automatic score the new results change, by student and cell."""
    changes = []
    for student, result in sorted(results.items()):
        finals = result.final_scores(assignment)
        before = stored.get(student, {})
        for cell in sorted(set(before) | set(finals)):
            new = finals.get(cell, (0.0, ""))[0]
            old, manual = before.get(cell, (None, None))
            if old is None or abs(float(old) - new) > _EPS:
                changes.append(Change(student, cell, None if old is None else float(old), float(new),
                                      _why(assignment, result, cell, new), manual))
    return changes


def write_diff(course_root, assignment, changes):
    """COURSE/reports/ASSIGNMENT-regrade.csv: one row per change (a header only when nothing changed)."""
    folder = Path(course_root) / "reports"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{assignment.name}-regrade.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_COLUMNS)
        for c in changes:
            writer.writerow([c.student, c.cell, "" if c.old is None else f"{c.old:g}", f"{c.new:g}", c.why,
                             "" if c.manual is None else f"{c.manual:g}", c.note])
    return path


def commit(course_root, assignment, results):
    """Write the results into the real gradebook with the grading command's writer (automatic fields only)."""
    from nbgrader.api import Gradebook

    _, coursedir = load_course(course_root)
    with Gradebook(coursedir.db_url) as gradebook:
        for _, result in sorted(results.items()):
            record(gradebook, coursedir, assignment, result)


def regrade(course_root=COURSE, assignment="regularization", jobs=1, dry_run=False, sandboxed=True,
            students=None):
    """Grade the stored submissions again; write the diff; commit it unless dry_run.

    Arguments:
    course_root -- the nbgrader course root
    assignment -- an Assignment or its name
    jobs -- parallel grading workers
    dry_run -- only report: the real gradebook and course are left as they are
    sandboxed -- grade in the OS sandbox (False: the explicit opt-out, as for autograde)
    students -- only these student ids (default: every stored submission)

    Returns:
    (changes, csv path) -- [Change] and the diff file
    """
    assignment = get_assignment(assignment) if isinstance(assignment, str) else assignment
    stored = stored_grades(course_root, assignment.name)
    with tempfile.TemporaryDirectory(prefix=f"regrade-{assignment.name}-") as tmp:
        scratch = scratch_course(tmp, course_root, assignment)
        results = autograde(scratch, assignment, jobs=jobs, students=students, progress=False, sandboxed=sandboxed,
                            force=True)
    changes = diff(assignment, stored, results)
    path = write_diff(course_root, assignment, changes)
    if not dry_run:
        commit(course_root, assignment, results)
    return changes, path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=str(COURSE))
    parser.add_argument("--assignment", default="regularization")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--dry-run", action="store_true", help="show the changes, write nothing to the gradebook")
    parser.add_argument("--student", action="append", help="regrade only this student (repeat)")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="as for autograde: grade WITHOUT the OS sandbox (every comment says so)")
    args = parser.parse_args(argv)
    from course.sandbox import SandboxUnavailable

    try:
        changes, path = regrade(args.course, args.assignment, jobs=args.jobs, dry_run=args.dry_run,
                                sandboxed=not args.unsafe_no_sandbox, students=args.student)
    except SandboxUnavailable as exc:
        print(f"regrade: refusing to grade: {exc}", file=sys.stderr)
        return 3
    for change in changes:
        print(change.line())
    hidden = sum(c.manual is not None for c in changes)
    print(f"{len(changes)} score(s) changed" + (f", {hidden} hidden by a manual score" if hidden else "")
          + (" (dry run: nothing written to the gradebook)" if args.dry_run else
             (" and written to the gradebook" if changes else "")) + f"; the diff: {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
