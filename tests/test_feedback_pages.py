"""Feedback pages written in several processes are nbgrader's own: the same bytes as `nbgrader generate_feedback`,
for every student of the class, and a clear error (nothing half-written reported as done) when nbgrader fails."""

import shutil

from course.feedback_pages import main
from course.nbgrader_course import run_nbgrader

#: Students of the shared class whose pages nbgrader writes (a notebook nbgrader could not run, the kernel killer's,
#: gets the grading command's own page instead).
STUDENTS = ("reference", "untouched", "mistakes-1", "patch-numpy", "flood")


def _pages(course, assignment):
    return {p.relative_to(course / "feedback"): p.read_bytes() for p in (course / "feedback").glob("*/*/*.html")
            if p.parts[-3] in STUDENTS and p.parts[-2] == assignment.name}


def test_pages_written_by_two_processes_are_nbgraders_own(graded, tmp_path):
    """The shared class's pages were written by generate_feedback with two processes (course.pipeline)."""
    assignment, course, scores = graded
    ours = _pages(course, assignment)
    assert len(ours) == len(STUDENTS)
    copy = tmp_path / "course"

    def left_out(folder, names):  # the feedback, and every other student's autograded notebook
        others = {n for n in names if n not in STUDENTS} if folder == str(course / "autograded") else set()
        return {"feedback"} | others

    shutil.copytree(course, copy, ignore=left_out)
    run_nbgrader(copy, "generate_feedback", assignment.name, "--force")  # one nbgrader run for the five students
    assert _pages(copy, assignment) == ours


def test_every_autograded_student_gets_a_page_whatever_the_number_of_processes(graded, tmp_path, capsys):
    """`make feedback JOBS=3` runs this command."""
    assignment, course, scores = graded
    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("feedback"))
    graded_students = sorted(p.parent.name for p in (copy / "autograded").glob(f"*/{assignment.name}"))
    assert main(["--course", str(copy), "--assignment", assignment.name, "--jobs", "3"]) == 0
    assert f"feedback of {len(graded_students)} students" in capsys.readouterr().out
    assert sorted(p.parts[-3] for p in (copy / "feedback").glob(f"*/{assignment.name}/*.html")) == graded_students


def test_a_failure_of_nbgrader_is_reported_with_its_log(graded, tmp_path, capsys):
    """A gradebook that nbgrader cannot open: the command says so, with nbgrader's reason, and exits 1."""
    assignment, course, _ = graded
    copy = tmp_path / "course"
    shutil.copytree(course, copy, ignore=shutil.ignore_patterns("feedback"))
    (copy / "gradebook.db").write_bytes(b"not a database")
    assert main(["--course", str(copy), "--assignment", assignment.name, "--jobs", "2"]) == 1
    err = capsys.readouterr().err
    assert f"nbgrader generate_feedback {assignment.name} failed for" in err
    assert "file is not a database" in err  # nbgrader's own reason, from its log
