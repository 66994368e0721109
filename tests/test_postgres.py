"""`make autograde JOBS=2` works unchanged against PostgreSQL through CourseDirectory.db_url.

The test starts its own PostgreSQL server (Debian's postgresql package: .ci/run installs it) on a Unix socket in a
temporary folder, with no TCP port, and stops it afterwards. It skips, saying why, where the server is absent.
"""

import glob
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from course.assignments import get_assignment
from course.classroom import demo_class, tamper_class
from course.nbgrader_course import copy_course, run_nbgrader
from course.pipeline import grade_class

ASSIGNMENT = get_assignment("regularization")

BINARIES = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
pytestmark = pytest.mark.skipif(not BINARIES, reason="PostgreSQL server binaries absent (Debian package "
                                                     "'postgresql'; .ci/run installs it)")


def _as_server_user(command, **kwargs):
    """Run a PostgreSQL command as the 'postgres' user when we are root (the server refuses to run as root)."""
    if os.geteuid() == 0:
        command = ["runuser", "-u", "postgres", "--", *command]
    return subprocess.run(command, check=True, capture_output=True, text=True, **kwargs)


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    bin_dir = BINARIES[-1]
    # Not under pytest's tmp_path: that folder is private to root, and the server runs as 'postgres'.
    base = Path(tempfile.mkdtemp(prefix="course-postgres-"))
    data, sockets = base / "data", base / "sockets"
    data.mkdir()
    sockets.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres")
        shutil.chown(data, "postgres")
        shutil.chown(sockets, "postgres")
    _as_server_user([f"{bin_dir}/initdb", "-D", str(data), "-U", "postgres", "--auth=trust"])
    port = "54329"
    _as_server_user([f"{bin_dir}/pg_ctl", "-D", str(data), "-w", "-l", str(base / "server.log"), "-o",
                     f"-k {sockets} -p {port} -c listen_addresses=''", "start"])
    try:
        for _ in range(50):
            if subprocess.run([f"{bin_dir}/pg_isready", "-h", str(sockets), "-p", port]).returncode == 0:
                break
            time.sleep(0.2)
        _as_server_user([f"{bin_dir}/createdb", "-h", str(sockets), "-p", port, "-U", "postgres", "gradebook"])
        yield f"postgresql+psycopg2://postgres@/gradebook?host={sockets}&port={port}"
    finally:
        _as_server_user([f"{bin_dir}/pg_ctl", "-D", str(data), "-m", "immediate", "stop"])
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def graded(tmp_path_factory, postgres_url):
    """(course, class, scores): a class graded by the pipeline with two workers in a course whose nbgrader_config.py
    names the PostgreSQL gradebook."""
    configured = copy_course(tmp_path_factory.mktemp("configured"), ASSIGNMENT.course, assignments=[ASSIGNMENT.name])
    with open(configured / "nbgrader_config.py", "a") as config:
        config.write(f"\nc.CourseDirectory.db_url = {postgres_url!r}\n")
    class_ = demo_class(ASSIGNMENT, attempts=False)[:4] \
        + [a for a in tamper_class(ASSIGNMENT) if a.student in ("patch-numpy", "not-json")]
    course = tmp_path_factory.mktemp("course")
    scores = grade_class(course, class_, ASSIGNMENT, jobs=2, source_course=configured)
    return course, class_, scores


def test_the_course_gradebook_is_postgresql_not_sqlite(graded):
    course, _, _ = graded
    assert not (course / "gradebook.db").exists()


def test_every_student_has_the_right_scores_in_postgresql(graded):
    _, class_, scores = graded
    assert set(scores) == {s.student for s in class_}
    for s in class_:
        for function in ASSIGNMENT.functions:
            assert scores[s.student][function.test_cell] == pytest.approx(s.expected[function.name]), \
                (s.student, function.name)


def test_feedback_is_generated_from_the_postgresql_gradebook(graded):
    course, _, _ = graded
    run_nbgrader(course, "generate_feedback", ASSIGNMENT.name, "--force")
    html = ASSIGNMENT.notebook.replace(".ipynb", ".html")
    assert (course / "feedback" / "reference" / ASSIGNMENT.name / html).is_file()
