"""Fixtures shared by the grading tests: one synthetic class per assignment, graded once per test session.

Each class (course.classroom.synthetic_class) holds the reference, the untouched release, every round of
catalogued mistakes and of correct alternatives, every tampering attempt and random submissions, with their
expected scores. tests/test_grading.py, tests/test_tamper.py and tests/test_cluster.py all read the same graded
course (two process-pool workers, in the OS sandbox), so `make test` grades each submission once.
"""

import html
import re

import pytest

from course.assignment import COURSE
from course.assignments import all_assignments
from course.classroom import synthetic_class
from course.nbgrader_course import copy_course
from course.pipeline import grade_class
from course.sandbox import SandboxUnavailable, ensure_available

#: Submissions per assignment in the shared class (at least 60 in all, as the cluster test asks).
CLASS_SIZE = 30


def class_of(assignment):
    """The shared synthetic class of an assignment."""
    return synthetic_class(assignment, CLASS_SIZE, seed=0)


#: nbgrader's time limit per cell in the tests' copy of the course (the course's own is 15 s). While grading no
#: cell needs a second (the networks train for one epoch on a few hundred images at most), and the endless-loop
#: attempt, which times out in every cell that calls its function, then costs seconds instead of a minute; the
#: verification pass follows it (course.autograde.verification_time_limit).
CELL_TIMEOUT = 5


@pytest.fixture(scope="session")
def quick_course(tmp_path_factory):
    """A copy of the course root whose nbgrader cell timeout is CELL_TIMEOUT: every shared class is graded in it."""
    course = copy_course(tmp_path_factory.mktemp("test-course"), COURSE)
    with open(course / "nbgrader_config.py", "a") as f:
        f.write(f"\nc.Execute.timeout = {CELL_TIMEOUT}  # the tests' copy: see tests/conftest.py\n")
    return course


@pytest.fixture(scope="session")
def graded_classes(tmp_path_factory, quick_course):
    """{assignment name: (course folder, gradebook scores)}, graded lazily: an assignment's class is graded the
    first time a test asks for it."""
    cache = {}

    def get(assignment):
        if assignment.name not in cache:
            course = tmp_path_factory.mktemp(f"class-{assignment.name}")
            cache[assignment.name] = course, grade_class(course, class_of(assignment), assignment, jobs=2,
                                                         source_course=quick_course)
        return cache[assignment.name]

    return get


@pytest.fixture(params=all_assignments(), ids=lambda a: a.name)
def assignment(request):
    return request.param


@pytest.fixture(scope="session")
def sandbox_available():
    """Skips the test, saying why, where the OS sandbox (bubblewrap) cannot run."""
    try:
        ensure_available()
    except SandboxUnavailable as exc:
        pytest.skip(f"the sandbox cannot run here: {exc}")


@pytest.fixture
def graded(assignment, graded_classes):
    """(assignment, course, scores) of the session's shared graded class of this assignment."""
    course, scores = graded_classes(assignment)
    return assignment, course, scores


def feedback_text(course, student, assignment):
    """A student's feedback page as they read it: tags removed, entities decoded."""
    page = course / "feedback" / student / assignment.name / assignment.notebook.replace(".ipynb", ".html")
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
