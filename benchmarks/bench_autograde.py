"""Benchmark: seconds per submission when autograding a class of 40, with 1 and 2 workers, against the floor.

The floor is what nbgrader itself needs for a trivial one-cell notebook (start a kernel, run one cell, record one
grade), measured in the same run through the same in-process nbgrader API the workers use. The class mixes the
reference solution, the untouched release, every catalogued mistake and the correct alternatives.

Usage: .venv/bin/python benchmarks/bench_autograde.py [--students 40]
"""

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from course.autograde import autograde  # noqa: E402
from course.classroom import demo_class, every_mistake_class  # noqa: E402
from course.grading import copy_course, make_submission, run_nbgrader, submit  # noqa: E402


def build_class(course, n):
    """Submit n students to a fresh copy of the course, cycling through typical submissions."""
    pool = demo_class(attempts=False) + every_mistake_class()
    release = course / "release" / "regularization" / "Regularization.ipynb"
    for i in range(n):
        template = pool[i % len(pool)]
        submit(course, f"s{i:02d}-{template.student}", "regularization", "Regularization.ipynb",
               make_submission(release, template.answers()))


def grade(n, jobs):
    """Seconds per submission for a class of n with the given number of workers."""
    with tempfile.TemporaryDirectory() as tmp:
        course = copy_course(Path(tmp) / "course", assignments=["regularization"])
        run_nbgrader(course, "generate_assignment", "regularization", "--force")
        build_class(course, n)
        start = time.perf_counter()
        results = autograde(course, jobs=jobs, progress=False)
        elapsed = time.perf_counter() - start
        assert len(results) == n
    return elapsed / n


def floor(repeats=5):
    """Seconds nbgrader's API takes to autograde a trivial one-cell notebook (mean over repeats)."""
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
        start = time.perf_counter()
        for i in range(1, repeats):
            assert api.autograde("trivial", f"t{i}")["success"]
        return (time.perf_counter() - start) / (repeats - 1)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    args = parser.parse_args()
    floor_s = floor()
    one = grade(args.students, 1)
    two = grade(args.students, 2)
    print(f"class of {args.students} submissions (Regularization assignment, {sys.platform}, 2 cores)")
    print(f"  floor: nbgrader on a trivial one-cell notebook   {floor_s:6.2f} s per submission")
    print(f"  autograde + verification, 1 worker            {one:6.2f} s per submission  ({one / floor_s:4.1f}x floor)")
    print(f"  autograde + verification, 2 workers           {two:6.2f} s per submission  ({two / floor_s:4.1f}x floor)")
    print(f"  speed-up from the second worker               {one / two:6.2f}x")


if __name__ == "__main__":
    main()
