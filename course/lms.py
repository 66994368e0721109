"""`make grades FORMAT=canvas|moodle|csv`: the gradebook's scores as a file a learning management system imports.

Instructor side, the top layer. Scores are read with nbgrader's gradebook API (``nbgrader.api.Gradebook``: its
students, their submissions, each submission's grade cells), so SQLite and PostgreSQL work alike, and what is
exported is what the gradebook says a student earned: a manual score where the instructor set one, else the
automatic one. Each assignment gives one column per graded exercise (its test cell, in the registry's order,
labelled ``ASSIGNMENT: SHORT``) plus one ``ASSIGNMENT: total`` column (the submission's score less nbgrader's late
penalty, floored at 0, as ``nbgrader export`` computes it). By default every assignment of the registry that the
gradebook knows is exported; ``--assignment`` restricts that.

The layouts, and the choices made where the platforms leave one:

- ``canvas`` (``COURSE/grades-canvas.csv``): the layout of Canvas's own Gradebook export, which its Gradebook
  import reads back: the columns ``Student, ID, SIS User ID, SIS Login ID, Section``, then one column per
  assignment item, and a ``Points Possible`` row right after the header (the points of each item, the identity
  cells empty). ``Student`` is ``Last, First`` (Canvas's sortable name) or, without names, the nbgrader id; ``ID``
  is the student's ``lms_user_id`` in nbgrader's gradebook (Canvas's numeric user id, when the roster was imported
  with it) or empty; ``SIS User ID`` is the nbgrader student id (Canvas matches a row by ID, then SIS User ID, then
  SIS Login ID); ``SIS Login ID`` is left empty rather than guessed; nbgrader knows no sections, so ``Section`` is
  empty. A column whose header is not an existing Canvas assignment creates one, so import either the exercise
  columns or the total: both would count the work twice in the course grade.
- ``moodle`` (``COURSE/grades-moodle.csv``): Moodle's CSV grade import takes any header row; on its mapping page
  the instructor picks the identifier (``Map from`` a column, ``Map to`` a user field) and the grade item of each
  column. The file has ``First name, Last name, ID number, Email address`` (Moodle's export's names for those
  fields), ``ID number`` being the nbgrader student id (map it to ``useridnumber``, or ``Email address`` to
  ``useremail`` when the gradebook has emails), then one column per grade item.
- ``csv`` (``COURSE/grades.csv``): nbgrader's own ``nbgrader export``, as ``make grades`` always wrote.

A student without a submission gets empty cells in the Canvas and Moodle files (both then leave that grade as it
is, so an extension is not overwritten by a 0), where nbgrader's grades.csv writes 0.

    python -m course.lms --course notebooks --format canvas [--assignment NAME ...] [--to PATH]
"""

import argparse
import csv
import sys
from pathlib import Path

from course.assignment import COURSE
from course.assignments import all_assignments, get_assignment
from course.nbgrader_course import load_course, run_nbgrader

FORMATS = ("csv", "canvas", "moodle")
CANVAS_IDENTITY = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
MOODLE_IDENTITY = ("First name", "Last name", "ID number", "Email address")


def items(assignment):
    """[(column label, points possible, test cell or None for the total)] of one assignment."""
    return [(f"{assignment.name}: {f.short}", assignment.points[f.name], f.test_cell) for f in assignment.functions] \
        + [(f"{assignment.name}: total", assignment.total_points, None)]


def _submission_scores(submission):
    """{test cell: score, None: total} of one gradebook submission (manual scores where set)."""
    scores = {grade.name: grade.score for nb in submission.notebooks for grade in nb.grades}
    scores[None] = max(0.0, submission.score - (submission.late_submission_penalty or 0.0))
    return scores


def gradebook_table(course_root, assignments=None):
    """The scores of every student in the gradebook, one column per exercise and per total.

    Arguments:
    course_root -- the nbgrader course root
    assignments -- Assignments (or names) to export; default: those of the registry the gradebook knows

    Returns:
    (columns, students) -- columns: [(label, points possible)]; students: [{"id", "first_name", "last_name",
    "email", "lms_user_id", "scores": {label: points or None when nothing was submitted}}], by name then id
    """
    from nbgrader.api import Gradebook, MissingEntry

    columns, students = [], []
    with Gradebook(load_course(course_root)[1].db_url) as gb:
        known = {a.name for a in gb.assignments}
        chosen = [get_assignment(a) if isinstance(a, str) else a for a in assignments] if assignments else \
            [a for a in all_assignments() if a.name in known]
        missing = [a.name for a in chosen if a.name not in known]
        if missing:
            raise ValueError(f"the gradebook has no assignment {', '.join(missing)}: release and grade it first")
        columns = [(label, points) for a in chosen for label, points, _ in items(a)]
        for student in sorted(gb.students, key=lambda s: (s.last_name or "", s.first_name or "", s.id)):
            row = {"id": student.id, "first_name": student.first_name or "", "last_name": student.last_name or "",
                   "email": student.email or "", "lms_user_id": getattr(student, "lms_user_id", None) or "",
                   "scores": {}}
            for a in chosen:
                try:
                    scores = _submission_scores(gb.find_submission(a.name, student.id))
                except MissingEntry:
                    scores = {}
                row["scores"].update({label: scores.get(cell) for label, _, cell in items(a)})
            students.append(row)
    return columns, students


def _cell(value):
    return "" if value is None else f"{value:g}"


def canvas_rows(columns, students):
    """The rows of a Canvas Gradebook import: header, Points Possible, one row per student."""
    labels = [label for label, _ in columns]
    rows = [list(CANVAS_IDENTITY) + labels, ["Points Possible", "", "", "", ""] + [f"{p:g}" for _, p in columns]]
    for s in students:
        name = f"{s['last_name']}, {s['first_name']}" if s["last_name"] or s["first_name"] else s["id"]
        rows.append([name, s["lms_user_id"], s["id"], "", ""] + [_cell(s["scores"][label]) for label in labels])
    return rows


def moodle_rows(columns, students):
    """The rows of a Moodle CSV grade import: header, one row per student."""
    labels = [label for label, _ in columns]
    rows = [list(MOODLE_IDENTITY) + labels]
    for s in students:
        rows.append([s["first_name"], s["last_name"], s["id"], s["email"]]
                    + [_cell(s["scores"][label]) for label in labels])
    return rows


def export(course_root, fmt, to=None, assignments=None):
    """Write the grades in one of FORMATS; return the file written (default: COURSE/grades[-FORMAT].csv)."""
    if fmt not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")
    course_root = Path(course_root)
    to = Path(to) if to else course_root / ("grades.csv" if fmt == "csv" else f"grades-{fmt}.csv")
    if fmt == "csv":
        names = [a if isinstance(a, str) else a.name for a in assignments or ()]
        run_nbgrader(course_root, "export", "--to", str(to.resolve()), *[a for n in names for a in ("--assignment", n)])
        return to
    rows = (canvas_rows if fmt == "canvas" else moodle_rows)(*gradebook_table(course_root, assignments))
    to.parent.mkdir(parents=True, exist_ok=True)
    with open(to, "w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(rows)
    return to


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=str(COURSE))
    parser.add_argument("--format", default="csv", choices=FORMATS)
    parser.add_argument("--assignment", action="append", help="an assignment to export (repeat; default: all)")
    parser.add_argument("--to", help="the file to write (default: COURSE/grades.csv or COURSE/grades-FORMAT.csv)")
    args = parser.parse_args(argv)
    print(f"Grades ({args.format}): {export(args.course, args.format, args.to, args.assignment)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
