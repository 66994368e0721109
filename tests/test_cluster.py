"""Grading a large class: the same grades on every backend, incremental runs, and workers that must run the
driver's grader version (tests/test_cluster_resilience.py: nothing lost when a worker dies or the run is
interrupted).

The process-pool side reuses the session's shared graded class (tests/conftest.py: the reference, every mistake,
every alternative, every tampering attempt and random submissions, 30 per assignment); the Dask side grades the
same class again on a LocalCluster of two workers.
"""

import os

import pytest

from course.assignments import get_assignment
from course.autograde import autograde
from course.nbgrader_course import export_grades, run_nbgrader
from course.pipeline import grade_class
from course.worker import GraderMismatch
from tests.conftest import class_of, wrong_scores

pytest.importorskip("distributed", reason="the Dask tests need the optional dependency: pip install -e '.[cluster]'")

def _export(course):
    """nbgrader's own CSV export of a course's gradebook, as bytes."""
    run_nbgrader(course, "export", "--to", str(course / "export.csv"))
    return (course / "export.csv").read_bytes()


def test_the_process_pool_grades_every_submission_as_the_generator_expects(assignment, graded_classes):
    _, scores = graded_classes(assignment)
    assert not wrong_scores(assignment, class_of(assignment), scores)


def test_dask_gives_a_byte_identical_export_to_the_process_pool(assignment, graded_classes, quick_course,
                                                                tmp_path):
    pool_course, _ = graded_classes(assignment)
    environment = dict(os.environ)
    dask_scores = grade_class(tmp_path / "dask", class_of(assignment), assignment, jobs=2, scheduler="local",
                              source_course=quick_course, feedback=False)
    assert dict(os.environ) == environment, "the Dask run left its changes in the driver's environment"
    assert not wrong_scores(assignment, class_of(assignment), dask_scores)
    # grade_class exported each gradebook as soon as its class was graded, with nbgrader's CSV export
    assert (tmp_path / "dask" / "grades.csv").read_bytes() == (pool_course / "grades.csv").read_bytes()


def test_the_export_in_this_process_is_nbgrader_exports_own(graded_classes, tmp_path):
    """grade_class exports in its own process (course.nbgrader_course.export_grades): the same bytes as the
    `nbgrader export` command."""
    course, _ = graded_classes(get_assignment("regularization"))
    assert export_grades(course, tmp_path / "here.csv").read_bytes() == _export(course)


def test_a_second_run_grades_only_new_or_changed_submissions(graded_classes, tmp_path):
    assignment = get_assignment("regularization")
    course, _ = graded_classes(assignment)
    assert autograde(course, assignment, jobs=2, progress=False) == {}
    changed = course / "submitted" / "untouched" / assignment.name / assignment.notebook
    changed.write_bytes(changed.read_bytes().replace(b'"cells"', b'"cells" ', 1))
    assert set(autograde(course, assignment, jobs=2, progress=False)) == {"untouched"}


def test_a_worker_with_another_grader_version_is_refused(graded_classes, monkeypatch):
    assignment = get_assignment("regularization")
    course, _ = graded_classes(assignment)
    monkeypatch.setattr("course.autograde.grader_version", lambda: "another-version")
    with pytest.raises(GraderMismatch, match="install the same version"):
        autograde(course, assignment, jobs=1, progress=False, force=True, students=["reference"])
