"""The nbgrader layer: the course's configuration, course copies, submissions, and scores read from a gradebook.

The lowest layer of the instructor side (the grading command and the demo build on it; it imports neither).
Configuration is loaded by nbgrader's own application machinery, from the course root's ``nbgrader_config.py``;
gradebooks are read through nbgrader's API, so SQLite and PostgreSQL (``CourseDirectory.db_url``) work alike.
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat


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


def load_course(course_root, **overrides):
    """nbgrader's configuration of a course root, loaded as nbgrader's own apps load it.

    Arguments:
    course_root -- the folder holding nbgrader_config.py
    overrides -- CourseDirectory settings to force (e.g. db_url for a private gradebook)

    Returns:
    (config, coursedir) -- the traitlets Config and nbgrader's CourseDirectory
    """
    from nbgrader.apps.baseapp import NbGrader

    from course.nbgrader_tuning import create_gradebooks_in_process

    create_gradebooks_in_process()  # every in-process use of nbgrader's API starts here

    class CourseApp(NbGrader):
        load_cwd_config = False  # the course root's config only, wherever the grader was started

        def init_syspath(self):  # nbgrader puts the cwd on sys.path; the grader must not import from there
            pass

    app = CourseApp()
    app.log.setLevel("ERROR")
    app.initialize([], root=str(Path(course_root).resolve()))
    config = app.config
    for key, value in overrides.items():
        setattr(config.CourseDirectory, key, value)
        setattr(app.coursedir, key, value)
    return config, app.coursedir


def api_for(course_root, **overrides):
    """nbgrader's NbGraderAPI on a course root (see load_course for the overrides)."""
    from nbgrader.apps import NbGraderAPI

    config, coursedir = load_course(course_root, **overrides)
    api = NbGraderAPI(coursedir=coursedir, config=config)
    api.log.setLevel("CRITICAL")
    return api


def private_api(scratch):
    """nbgrader's API on a private copy of a course, with its own SQLite gradebook (never the course's own)."""
    return api_for(scratch, root=str(scratch), db_url=f"sqlite:///{Path(scratch) / 'gradebook.db'}")


def copy_course(destination, course, assignments=None):
    """Copy a course root (config, header, source and release; no gradebook or submissions) to destination.

    Arguments:
    destination -- an empty or missing folder
    course -- the course root to copy
    assignments -- names of the assignments to copy (default: all)

    Returns:
    destination as a Path
    """
    destination, course = Path(destination), Path(course)
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


def export_grades(course_root, destination):
    """nbgrader's export of a course's gradebook, run in this process as ``nbgrader export --to DESTINATION``
    runs it: the export plugin the course's config names (ExportApp.plugin_class), nbgrader's CSV export by
    default. Returns destination as a Path."""
    from nbgrader.api import Gradebook
    from nbgrader.plugins import CsvExportPlugin
    from traitlets.utils.importstring import import_item

    config, coursedir = load_course(course_root)
    plugin_class = config.ExportApp.plugin_class if "ExportApp" in config and "plugin_class" in config.ExportApp \
        else CsvExportPlugin
    plugin_class = import_item(plugin_class) if isinstance(plugin_class, str) else plugin_class
    plugin = plugin_class(config=config, to=str(destination))
    with Gradebook(coursedir.db_url, coursedir.course_id) as gradebook:
        plugin.export(gradebook)
    return Path(destination)


def _assignment_fingerprint(course_root, assignment):
    """A hash of what generate_assignment reads for an assignment: the config and the files copy_course copies."""
    import hashlib

    root = Path(course_root)
    digest = hashlib.sha256((root / "nbgrader_config.py").read_bytes())
    for stage in ("source", "release"):
        folder = root / stage
        paths = [p for p in folder.glob("*") if p.is_file()] + sorted((folder / assignment).rglob("*")) \
            if folder.is_dir() else []
        for path in sorted(p for p in paths if p.is_file()):
            digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


_TEMPLATES = {}


def gradebook_template(course_root, assignment):
    """The bytes of a SQLite gradebook that knows the assignment (its cells, points and hidden tests), made by
    nbgrader's generate_assignment in a private copy of the course; every grading worker starts from it. Made
    once per process for the same config and files of the assignment."""
    key = _assignment_fingerprint(course_root, assignment)
    if key not in _TEMPLATES:
        _TEMPLATES[key] = _make_gradebook_template(course_root, assignment)
    return _TEMPLATES[key]


def _make_gradebook_template(course_root, assignment):
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        scratch = copy_course(Path(tmp) / "course", course_root, assignments=[assignment])
        saved_path = os.environ.get("PATH", "")
        os.environ["PATH"] = nbgrader_env()["PATH"]  # nbgrader runs `alembic` from PATH to create the gradebook
        try:
            outcome = private_api(scratch).generate_assignment(assignment, force=True)
        finally:
            os.environ["PATH"] = saved_path
        if not outcome.get("success"):
            raise RuntimeError(f"nbgrader could not generate {assignment}: {outcome.get('error', '')[-2000:]}")
        return (scratch / "gradebook.db").read_bytes()


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
    nb -- the notebook (nbformat.NotebookNode)
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
    """Place a notebook (a NotebookNode, text or bytes) where nbgrader collects it:
    submitted/STUDENT/ASSIGNMENT/NOTEBOOK; return its path."""
    folder = Path(course_root) / "submitted" / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(nb, (str, bytes)):
        (folder / notebook_name).write_bytes(nb.encode() if isinstance(nb, str) else nb)
    else:
        nbformat.write(nb, folder / notebook_name)
    return folder / notebook_name


def gradebook_scores(course_root, assignment):
    """{student: {"total", "max", "comments", grade cell name: score}} read with nbgrader's gradebook API, from the
    gradebook the course's nbgrader_config.py names (SQLite by default, PostgreSQL through db_url)."""
    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(load_course(course_root)[1].db_url) as gb:
        for submission in gb.assignment_submissions(assignment):
            row = {"total": submission.score, "max": submission.max_score, "comments": []}
            for notebook in submission.notebooks:
                for grade in notebook.grades:
                    row[grade.name] = grade.score
                row["comments"] += [c.comment for c in notebook.comments if c.comment]
            scores[submission.student_id] = row
    return scores
