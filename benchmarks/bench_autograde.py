"""Benchmark: seconds per submission when autograding a class, with 1 and 2 workers, on a process pool and on a
Dask LocalCluster, with the OS sandbox and without it (the opt-out), against the floor.

The floor is what nbgrader itself needs for a trivial one-cell notebook (start a kernel, run one cell, record one
grade), measured in every round of the same run through the same in-process nbgrader API the workers use. The
class mixes the reference solution, the untouched release, every catalogued mistake and the correct alternatives of
one assignment of the registry.

Usage: .venv/bin/python benchmarks/bench_autograde.py [--students 100] [--assignment regularization] [--quick]
                                                     [--cohort 20000] [--repeats 1] [--no-opt-out]
(--quick: 4 students, the process pool with the sandbox only, 2 floor repeats: a smoke run of a minute or two;
--repeats R: every figure is the best of R rounds, each round measuring the floor and grading the class once with
every backend and worker count in turn, so a slow spell of a shared machine does not decide a ratio; --no-opt-out:
leave out the unsandboxed opt-out, a third of the run)

It ends with a sizing table: how many worker processes (one core each) grade a cohort of --cohort submissions
of this assignment in one hour, from the measured seconds per submission of one sandboxed worker.
"""

import argparse
import functools
import math
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import os  # noqa: E402

from course.assignments import get_assignment  # noqa: E402
from course.autograde import autograde  # noqa: E402
from course.classroom import every_mistake_class, reference_and_untouched  # noqa: E402
from course.nbgrader_course import copy_course, make_submission, nbgrader_env, run_nbgrader, submit  # noqa: E402


def build_class(course, assignment, n):
    """Submit n students to a fresh copy of the course, cycling through typical submissions."""
    pool = reference_and_untouched(assignment) + every_mistake_class(assignment)
    for i in range(n):
        template = pool[i % len(pool)]
        submit(course, f"s{i:02d}-{template.student}", assignment.name, assignment.notebook,
               make_submission(assignment.release_path, template.answers(assignment)))


def grade(assignment, n, jobs, sandboxed, scheduler=None):
    """Seconds per submission for a class of n with the given number of workers (and backend)."""
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp) / "course", assignment.course, assignments=[assignment.name])
        run_nbgrader(course, "generate_assignment", assignment.name, "--force")
        build_class(course, assignment, n)
        start = time.perf_counter()
        results = autograde(course, assignment, jobs=jobs, progress=False, sandboxed=sandboxed, scheduler=scheduler)
        elapsed = time.perf_counter() - start
        assert len(results) == n
    return elapsed / n


def floor(repeats=5):
    """Seconds nbgrader's API takes to autograde a trivial one-cell notebook (the median of repeats - 1 runs after
    a warm-up: one slow kernel start must not move the floor)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config import Config

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        cell = new_code_cell("assert 1 + 1 == 2")
        cell.metadata["nbgrader"] = {"grade": True, "grade_id": "trivial", "locked": True, "points": 1,
                                     "schema_version": 3, "solution": False, "task": False}
        (root / "source" / "trivial").mkdir(parents=True)
        nbformat.write(new_notebook(cells=[cell], metadata={"kernelspec": {"name": "python3", "language": "python",
                                                                             "display_name": "Python 3"}}),
                       root / "source" / "trivial" / "Trivial.ipynb")
        config = Config()
        config.CourseDirectory.root = str(root)
        api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
        api.generate_assignment("trivial")
        for i in range(repeats):
            folder = root / "submitted" / f"t{i}" / "trivial"
            folder.mkdir(parents=True)
            shutil.copy2(root / "release" / "trivial" / "Trivial.ipynb", folder / "Trivial.ipynb")
        api.autograde("trivial", "t0")  # warm-up: imports and the first kernel start
        times = []
        for i in range(1, repeats):
            start = time.perf_counter()
            assert api.autograde("trivial", f"t{i}")["success"]
            times.append(time.perf_counter() - start)
        return statistics.median(times)


#: The backend the sizing table and the Dask ratios are measured against.
POOL = "process pool, sandbox"
#: The label of the floor among a round's measurements.
FLOOR = "floor"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100)
    parser.add_argument("--assignment", default="regularization")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--cohort", type=int, default=20000, help="submissions of the sizing table")
    parser.add_argument("--repeats", type=int, default=1,
                        help="rounds: each figure is the best of its rounds, and every round grades with each backend")
    parser.add_argument("--no-opt-out", action="store_true", help="leave out the unsandboxed opt-out")
    args = parser.parse_args()
    # nbgrader runs `alembic` and kernels run `python` from PATH: the venv's bin/ first, as the Makefile does.
    os.environ["PATH"] = nbgrader_env()["PATH"]
    assignment = get_assignment(args.assignment)
    students = 4 if args.quick else args.students
    rounds = max(1, args.repeats)
    modes = [(True, None, POOL)]
    if not args.quick:
        modes.append((True, "local", "Dask LocalCluster, sandbox"))
        if not args.no_opt_out:
            modes.append((False, None, "process pool, UNSAFE opt-out"))
    # The floor is measured in every round too, so that a slow or fast spell of a shared machine moves it with the
    # figures it divides.
    floor_runs = functools.partial(floor, repeats=2 if args.quick else 9)
    best = best_of_rounds(rounds, [(FLOOR, 0, floor_runs)]
                          + [(label, jobs, functools.partial(grade, assignment, students, jobs, sandboxed, scheduler))
                             for sandboxed, scheduler, label in modes for jobs in (1, 2)])
    floor_s = best[FLOOR, 0]
    print(f"class of {students} submissions ({assignment.name}, {sys.platform}, {os.cpu_count()} cores)"
          + (f", best of {rounds} rounds" if rounds > 1 else ""))
    print(f"  floor: nbgrader on a trivial one-cell notebook     {floor_s:6.2f} s per submission")
    for _, scheduler, label in modes:
        one, two = best[label, 1], best[label, 2]
        against = "  ({:+.0%} against the process pool)" if scheduler else ""
        print(f"  {label}:")
        print(f"    1 worker     {one:6.2f} s per submission  ({one / floor_s:4.1f}x floor)"
              + against.format(one / best[POOL, 1] - 1))
        print(f"    2 workers    {two:6.2f} s per submission  ({two / floor_s:4.1f}x floor)"
              + against.format(two / best[POOL, 2] - 1))
        print(f"    speed-up from the second worker  {one / two:5.2f}x")
    print_sizing(best[POOL, 1], args.cohort)


def best_of_rounds(rounds, measurements):
    """{(label, jobs): the least of `rounds` results of measure()} for measurements [(label, jobs, measure)]; every
    round takes each measurement once, in order, so a slow spell of a shared machine reaches them alike."""
    best = {}
    for _ in range(rounds):
        for label, jobs, measure in measurements:
            seconds = measure()
            best[label, jobs] = min(seconds, best.get((label, jobs), math.inf))
    return best


def sizing(seconds_per_submission, cohort, hours, cores_per_machine=8):
    """Workers (one core each) and machines that grade `cohort` submissions in `hours` at the measured cost.

    Returns:
    workers -- int, at least 1
    machines -- int, machines of `cores_per_machine` cores that hold those workers
    """
    workers = max(1, math.ceil(cohort * seconds_per_submission / (3600 * hours)))
    return workers, math.ceil(workers / cores_per_machine)


def print_sizing(seconds_per_submission, cohort):
    """Print the workers that grade `cohort` submissions in 1, 2 and 8 hours at the measured cost."""
    print(f"  sizing, at {seconds_per_submission:.2f} s per submission per sandboxed worker (one core each):")
    for hours in (1, 2, 8):
        workers, machines = sizing(seconds_per_submission, cohort, hours)
        print(f"    {cohort} submissions in {hours} h: {workers:4d} worker{'s' if workers != 1 else ' '} "
              f"({machines} machine{'s' if machines != 1 else ''} of 8 cores)")


if __name__ == "__main__":  # a Dask LocalCluster starts its workers by importing this file again
    main()
