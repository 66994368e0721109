"""Fixtures shared by the grading tests: one synthetic class per assignment, graded once per test session.

Each class (course.classroom.synthetic_class) holds the reference, the untouched release, every round of
catalogued mistakes and of correct alternatives, every tampering attempt and random submissions, with their
expected scores. tests/test_grading.py, tests/test_tamper.py and tests/test_cluster.py all read the same graded
course (two process-pool workers, in the OS sandbox), so `make test` grades each submission once.
"""

import pytest

from course.assignments import all_assignments
from course.classroom import synthetic_class
from course.pipeline import grade_class

#: Submissions per assignment in the shared class (at least 60 in all, as the cluster test asks).
CLASS_SIZE = 30


def class_of(assignment):
    """The shared synthetic class of an assignment."""
    return synthetic_class(assignment, CLASS_SIZE, seed=0)


@pytest.fixture(scope="session")
def graded_classes(tmp_path_factory):
    """{assignment name: (course folder, gradebook scores)}, graded lazily: an assignment's class is graded the
    first time a test asks for it."""
    cache = {}

    def get(assignment):
        if assignment.name not in cache:
            course = tmp_path_factory.mktemp(f"class-{assignment.name}")
            cache[assignment.name] = course, grade_class(course, class_of(assignment), assignment, jobs=2)
        return cache[assignment.name]

    return get


@pytest.fixture(params=all_assignments(), ids=lambda a: a.name)
def assignment(request):
    return request.param
