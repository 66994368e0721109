"""A class on nbgrader: make submissions from the release, autograde them, read scores from the gradebook.

Thin wrappers over nbgrader's own CLI and gradebook API; they exist so that the demo and the tests drive the same
pipeline the instructor runs (`make release`, `make autograde`, ...).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
COURSE = ROOT / "notebooks"


def nbgrader_env():
    """The environment nbgrader runs in: this interpreter's bin/ first on PATH (kernels start `python`, and
    nbgrader calls `alembic` when it creates a gradebook)."""
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.setdefault("MPLBACKEND", "Agg")
    return env


def run_nbgrader(course_root, *args, check=True):
    """Run `nbgrader ARGS` in the course root; return the CompletedProcess (output captured as text)."""
    nbgrader = Path(sys.executable).parent / "nbgrader"
    return subprocess.run([str(nbgrader), *args], cwd=course_root, env=nbgrader_env(), check=check,
                          capture_output=True, text=True)


def copy_course(destination, assignments=None, course=COURSE):
    """Copy a course root (config, header, source and release; no gradebook or submissions) to destination.

    Arguments:
    destination -- an empty or missing folder
    assignments -- names of the assignments to copy (default: all)
    course -- the course root to copy (default: this repository's notebooks/)

    Returns:
    destination as a Path
    """
    destination = Path(destination)
    course = Path(course)
    destination.mkdir(parents=True, exist_ok=True)
    shutil.copy2(course / "nbgrader_config.py", destination / "nbgrader_config.py")
    for stage in ("source", "release"):
        if not (course / stage).is_dir():
            continue
        for item in (course / stage).iterdir():
            if item.is_dir() and (assignments is None or item.name in assignments):
                shutil.copytree(item, destination / stage / item.name, dirs_exist_ok=True)
            elif item.is_file():
                (destination / stage).mkdir(parents=True, exist_ok=True)
                shutil.copy2(item, destination / stage / item.name)
    return destination


def answer_sources(notebook_path, grade_ids=None):
    """{grade_id: source} of the answer cells (nbgrader solution cells) of a notebook."""
    nb = nbformat.read(notebook_path, as_version=4)
    found = {}
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if meta.get("solution") and (grade_ids is None or meta.get("grade_id") in grade_ids):
            found[meta["grade_id"]] = cell.source
    return found


def make_submission(release_path, answers):
    """A student's notebook: the release with some answer cells replaced.

    Arguments:
    release_path -- the released notebook
    answers -- {grade_id: source} for the answer cells the student filled

    Returns:
    nb -- the notebook (nbformat.NotebookNode), outputs cleared as a fresh submission would not need them
    """
    nb = nbformat.read(release_path, as_version=4)
    unknown = set(answers) - {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    if unknown:
        raise KeyError(f"the release has no answer cell(s) {sorted(unknown)}")
    for cell in nb.cells:
        grade_id = cell.metadata.get("nbgrader", {}).get("grade_id")
        if grade_id in answers:
            cell.source = answers[grade_id]
    return nb


def submit(course_root, student, assignment, notebook_name, nb):
    """Place a notebook where nbgrader collects it: submitted/STUDENT/ASSIGNMENT/NOTEBOOK."""
    folder = Path(course_root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, (str, bytes)):
        (folder / notebook_name).write_text(nb if isinstance(nb, str) else nb.decode(), encoding="utf-8")
    else:
        nbformat.write(nb, folder / notebook_name)
    return folder / notebook_name


def gradebook_scores(course_root, assignment):
    """{student: {"total": score, grade cell name: score, ...}} read with nbgrader's gradebook API, from the
    gradebook the course's nbgrader_config.py names (SQLite by default, PostgreSQL through db_url)."""
    from nbgrader.api import Gradebook

    from course.autograde import course_config

    url = course_config(course_root)[1].db_url
    scores = {}
    with Gradebook(url) as gb:
        for submission in gb.assignment_submissions(assignment):
            row = {"total": submission.score, "max": submission.max_score}
            row["comments"] = []
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row[grade.name] = grade.score
                row["comments"] += [c.comment for c in notebook.comments if c.comment]
            scores[submission.student_id] = row
    return scores


def grade_class(course_root, submissions, assignment="regularization", notebook="Regularization.ipynb", jobs=1):
    """Grade a class end to end with nbgrader, in a copy of the course: release, submit, autograde, feedback,
    grades.csv.

    Arguments:
    course_root -- a folder for the copy of the course (created)
    submissions -- objects with `student` and `answers()` (see course.classroom.Submission); an object with a
                   `write(folder, notebook_name)` method writes its own files instead (e.g. a corrupt notebook)
    jobs -- parallel grading workers (course.autograde)

    Returns:
    scores -- {student: {"total", "max", grade cell: points}} from the gradebook
    """
    course_root = copy_course(course_root, assignments=[assignment])
    run_nbgrader(course_root, "generate_assignment", assignment, "--force")
    release = course_root / "release" / assignment / notebook
    for submission in submissions:
        if hasattr(submission, "write"):
            folder = Path(course_root) / "submitted" / submission.student / assignment
            folder.mkdir(parents=True, exist_ok=True)
            submission.write(folder, notebook, release)
        else:
            submit(course_root, submission.student, assignment, notebook,
                   make_submission(release, submission.answers()))
    from course.autograde import autograde

    autograde(course_root, assignment, notebook, jobs=jobs, progress=False)
    run_nbgrader(course_root, "generate_feedback", assignment, "--force")
    run_nbgrader(course_root, "export", "--to", str(Path(course_root) / "grades.csv"))
    return gradebook_scores(course_root, assignment)


def feedback_summary(course_root, student, assignment="regularization", notebook="Regularization.ipynb"):
    """The first thing a student's feedback says: the first failing or partly credited check, in one line (its
    hint, which names the mistake, when it has one)."""
    path = Path(course_root) / "autograded" / student / assignment / notebook
    if not path.is_file():
        return "not graded: no autograded notebook"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        if not cell.metadata.get("nbgrader", {}).get("grade"):
            continue
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                return _one_line(f"{output.ename}: {output.evalue}")
            if output.output_type == "stream" and output.text.startswith("Partial credit"):
                return _one_line(output.text)
    return "all checks passed"


def _one_line(message):
    """The hint of a check's message if it has one, else its first line."""
    if message.startswith("KeyboardInterrupt"):
        return "interrupted: a cell ran past the time limit per cell (an endless loop?) or raised KeyboardInterrupt"
    lines = message.strip().splitlines()
    hints = [line[len("Hint: "):] for line in lines if line.startswith("Hint: ")]
    return hints[0] if hints else lines[0]


def round_trip(destination, assignment, notebook):
    """nbgrader's round trip on a copy of the course: release, then autograde two students with nbgrader's own CLI:
    'reference' (the answer cells of the source notebook) and 'untouched' (the release as handed out).

    Returns:
    scores -- gradebook_scores of the copy
    """
    course = copy_course(destination, assignments=[assignment])
    run_nbgrader(course, "generate_assignment", assignment, "--force")  # also records the assignment in the gradebook
    release = course / "release" / assignment / notebook
    answers = answer_sources(course / "source" / assignment / notebook)
    submit(course, "reference", assignment, notebook, make_submission(release, answers))
    submit(course, "untouched", assignment, notebook, make_submission(release, {}))
    run_nbgrader(course, "autograde", assignment, "--force")
    return gradebook_scores(course, assignment)
