"""What an instructor reads after grading, from one graded class (the demo class, with its attempts): the class
report (course.report), the LMS exports (course.lms) and the regrade's diff (course.regrade).

The class is graded once for the module; the tests that write to a gradebook work on copies of the graded course.
"""

import base64
import csv
import hashlib
import json
import re
import shutil
import statistics

import pytest

from course.assignments import get_assignment
from course.classroom import demo_class
from course.lms import CANVAS_IDENTITY, MOODLE_IDENTITY, export
from course.nbgrader_course import gradebook_scores, load_course
from course.pipeline import grade_class
from course.regrade import regrade, stored_grades
from course.report import FULL_MARKS, NOT_ATTEMPTED, read_notes, summarize, write_report

ASSIGNMENT = get_assignment("regularization")
CLASS = demo_class(ASSIGNMENT, attempts=True)
TAMPER_CELL = ASSIGNMENT.function(ASSIGNMENT.tamper.function).test_cell


@pytest.fixture(scope="module")
def graded(tmp_path_factory, quick_course):
    """(course root, gradebook scores, report html path, report json) of the demo class, graded once (in the
    tests' course copy, whose short cell time limit the infinite-loop attempt meets in seconds)."""
    root = tmp_path_factory.mktemp("report") / "course"
    scores = grade_class(root, CLASS, ASSIGNMENT, jobs=2, source_course=quick_course)
    page, data = write_report(root, ASSIGNMENT)
    return root, scores, page, json.loads(data.read_text())


def _copy(graded, tmp_path):
    """A copy of the graded course (its SQLite gradebook included) to write to."""
    return shutil.copytree(graded[0], tmp_path / "course")


def _grade(gb, student, cell):
    return gb.find_grade(cell, ASSIGNMENT.notebook[:-len(".ipynb")], ASSIGNMENT.name, student)


def _gradebook(root):
    from nbgrader.api import Gradebook

    return Gradebook(load_course(root)[1].db_url)


# -- the class report ----------------------------------------------------------------------------------------------
def test_the_report_is_one_html_file_with_its_figures_inline(graded):
    root, _, page, _ = graded
    assert sorted(p.name for p in (root / "reports").iterdir()) == [f"{ASSIGNMENT.name}.html",
                                                                     f"{ASSIGNMENT.name}.json"]
    text = page.read_text()
    sources = re.findall(r"""\b(?:src|href)=['"]([^'"]*)""", text)
    assert len(sources) >= 3 and all(s.startswith("data:image/png;base64,") for s in sources), sources[:3]
    for source in sources:
        assert base64.b64decode(source.split(",", 1)[1])[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_report_numbers_are_the_gradebooks(graded):
    _, scores, _, report = graded
    assert report["class_size"] == len(CLASS) == len(scores)
    for student, row in scores.items():
        assert report["scores"][student]["total"] == pytest.approx(row["total"])
        for f in ASSIGNMENT.functions:
            assert report["scores"][student][f.name] == pytest.approx(row[f.test_cell]), (student, f.name)
    total = report["distribution"]["total"]
    assert total["mean"] == pytest.approx(statistics.fmean(r["total"] for r in scores.values()))
    assert sum(total["histogram"].values()) == len(CLASS)
    for f in ASSIGNMENT.functions:
        per = report["distribution"]["per_exercise"][f.name]
        assert per["full_marks"] == sum(r[f.test_cell] == ASSIGNMENT.points[f.name] for r in scores.values())


def test_each_mistake_counts_the_students_whose_submission_makes_it(graded):
    report = graded[3]
    assert [m["name"] for m in report["mistakes"]] == [v.name for v in ASSIGNMENT.mistakes]
    for mistake in report["mistakes"]:
        made_it = sorted(s.student for s in CLASS if mistake["name"] in s.variants)
        assert mistake["who"] == made_it and mistake["students"] == len(made_it), mistake["name"]
        assert mistake["share"] == pytest.approx(len(made_it) / len(CLASS))
        variant = ASSIGNMENT.variant(mistake["name"])
        assert (mistake["description"], mistake["credit"]) == (variant.description, variant.credit)


def test_the_report_names_the_tampering_caught_and_the_notebook_that_did_not_run(graded):
    report = graded[3]
    assert {(r["student"], r["exercise"]) for r in report["tampering_caught"]} == \
        {("patch-numpy", ASSIGNMENT.tamper.function)}
    assert [r["student"] for r in report["failed_to_run"]] == ["kernel-killer"]
    assert report["failed_to_run"][0]["why"]


def test_students_are_listed_per_exercise_by_outcome(graded):
    report = graded[3]
    for f in ASSIGNMENT.functions:
        groups = report["students_by_exercise"][f.name]
        assert "reference" in groups[FULL_MARKS] and groups[NOT_ATTEMPTED] == ["untouched"]
        for s in CLASS:
            for name in s.variants:
                if ASSIGNMENT.variant(name) in ASSIGNMENT.mistakes and ASSIGNMENT.variant(name).grade_id == f.name:
                    assert groups[name] == [s.student]


def test_an_exercise_is_unattempted_only_when_every_submission_left_it_as_released(graded):
    root, scores, _, _ = graded
    notes = read_notes(root, ASSIGNMENT.name)
    alone = summarize(ASSIGNMENT, {"untouched": scores["untouched"]}, {"untouched": notes["untouched"]})
    assert alone["not_attempted_by_anyone"] == list(ASSIGNMENT.function_names)
    assert graded[3]["not_attempted_by_anyone"] == []


# -- the LMS exports -----------------------------------------------------------------------------------------------
def _read(path):
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _labels():
    return [f"{ASSIGNMENT.name}: {f.short}" for f in ASSIGNMENT.functions] + [f"{ASSIGNMENT.name}: total"]


def _expected_cells(row):
    return [pytest.approx(row[f.test_cell]) for f in ASSIGNMENT.functions] + [pytest.approx(row["total"])]


def test_the_canvas_export_has_canvas_columns_a_points_possible_row_and_the_gradebook_scores(graded, tmp_path):
    _, scores, _, _ = graded
    rows = _read(export(graded[0], "canvas", to=tmp_path / "canvas.csv"))
    assert rows[0] == list(CANVAS_IDENTITY) + _labels()
    assert rows[1][:len(CANVAS_IDENTITY)] == ["Points Possible", "", "", "", ""]
    assert [float(p) for p in rows[1][len(CANVAS_IDENTITY):]] == \
        [ASSIGNMENT.points[f.name] for f in ASSIGNMENT.functions] + [ASSIGNMENT.total_points]
    by_id = {row[2]: row for row in rows[2:]}
    assert set(by_id) == set(scores)
    for student, row in scores.items():
        assert [float(c) for c in by_id[student][len(CANVAS_IDENTITY):]] == _expected_cells(row), student


def test_the_moodle_export_has_an_identifier_column_and_one_column_per_grade_item(graded, tmp_path):
    _, scores, _, _ = graded
    rows = _read(export(graded[0], "moodle", to=tmp_path / "moodle.csv"))
    assert rows[0] == list(MOODLE_IDENTITY) + _labels()
    by_id = {row[2]: row for row in rows[1:]}
    assert set(by_id) == set(scores)
    for student, row in scores.items():
        assert [float(c) for c in by_id[student][len(MOODLE_IDENTITY):]] == _expected_cells(row), student


def test_the_exports_use_the_gradebooks_names_and_leave_a_missing_submission_empty(graded, tmp_path):
    root = _copy(graded, tmp_path)
    with _gradebook(root) as gb:
        gb.update_or_create_student("reference", first_name="Ada", last_name="Lovelace", email="ada@example.org")
        gb.update_or_create_student("absent", first_name="Alan", last_name="Turing")
    canvas = {row[2]: row for row in _read(export(root, "canvas"))[2:]}
    moodle = {row[2]: row for row in _read(export(root, "moodle"))[1:]}
    assert canvas["reference"][0] == "Lovelace, Ada" and canvas["untouched"][0] == "untouched"
    assert moodle["reference"][:4] == ["Ada", "Lovelace", "reference", "ada@example.org"]
    assert canvas["absent"][len(CANVAS_IDENTITY):] == [""] * len(_labels())
    assert moodle["absent"][len(MOODLE_IDENTITY):] == [""] * len(_labels())


def test_the_csv_format_is_nbgraders_own_export(graded, tmp_path):
    rows = _read(export(graded[0], "csv", to=tmp_path / "grades.csv"))
    assert rows[0][:4] == ["assignment", "duedate", "timestamp", "student_id"]
    assert {row[3] for row in rows[1:]} == set(graded[1])


# -- the regrade ---------------------------------------------------------------------------------------------------
def _fingerprint(root):
    """What a regrade may change in a course: the gradebook's bytes and the grading notes."""
    notes = sorted((root / "grading").rglob("*.json"))
    return hashlib.sha256((root / "gradebook.db").read_bytes()).hexdigest(), [p.read_bytes() for p in notes]


def test_a_dry_run_with_an_unchanged_grader_reports_no_change_and_writes_nothing(graded, tmp_path):
    root = _copy(graded, tmp_path)
    before, stored = _fingerprint(root), stored_grades(root, ASSIGNMENT.name)
    changes, path = regrade(root, ASSIGNMENT, jobs=2, dry_run=True, students=["mistakes-2", "patch-numpy"])
    assert changes == []
    assert _read(path) == [["student", "test_cell", "old", "new", "why", "manual_score", "note"]]
    assert _fingerprint(root) == before and stored_grades(root, ASSIGNMENT.name) == stored


@pytest.fixture(scope="module")
def regraded(graded, tmp_path_factory):
    """A copy of the graded course where an older grader had scored two cells differently (mistakes-2's first
    exercise 0, patch-numpy's tampered one full) and the instructor set a manual score on patch-numpy's; then
    regraded (and committed)."""
    root = shutil.copytree(graded[0], tmp_path_factory.mktemp("regrade") / "course")
    mistake = ASSIGNMENT.variant(next(s for s in CLASS if s.student == "mistakes-2").variants[0])
    cell = ASSIGNMENT.function(mistake.grade_id).test_cell
    with _gradebook(root) as gb:
        _grade(gb, "mistakes-2", cell).auto_score = 0.0
        tampered = _grade(gb, "patch-numpy", TAMPER_CELL)
        tampered.auto_score, tampered.manual_score = ASSIGNMENT.points[ASSIGNMENT.tamper.function], 1.5
        gb.db.commit()
    changes, path = regrade(root, ASSIGNMENT, jobs=2, students=["mistakes-2", "patch-numpy"])
    return root, cell, mistake, {(c.student, c.cell): c for c in changes}, _read(path)


def test_a_regrade_commits_a_changed_score_and_says_why(regraded):
    root, cell, mistake, changes, rows = regraded
    change = changes[("mistakes-2", cell)]
    earned = ASSIGNMENT.points[mistake.grade_id] * mistake.credit
    assert (change.old, change.new, change.manual) == (0.0, pytest.approx(earned), None)
    assert mistake.description in change.why
    assert ["mistakes-2", cell, "0", f"{earned:g}"] in [row[:4] for row in rows]
    assert gradebook_scores(root, ASSIGNMENT.name)["mistakes-2"][cell] == pytest.approx(earned)


def test_a_regrade_keeps_the_instructors_manual_score_and_says_it_hides_the_change(regraded):
    root, _, _, changes, rows = regraded
    assert set(changes) == {("mistakes-2", regraded[1]), ("patch-numpy", TAMPER_CELL)}
    change = changes[("patch-numpy", TAMPER_CELL)]
    assert (change.new, change.manual) == (0.0, 1.5) and "manual score 1.5 stands" in change.note
    assert any(row[0] == "patch-numpy" and row[5] == "1.5" and "stands" in row[6] for row in rows)
    with _gradebook(root) as gb:
        grade = _grade(gb, "patch-numpy", TAMPER_CELL)
        assert (grade.auto_score, grade.manual_score, grade.score) == (0.0, 1.5, 1.5)
