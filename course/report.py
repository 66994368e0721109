"""`make report [ASSIGNMENT=...]`: the class report of one assignment, as one self-contained HTML page and as JSON.

Instructor side, the top layer. It reads two things the grading command leaves behind and changes neither:
the gradebook (through nbgrader's API, so SQLite and PostgreSQL alike: the scores, manual ones included) and the
grading notes ``COURSE/grading/ASSIGNMENT/STUDENT.json`` (per graded function nbgrader's in-kernel points, the
verified points, the verifier's reason and the catalogued mistake it recognised). It writes
``COURSE/reports/ASSIGNMENT.html`` (figures embedded as base64 PNG, drawn with matplotlib's Agg backend; no file
beside it) and ``COURSE/reports/ASSIGNMENT.json`` (the same numbers):

- the score distribution, overall and per exercise (from the gradebook);
- each catalogued mistake (the assignment's catalogue: description, credit) with how many students made it and
  their share of the class (from the notes' ``mistake``);
- the exercises nobody attempted: every submission scores 0 there and its answer still raises
  NotImplementedError (the release's stub) or has no answer cell;
- the submissions nbgrader could not run to the end, and why (the notes);
- the tampering caught: exercises where the verification lowered nbgrader's in-kernel score;
- the points lost without a catalogued mistake, with the verifier's reason (candidates for the catalogue);
- per exercise, the students (ids only) by outcome: full marks, each mistake, not attempted, tampering, other.

    python -m course.report --course notebooks --assignment NAME
"""

import argparse
import base64
import html
import io
import json
import statistics
import sys
from collections import Counter
from pathlib import Path

from course.assignment import COURSE
from course.assignments import get_assignment
from course.autograde import NOTES_FOLDER
from course.nbgrader_course import gradebook_scores

#: Where the reports go, under the course root.
REPORTS_FOLDER = "reports"
#: The outcome labels of an exercise, besides the catalogued mistakes' names.
FULL_MARKS, NOT_ATTEMPTED, TAMPERING, OTHER = "full marks", "not attempted", "tampering caught", "other"
#: What the verifier's reason says when the answer was left as released (the stub raises NotImplementedError)
#: or the answer cell is gone: then the exercise was not attempted.
UNATTEMPTED_SIGNS = ("NotImplementedError", "answer cell is missing")
_EPS = 1e-9


# -- reading -------------------------------------------------------------------------------------------------------
def read_notes(course_root, assignment_name):
    """{student: grading notes} of every submission the grading command graded (COURSE/grading/ASSIGNMENT/)."""
    folder = Path(course_root) / NOTES_FOLDER / assignment_name
    return {path.stem: json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))}


# -- the numbers ---------------------------------------------------------------------------------------------------
def _histogram(values):
    """{score as text: how many}, in increasing score order."""
    return {f"{value:g}": count for value, count in sorted(Counter(values).items())}


def _stats(values, maximum):
    values = [float(v) for v in values]
    return {"max": maximum, "mean": statistics.fmean(values) if values else None,
            "median": statistics.median(values) if values else None,
            "lowest": min(values) if values else None, "highest": max(values) if values else None,
            "full_marks": sum(v >= maximum - _EPS for v in values), "zero": sum(v <= _EPS for v in values),
            "histogram": _histogram(values)}


def unattempted(entry):
    """Whether one exercise's notes say it was left as released: no points, and its answer raises
    NotImplementedError (or is missing)."""
    return entry["final"] <= _EPS and any(sign in (entry.get("reason") or "") for sign in UNATTEMPTED_SIGNS)


def tampered(entry):
    """Whether the verification lowered nbgrader's in-kernel score of one exercise."""
    return entry.get("in_kernel") is not None and entry["final"] < entry["in_kernel"] - _EPS


def outcomes(entry, points):
    """The outcome labels of one exercise of one submission (a mistake can come with tampering)."""
    labels = [entry["mistake"]] if entry.get("mistake") else []
    if tampered(entry):
        labels.append(TAMPERING)
    if entry["final"] >= points - _EPS:
        labels.append(FULL_MARKS)
    elif unattempted(entry):
        labels.append(NOT_ATTEMPTED)
    elif not labels:
        labels.append(OTHER)
    return labels


def by_exercise(assignment, notes):
    """{function: {outcome: [students]}}: full marks, each catalogued mistake (even when nobody made it), not
    attempted, tampering caught, other; students without grading notes are left out."""
    table = {}
    for f in assignment.functions:
        groups = {FULL_MARKS: []}
        groups.update({v.name: [] for v in assignment.mistakes if v.grade_id == f.name})
        groups.update({NOT_ATTEMPTED: [], TAMPERING: [], OTHER: []})
        for student, note in sorted(notes.items()):
            entry = note["functions"].get(f.name)
            for label in outcomes(entry, assignment.points[f.name]) if entry else ():
                groups.setdefault(label, []).append(student)
        table[f.name] = groups
    return table


def mistake_counts(assignment, exercises, class_size):
    """[{name, exercise, description, credit, students, share, who}] for every catalogued mistake."""
    rows = []
    for v in assignment.mistakes:
        who = exercises[v.grade_id][v.name]
        rows.append({"name": v.name, "exercise": v.grade_id, "description": v.description, "credit": v.credit,
                     "students": len(who), "share": len(who) / class_size if class_size else 0.0, "who": who})
    return rows


def incidents(assignment, notes):
    """(failed to run, tampering caught, points lost without a catalogued mistake), from the notes."""
    failed, tampering, uncatalogued = [], [], []
    for student, note in sorted(notes.items()):
        if not note.get("ran_to_the_end", True):
            failed.append({"student": student, "why": note.get("notes", [])})
        for f in assignment.functions:
            entry = note["functions"].get(f.name)
            if entry is None:
                continue
            row = {"student": student, "exercise": f.name, "in_kernel": entry.get("in_kernel"),
                   "final": entry["final"], "points": assignment.points[f.name], "reason": entry.get("reason", "")}
            if tampered(entry):
                tampering.append(row)
            if OTHER in outcomes(entry, assignment.points[f.name]):
                uncatalogued.append(row)
    return failed, tampering, uncatalogued


def summarize(assignment, scores, notes):
    """The report's numbers, as plain data (what the JSON holds).

    Arguments:
    assignment -- the Assignment
    scores -- {student: {"total", "max", test cell: points}} (course.nbgrader_course.gradebook_scores)
    notes -- {student: grading notes} (read_notes)
    """
    students = sorted(scores)
    notes = {s: n for s, n in notes.items() if s in scores}  # notes of a submission since removed are not counted
    exercises = by_exercise(assignment, notes)
    failed, tampering, uncatalogued = incidents(assignment, notes)
    nobody = [f.name for f in assignment.functions if students and all(
        (scores[s].get(f.test_cell) or 0.0) <= _EPS and s in notes and f.name in notes[s]["functions"]
        and unattempted(notes[s]["functions"][f.name]) for s in students)]
    return {
        "assignment": assignment.name, "title": assignment.title, "class_size": len(students),
        "total_points": assignment.total_points,
        "exercises": [{"name": f.name, "short": f.short, "test_cell": f.test_cell,
                       "points": assignment.points[f.name]} for f in assignment.functions],
        "distribution": {"total": _stats([scores[s]["total"] for s in students], assignment.total_points),
                         "per_exercise": {f.name: _stats([scores[s].get(f.test_cell) or 0.0 for s in students],
                                                         assignment.points[f.name])
                                          for f in assignment.functions}},
        "mistakes": mistake_counts(assignment, exercises, len(students)),
        "not_attempted_by_anyone": nobody,
        "failed_to_run": failed, "tampering_caught": tampering, "lost_points_uncatalogued": uncatalogued,
        "students_by_exercise": exercises,
        "without_grading_notes": [s for s in students if s not in notes],
        "scores": {s: {"total": scores[s]["total"], **{f.name: scores[s].get(f.test_cell)
                                                       for f in assignment.functions}} for s in students},
    }


# -- the figures ---------------------------------------------------------------------------------------------------
def _png(fig):
    """A matplotlib figure as a data: URI (base64 PNG); the figure is closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _bars(ax, histogram, maximum, xlabel):
    import matplotlib.ticker

    values = [float(k) for k in histogram]
    width = max(maximum, 1) / 24
    ax.bar(values, list(histogram.values()), width=width, color="#3b6ea8")
    ax.set_xlim(-maximum * 0.05 - width, maximum * 1.05 + width)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))


def figures(summary):
    """{name: data URI} of the report's figures: the totals, each exercise's points, the mistakes made."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = {}
    fig, ax = plt.subplots(figsize=(7, 3.2))
    _bars(ax, summary["distribution"]["total"]["histogram"], summary["total_points"],
          f"total score (out of {summary['total_points']:g})")
    ax.set_title(f"{summary['title']}: {summary['class_size']} submissions", fontsize=9)
    fig.tight_layout()
    out["total"] = _png(fig)
    exercises = summary["exercises"]
    fig, axes = plt.subplots(1, len(exercises), figsize=(3 * len(exercises), 2.8), squeeze=False)
    for ax, exercise in zip(axes[0], exercises):
        _bars(ax, summary["distribution"]["per_exercise"][exercise["name"]]["histogram"], exercise["points"],
              f"points (out of {exercise['points']:g})")
        ax.set_title(exercise["short"], fontsize=9)
    fig.tight_layout()
    out["per_exercise"] = _png(fig)
    made = [m for m in summary["mistakes"] if m["students"]]
    if made:
        fig, ax = plt.subplots(figsize=(7, 0.8 + 0.28 * len(made)))
        ax.barh([m["name"] for m in made][::-1], [m["students"] for m in made][::-1], color="#a8553b")
        ax.set_xlabel("students")
        ax.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
        fig.tight_layout()
        out["mistakes"] = _png(fig)
    return out


# -- the page ------------------------------------------------------------------------------------------------------
_CSS = ("body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;color:#222}"
        "table{border-collapse:collapse;margin:.5em 0 1.5em}td,th{border:1px solid #ccc;padding:3px 8px;"
        "text-align:left;vertical-align:top}th{background:#f0f0f0}td.n{text-align:right}img{max-width:100%}"
        "p.none{color:#666;font-style:italic}")


def _e(value):
    return html.escape(str(value))


def _table(header, rows, numeric=()):
    """An HTML table; the columns whose index is in `numeric` are right-aligned."""
    head = "".join(f"<th>{_e(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td class='n'>{_e(c)}</td>" if i in numeric else f"<td>{_e(c)}</td>"
                                    for i, c in enumerate(row)) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


def _section(title, content, empty="none"):
    return f"<h2>{_e(title)}</h2>" + (content or f"<p class='none'>{_e(empty)}</p>")


def _num(value):
    return "" if value is None else f"{value:.3g}"


def _distribution_html(summary, images):
    total = summary["distribution"]["total"]
    rows = [("total", f"{summary['total_points']:g}", _num(total["mean"]), _num(total["median"]),
             total["full_marks"], total["zero"])]
    rows += [(e["short"], f"{e['points']:g}", _num(d["mean"]), _num(d["median"]), d["full_marks"], d["zero"])
             for e in summary["exercises"] for d in [summary["distribution"]["per_exercise"][e["name"]]]]
    return (f"<img alt='histogram of the total scores' src='{images['total']}'>"
            + _table(("", "points", "mean", "median", "full marks", "zero"), rows, numeric=(1, 2, 3, 4, 5))
            + f"<img alt='histograms of the points per exercise' src='{images['per_exercise']}'>")


def _mistakes_html(summary, images):
    shorts = {e["name"]: e["short"] for e in summary["exercises"]}
    rows = [(shorts[m["exercise"]], m["name"], m["description"], f"{m['credit']:g}", m["students"],
             f"{100 * m['share']:.0f}%") for m in summary["mistakes"]]
    image = f"<img alt='students per mistake' src='{images['mistakes']}'>" if "mistakes" in images else ""
    return image + _table(("exercise", "mistake", "description", "credit", "students", "share"), rows,
                          numeric=(3, 4, 5))


def _incidents_html(summary):
    shorts = {e["name"]: e["short"] for e in summary["exercises"]}
    points = (lambda r: f"{'not run' if r['in_kernel'] is None else _num(r['in_kernel'])} -> {r['final']:g} "
                        f"of {r['points']:g}")
    return {
        "failed": _table(("student", "why"), [(r["student"], " ".join(r["why"])) for r in summary["failed_to_run"]])
        if summary["failed_to_run"] else "",
        "tampering": _table(("student", "exercise", "in kernel -> verified", "why"),
                            [(r["student"], shorts[r["exercise"]], points(r), r["reason"])
                             for r in summary["tampering_caught"]]) if summary["tampering_caught"] else "",
        "uncatalogued": _table(("student", "exercise", "in kernel -> verified", "why"),
                               [(r["student"], shorts[r["exercise"]], points(r), r["reason"])
                                for r in summary["lost_points_uncatalogued"]])
        if summary["lost_points_uncatalogued"] else "",
    }


def _students_html(summary):
    parts = []
    for exercise in summary["exercises"]:
        groups = summary["students_by_exercise"][exercise["name"]]
        rows = [(label, len(who), ", ".join(who)) for label, who in groups.items() if who]
        parts.append(f"<h3>{_e(exercise['short'])} ({_e(exercise['name'])})</h3>"
                     + _table(("outcome", "students", "who"), rows, numeric=(1,)))
    return "".join(parts)


def render_html(summary, images):
    """The report page: one HTML document, its figures inline (data: URIs)."""
    total = summary["distribution"]["total"]
    nobody = ", ".join(summary["not_attempted_by_anyone"])
    incidents_ = _incidents_html(summary)
    lead = (f"<p>{summary['class_size']} submissions; mean {_num(total['mean'])}, median {_num(total['median'])} "
            f"of {summary['total_points']:g} points.</p>")
    if summary["without_grading_notes"]:
        lead += (f"<p>No grading notes (graded before the notes existed?): "
                 f"{_e(', '.join(summary['without_grading_notes']))}</p>")
    body = (f"<h1>{_e(summary['title'])}</h1>{lead}"
            + _section("Score distribution", _distribution_html(summary, images))
            + _section("Catalogued mistakes", _mistakes_html(summary, images))
            + _section("Exercises nobody attempted", _e(nobody))
            + _section("Submissions that could not be run to the end", incidents_["failed"])
            + _section("Tampering caught (the verification lowered nbgrader's score)", incidents_["tampering"])
            + _section("Points lost without a catalogued mistake", incidents_["uncatalogued"])
            + _section("Students by exercise and outcome", _students_html(summary)))
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Class report: {_e(summary['assignment'])}"
            f"</title><style>{_CSS}</style></head><body>{body}</body></html>")


def write_report(course_root, assignment):
    """Write COURSE/reports/ASSIGNMENT.html and .json from the gradebook and the grading notes.

    Arguments:
    course_root -- the nbgrader course root
    assignment -- an Assignment or its name

    Returns:
    (html path, json path)
    """
    assignment = get_assignment(assignment) if isinstance(assignment, str) else assignment
    summary = summarize(assignment, gradebook_scores(course_root, assignment.name),
                        read_notes(course_root, assignment.name))
    folder = Path(course_root) / REPORTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    page, data = folder / f"{assignment.name}.html", folder / f"{assignment.name}.json"
    page.write_text(render_html(summary, figures(summary)))
    data.write_text(json.dumps(summary, indent=1))
    return page, data


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=str(COURSE))
    parser.add_argument("--assignment", default="regularization")
    args = parser.parse_args(argv)
    page, data = write_report(args.course, args.assignment)
    print(f"Class report: {page}\nIts numbers: {data}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
