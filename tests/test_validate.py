"""`make validate` lets a student check a notebook before submitting: exit 1 unless every check passes."""

import subprocess
import sys

import nbformat
import pytest

from course.assignments import get_assignment
from course.classroom import reference_and_untouched, submission
from course.nbgrader_course import make_submission
from course.validate import main, validate

ASSIGNMENT = get_assignment("regularization")
NO_SCALING = submission(ASSIGNMENT, "no-scaling", "inverted dropout without the 1/keep_prob",
                        ("df_no_scaling", "db_no_scaling"))


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    folder = tmp_path_factory.mktemp("validate")
    reference = reference_and_untouched(ASSIGNMENT)[0]
    paths = {}
    for name, s in (("reference", reference), ("no-scaling", NO_SCALING)):
        paths[name] = folder / f"{name}.ipynb"
        nbformat.write(make_submission(ASSIGNMENT.release_path, s.answers(ASSIGNMENT)), paths[name])
    paths["broken"] = folder / "broken.ipynb"
    paths["broken"].write_text("{ not json")
    return paths


def test_untouched_release_fails_with_exit_code_1_and_says_what_to_do():
    run = subprocess.run([sys.executable, "-m", "course.validate", str(ASSIGNMENT.release_path)], capture_output=True,
                         text=True)
    assert run.returncode == 1
    assert f"0 of {ASSIGNMENT.total_points:g} points" in run.stdout
    assert "replace `raise NotImplementedError()`" in run.stdout


def test_a_complete_notebook_passes_with_exit_code_0(notebooks, capsys):
    assert main([str(notebooks["reference"])]) == 0
    total = f"{ASSIGNMENT.total_points:g}"
    assert f"{total} of {total} points. Every check passes" in capsys.readouterr().out


def test_partial_credit_is_not_ready_to_submit(notebooks):
    earned, possible, problems = validate(notebooks["no-scaling"])
    assert (earned, possible) == (sum(NO_SCALING.expected.values()), ASSIGNMENT.total_points) == (7.5, 10)
    assert any("divided by keep_prob" in p for p in problems)


def test_a_file_that_is_not_a_notebook_is_reported_not_crashed_on(notebooks):
    earned, _, problems = validate(notebooks["broken"])
    assert earned == 0 and "cannot be read as a notebook" in problems[0]
