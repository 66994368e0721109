"""`make validate` lets a student check a notebook before submitting: exit 1 unless every check passes."""

import subprocess
import sys

import pytest

from course.classroom import demo_class
from course.grading import make_submission
from course.validate import main, validate

RELEASE = "notebooks/release/regularization/Regularization.ipynb"


@pytest.fixture(scope="module")
def notebooks(tmp_path_factory):
    import nbformat

    folder = tmp_path_factory.mktemp("validate")
    reference, no_scaling = demo_class(attempts=False)[0], demo_class(attempts=False)[5]
    paths = {}
    for name, submission in (("reference", reference), ("no-scaling", no_scaling)):
        paths[name] = folder / f"{name}.ipynb"
        nbformat.write(make_submission(RELEASE, submission.answers()), paths[name])
    paths["broken"] = folder / "broken.ipynb"
    paths["broken"].write_text("{ not json")
    return paths


def test_untouched_release_fails_with_exit_code_1_and_says_what_to_do():
    run = subprocess.run([sys.executable, "-m", "course.validate", RELEASE], capture_output=True, text=True)
    assert run.returncode == 1
    assert "0 of 10 points" in run.stdout and "replace `raise NotImplementedError()`" in run.stdout


def test_a_complete_notebook_passes_with_exit_code_0(notebooks, capsys):
    assert main([str(notebooks["reference"])]) == 0
    assert "10 of 10 points. Every check passes" in capsys.readouterr().out


def test_partial_credit_is_not_ready_to_submit(notebooks):
    earned, possible, problems = validate(notebooks["no-scaling"])
    assert (earned, possible) == (7.5, 10)
    assert any("divided by keep_prob" in p for p in problems)


def test_a_file_that_is_not_a_notebook_is_reported_not_crashed_on(notebooks):
    earned, _, problems = validate(notebooks["broken"])
    assert earned == 0 and "cannot be read as a notebook" in problems[0]
