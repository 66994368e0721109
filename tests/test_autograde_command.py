"""The grading command as the README and the Makefile give it: `make autograde` hands its variables (ASSIGNMENT, JOBS,
SCHEDULER, FORCE) to `python -m course.autograde`, and that command grades a class on a Dask LocalCluster
(`SCHEDULER=local`) and says how it went."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from course.assignments import get_assignment
from course.classroom import synthetic_class, write_class
from course.nbgrader_course import copy_course, gradebook_scores, run_nbgrader
from tests.conftest import wrong_scores

ROOT = Path(__file__).resolve().parents[1]


def _make_dry_run(*variables):
    """The commands `make autograde` would run with these VARIABLE=value words (make -n runs none of them)."""
    # an outer make's command-line variables (make test JOBS=4) would reach this one through MAKEFLAGS
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    run = subprocess.run(["make", "-n", "-C", str(ROOT), "autograde", *variables], capture_output=True, text=True,
                         timeout=120, env=env)
    assert run.returncode == 0, run.stderr
    return [line for line in run.stdout.replace("\\\n", " ").splitlines() if "course.autograde" in line]


@pytest.mark.parametrize("variables, flags", [
    ((), "--assignment regularization --jobs 1"),
    (("ASSIGNMENT=deep_regularization", "JOBS=2", "SCHEDULER=local", "FORCE=1"),
     "--assignment deep_regularization --jobs 2 --scheduler local --force"),
    (("SCHEDULER=tcp://10.0.0.5:8786", "UNSAFE_NO_SANDBOX=1"),
     "--assignment regularization --jobs 1 --scheduler tcp://10.0.0.5:8786 --unsafe-no-sandbox"),
])
def test_make_autograde_hands_its_variables_to_the_grading_command(variables, flags):
    [command] = _make_dry_run(*variables)
    assert re.sub(r"\s+", " ", command).strip().endswith(f"-m course.autograde --course notebooks {flags}")


def test_the_command_grades_a_class_on_a_local_dask_cluster(tmp_path, sandbox_available):
    pytest.importorskip("distributed", reason="SCHEDULER=local needs the optional dependency: "
                                              "pip install -e '.[cluster]'")
    assignment = get_assignment("regularization")
    course = copy_course(tmp_path / "course", assignment.course, assignments=[assignment.name])
    run_nbgrader(course, "generate_assignment", assignment.name, "--force")
    submissions = synthetic_class(assignment, 3, seed=2)
    write_class(course, assignment, submissions)
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    run = subprocess.run([sys.executable, "-m", "course.autograde", "--course", str(course), "--assignment",
                          assignment.name, "--jobs", "2", "--scheduler", "local"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    assert "3 submissions in" in run.stdout and "2 worker(s)" in run.stdout, run.stdout
    scores = gradebook_scores(course, assignment.name)
    assert set(scores) == {s.student for s in submissions}
    assert not wrong_scores(assignment, submissions, scores)
