"""The synthetic class generator, as the README documents it: `python -m course.classroom --students N --seed S
--assignment NAME --course DIR` writes N submissions and the score each must earn; the same seed writes the same
class."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from course.assignments import all_assignments, get_assignment
from course.classroom import reference_and_untouched, synthetic_class

ROOT = Path(__file__).resolve().parents[1]


def _generate(course, *args):
    return subprocess.run([sys.executable, "-m", "course.classroom", "--course", str(course), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def _class_bytes(course):
    return {str(p.relative_to(course)): p.read_bytes() for p in sorted(Path(course).rglob("*")) if p.is_file()}


def test_the_command_writes_n_submissions_and_the_score_each_must_earn(tmp_path):
    assignment = get_assignment("deep_regularization")
    run = _generate(tmp_path, "--students", "32", "--seed", "3", "--assignment", assignment.name)
    assert run.returncode == 0, run.stderr
    folders = sorted((tmp_path / "submitted").glob(f"*/{assignment.name}"))
    assert len(folders) == 32
    expected = json.loads((tmp_path / f"expected-{assignment.name}.json").read_text())
    assert set(expected) == {folder.parent.name for folder in folders}
    for student, entry in expected.items():
        assert set(entry["points"]) == set(assignment.function_names), student
        assert all(0 <= entry["points"][f] <= assignment.points[f] for f in assignment.function_names), student
    assert str(tmp_path) in run.stdout


def test_the_same_seed_writes_the_same_class_and_another_seed_another(tmp_path):
    for folder, seed in (("a", "5"), ("b", "5"), ("c", "6")):
        assert _generate(tmp_path / folder, "--students", "40", "--seed", seed).returncode == 0
    assert _class_bytes(tmp_path / "a") == _class_bytes(tmp_path / "b") != _class_bytes(tmp_path / "c")


@pytest.mark.parametrize("assignment", all_assignments(), ids=lambda a: a.name)
def test_every_submission_is_the_release_with_answers_filled_in(assignment, tmp_path):
    """A class holds notebooks nbgrader can read (but for the one tampering attempt that is not JSON at all)."""
    assert _generate(tmp_path, "--students", "35", "--assignment", assignment.name).returncode == 0
    notebooks = sorted((tmp_path / "submitted").glob(f"*/{assignment.name}/*.ipynb"))
    assert len(notebooks) == 35
    unreadable = []
    for path in notebooks:
        try:
            nbformat.read(path, as_version=4)
        except Exception:  # noqa: BLE001 -- collected and compared below
            unreadable.append(path.parent.parent.name)
    assert unreadable == ["not-json"]


def test_a_class_smaller_than_its_kinds_starts_with_the_reference_and_the_untouched_release():
    assignment = get_assignment("regularization")
    first = [s.student for s in reference_and_untouched(assignment)]
    assert [s.student for s in synthetic_class(assignment, 2)] == first
    assert len(synthetic_class(assignment, 1)) == 1


@pytest.mark.parametrize("n", [0, -3, 2.5, True])
def test_a_class_size_below_one_or_not_whole_is_refused_naming_the_argument(n):
    with pytest.raises(ValueError, match=r"n \(the class size\)"):
        synthetic_class(get_assignment("regularization"), n)


def test_the_command_refuses_a_bad_size_or_an_unknown_assignment_in_one_line(tmp_path):
    for args, said in ((["--students", "0"], "--students must be at least 1"),
                       (["--assignment", "nope"], "no assignment 'nope'")):
        run = _generate(tmp_path, *args)
        assert run.returncode == 2 and said in run.stderr and "Traceback" not in run.stderr, run.stderr
    assert not (tmp_path / "submitted").exists()
