"""The demo pipeline: a whole class through nbgrader in a copy of the course (release, submit, autograde,
feedback, export), and nbgrader's own round trip. The demo and the tests drive it (instructor side, top layer).
"""

import re
from pathlib import Path

import nbformat

from course.autograde import autograde
from course.feedback_pages import generate_feedback
from course.nbgrader_course import (answer_sources, api_for, copy_course, export_grades, gradebook_scores,
                                    make_submission, run_nbgrader, submit)
from course.notebooks import stream_text
from testCases.feedback import PARTIAL_CREDIT


def grade_class(course_root, submissions, assignment, jobs=1, sandboxed=True, source_course=None, scheduler=None,
                feedback=True):
    """Grade a class end to end with nbgrader's API, in a copy of the course: release, submit, autograde, feedback,
    grades.csv.

    Arguments:
    course_root -- a folder for the copy of the course (created)
    submissions -- objects with `student` and `write(folder, assignment)` (course.classroom.Submission)
    assignment -- the Assignment
    jobs -- parallel grading workers (course.autograde)
    sandboxed -- grade in the OS sandbox (False: the explicit opt-out)
    scheduler -- None (a process pool of `jobs` workers), "local" or a Dask scheduler address (course.backends)
    feedback -- also write every student's feedback page (nbgrader's generate_feedback, in `jobs` processes)

    Returns:
    scores -- {student: {"total", "max", "comments", test cell: points}} from the gradebook
    """
    course_root = copy_course(course_root, source_course or assignment.course, assignments=[assignment.name])
    api = api_for(course_root)  # in this process: each `nbgrader` command would start Python and import nbgrader
    _succeeded(api.generate_assignment(assignment.name, force=True), "generate_assignment", assignment)
    for s in submissions:
        folder = Path(course_root) / "submitted" / s.student / assignment.name
        folder.mkdir(parents=True, exist_ok=True)
        s.write(folder, assignment)
    autograde(course_root, assignment, jobs=jobs, progress=False, sandboxed=sandboxed, scheduler=scheduler)
    if feedback:
        generate_feedback(course_root, assignment.name, jobs if scheduler is None else 1)
    export_grades(course_root, Path(course_root) / "grades.csv")
    return gradebook_scores(course_root, assignment.name)


def _succeeded(outcome, step, assignment):
    """An NbGraderAPI call's outcome, or RuntimeError with nbgrader's own log."""
    if not outcome.get("success"):
        raise RuntimeError(f"nbgrader {step} {assignment.name} failed: {outcome.get('error', '')[-3000:]}"
                           f"{outcome.get('log', '')[-3000:]}")
    return outcome


def feedback_summary(course_root, student, assignment):
    """The first thing a student's feedback says: the first failing or partly credited check, in one line (its
    hint, which names the mistake, when it has one)."""
    path = Path(course_root) / "autograded" / student / assignment.name / assignment.notebook
    if not path.is_file():
        return "not graded: no autograded notebook"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        errors = [o for o in cell.get("outputs", []) if o.output_type == "error"]
        if errors:
            return _one_line(f"{errors[0].ename}: {errors[0].evalue}")
        partial = _from_line_starting(stream_text(cell), PARTIAL_CREDIT)
        if partial:
            return _one_line(partial)
    return "all checks passed"


def _from_line_starting(text, start):
    """`text` from its first line that starts with `start` to the end, or ""."""
    found = re.search(rf"^{re.escape(start)}", text, flags=re.MULTILINE)
    return text[found.start():] if found else ""


def _one_line(message):
    """The hint of a check's message if it has one, else its first line."""
    if message.startswith("KeyboardInterrupt"):
        return "interrupted: a cell ran past the time limit per cell (an endless loop?) or raised KeyboardInterrupt"
    lines = message.strip().splitlines()
    hints = [line[len("Hint: "):] for line in lines if line.startswith("Hint: ")]
    return hints[0] if hints else lines[0]


def round_trip(destination, assignment):
    """nbgrader's round trip on a copy of the course: release, then autograde two students with nbgrader's own CLI:
    'reference' (the answer cells of the source notebook) and 'untouched' (the release as handed out).

    Returns:
    scores -- gradebook_scores of the copy
    """
    course = copy_course(destination, assignment.course, assignments=[assignment.name])
    run_nbgrader(course, "generate_assignment", assignment.name, "--force")
    release = course / "release" / assignment.name / assignment.notebook
    answers = answer_sources(course / "source" / assignment.name / assignment.notebook)
    submit(course, "reference", assignment.name, assignment.notebook, make_submission(release, answers))
    submit(course, "untouched", assignment.name, assignment.notebook, make_submission(release, {}))
    run_nbgrader(course, "autograde", assignment.name, "--force")
    return gradebook_scores(course, assignment.name)
