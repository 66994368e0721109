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


def wrong_scores(assignment, submissions, scores):
    """{(student, function): (got, expected)} where the gradebook differs from the generator's expected points."""
    return {(s.student, f): (scores[s.student][assignment.function(f).test_cell], p)
            for s in submissions for f, p in s.expected.items()
            if scores[s.student][assignment.function(f).test_cell] != pytest.approx(p)}


#: nbgrader's time limit per cell in the tests' copy of the course (the course's own is 15 s). While grading no
#: cell needs a second (the networks train for one epoch on a few hundred images at most), and the endless-loop
#: attempt, which times out in every cell that calls its function, then costs seconds instead of a minute; the
#: verification pass follows it (course.autograde.verification_time_limit).
CELL_TIMEOUT = 5


#: The test modules that read the shared graded classes (the graded_classes fixture). Under pytest-xdist they are
#: one unit of work, so that each class is graded once, by one worker; collection fails while this list and the
#: modules that use the fixture differ.
GRADED_CLASS_MODULES = ("tests/test_cluster.py", "tests/test_feedback_pages.py", "tests/test_grading.py",
                        "tests/test_tamper.py")


def _module(nodeid):
    return nodeid.split("::")[0]


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    """Check GRADED_CLASS_MODULES; in a pytest-xdist worker, put those modules first (the other worker meanwhile
    runs the rest, in order)."""
    using = {_module(item.nodeid) for item in items if "graded_classes" in getattr(item, "fixturenames", ())}
    collected = {_module(item.nodeid) for item in items}
    if using != set(GRADED_CLASS_MODULES) & collected:
        raise pytest.UsageError(f"tests/conftest.py: GRADED_CLASS_MODULES must name the test modules that use "
                                f"graded_classes: {sorted(using)}")
    if hasattr(config, "workerinput"):
        items.sort(key=lambda item: _module(item.nodeid) not in GRADED_CLASS_MODULES)  # stable


def pytest_xdist_make_scheduler(config, log):
    """`--dist loadscope` (what `make test` runs), with modules as the units of work (a module's fixtures are set up
    once; a notebook's cells run in order, in one kernel) and GRADED_CLASS_MODULES as one unit."""
    if config.getoption("dist") != "loadscope":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class ModuleScheduling(LoadScopeScheduling):
        def _split_scope(self, nodeid):
            module = _module(nodeid)
            return "graded classes" if module in GRADED_CLASS_MODULES else module

    return ModuleScheduling(config, log)


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
