"""The grading worker: grade one submission, given as data, and return the outcome as data (instructor side).

A worker needs nothing but the installed grading package (course, with reg_utils and testCases) and a task: the
submission's bytes and a ``Context`` (the assignment's name, the course's nbgrader configuration, a gradebook
template, whether to sandbox, and the grader's version). So it runs the same in a local process pool or on a Dask
worker on another machine, with no shared file system. It runs nbgrader's autograde in a private course with its
kernel in the OS sandbox, then the verification pass, and returns a ``Result``; it never writes the course's
gradebook (the grading command does, one result at a time).
"""

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

#: Said in the comment of every score graded without the OS sandbox.
UNSANDBOXED_NOTE = "UNSAFE: graded WITHOUT the OS sandbox (--unsafe-no-sandbox); this score is not tamper-proof."
#: The note of a submission nbgrader could not run to the end.
NOT_RUN_NOTE = ("The notebook could not be run to the end by the grader (its kernel died, it is not a valid notebook, "
                "or a cell ran too long): its functions were graded in a clean process only.")


class GraderMismatch(RuntimeError):
    """A worker runs another version of the grading package than the driver: its grades could differ."""


@dataclass
class Task:
    """One submission to grade, as data.

    student -- the student id
    assignment -- the assignment's name
    data -- the submitted notebook's bytes (None when no notebook was found)
    sha256 -- the hash of data, taken when it was read
    notes -- what the collection noticed (a renamed notebook, ...), for the feedback
    """

    student: str
    assignment: str
    data: bytes = None
    sha256: str = ""
    notes: list = field(default_factory=list)


@dataclass(frozen=True)
class Context:
    """What every task of one grading run shares: the assignment's name, the course's nbgrader_config.py text, the
    bytes of a gradebook template that knows the assignment, whether to sandbox, the BLAS threads each kernel may use
    (None: as the worker's environment says), the driver's grader version, and the seconds each graded function
    may run in the verification pass (None: course.verify.TIME_LIMIT)."""

    assignment: str
    config: str
    template: bytes
    sandboxed: bool = True
    blas_threads: int = None
    version: str = ""
    time_limit: float = None


@dataclass
class Result:
    """The outcome of grading one student, computed by a worker; written to the gradebook by the driver."""

    student: str
    in_kernel: dict = field(default_factory=dict)  # test cell -> nbgrader's points (empty: nbgrader failed)
    verdicts: dict = field(default_factory=dict)   # graded function -> course.verify.Verdict
    notes: list = field(default_factory=list)      # what happened, for the feedback
    autograded: bytes = None                       # the autograded notebook's bytes, if nbgrader produced one
    sandboxed: bool = True
    sha256: str = ""                               # the hash of the bytes that were graded

    def final_scores(self, assignment):
        """{test cell: (points, reason)}: nbgrader's points, lowered to what the clean run confirms."""
        out = {cell: (points, "") for cell, points in self.in_kernel.items()}
        for function, verdict in self.verdicts.items():
            cell = assignment.function(function).test_cell
            if cell in self.in_kernel:
                earned = min(self.in_kernel[cell], verdict.points)
                reason = "" if earned >= self.in_kernel[cell] else verdict.reason
            else:  # nbgrader could not grade the notebook: only the clean run speaks
                earned, reason = verdict.points, verdict.reason
            out[cell] = (earned, reason)
        return out


@lru_cache(maxsize=1)
def grader_version():
    """A fingerprint of the installed grading package: its version and the bytes of every file of course,
    reg_utils and testCases (what decides a grade)."""
    import course
    import reg_utils
    import testCases

    digest = hashlib.sha256()
    for package in (course, reg_utils, testCases):
        root = Path(package.__file__).parent
        for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def blas_threads_per_kernel(jobs, scheduler=None, cores=None):
    """The BLAS threads each kernel may use, the same on every backend: this machine's cores shared by its
    workers (the process pool's or a LocalCluster's), or one per worker on a remote cluster, where Dask gives each
    worker one core (its nanny's own default).

    Arguments:
    jobs -- workers on this machine
    scheduler -- None (the process pool), "local" or a Dask scheduler's address
    cores -- this machine's cores (None: os.cpu_count())
    """
    if scheduler not in (None, "local"):
        return 1
    return max(1, (cores or os.cpu_count() or 1) // max(1, jobs))


def _slot():
    """This process's grading slot (its sandboxes' host uid): one no other grader on this machine holds, whatever
    the backend and however many grading runs are going on at once."""
    from course.sandbox import claim_slot

    return claim_slot()


@lru_cache(maxsize=None)
def _prepare(assignment_name, blas_threads):
    """Once per process and assignment: the environment, nbgrader's imports and the verification cases."""
    import warnings

    import nbgrader.apps  # noqa: F401 -- slow to import (seconds): paid once per worker

    from course.assignments import get_assignment
    from course.nbgrader_course import nbgrader_env
    from course.verify import prepared

    os.environ.update(nbgrader_env())
    if blas_threads:  # before the sandbox host starts: its pre-imported NumPy fixes the threads of every kernel
        from reg_utils.mlp import THREAD_CAP_VARIABLES  # the ones the trainer also obeys

        os.environ.update({k: str(blas_threads) for k in THREAD_CAP_VARIABLES})
    warnings.filterwarnings("ignore")
    assignment = get_assignment(assignment_name)
    for function in assignment.function_names:
        prepared(assignment, function)
    return assignment


def grade_task(context, task):
    """Grade one submission (in any worker process); return its Result. Raises GraderMismatch when this worker's
    grading package differs from the driver's."""
    from course.verify import verify_submission

    if context.version and context.version != grader_version():
        raise GraderMismatch(f"this worker runs grader version {grader_version()}, the driver {context.version}: "
                             "install the same version of the course package on every worker")
    assignment = _prepare(context.assignment, context.blas_threads)
    result = Result(task.student, notes=list(task.notes), sandboxed=context.sandboxed, sha256=task.sha256)
    if task.data is not None:
        _run_nbgrader_autograde(context, assignment, task, result)
    if not result.in_kernel:
        result.notes.append(NOT_RUN_NOTE)
    limit = {} if context.time_limit is None else {"time_limit": context.time_limit}
    result.verdicts = verify_submission(assignment, task.data, sandboxed=context.sandboxed, slot=_slot(),
                                        settled=timed_out_in_kernel(assignment, result), **limit)
    if not context.sandboxed:
        result.notes.append(UNSANDBOXED_NOTE)
    return result


#: The verdict on a graded function whose test cell ran out of time while nbgrader graded it.
TIMED_OUT_IN_KERNEL = "its test cell ran past the time limit per cell while nbgrader graded it (an endless loop?)"


def timed_out_in_kernel(assignment, result):
    """{function: Verdict(0, TIMED_OUT_IN_KERNEL)} for the graded functions whose test cell nbgrader stopped at
    its time limit (nbgrader's CellTimeoutError output) and scored 0: the verification pass need not run them."""
    if not result.in_kernel or result.autograded is None:
        return {}
    try:
        cells = json.loads(result.autograded)["cells"]
        timed_out = {c["metadata"]["nbgrader"]["grade_id"] for c in cells
                     if c.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                     and any(o.get("output_type") == "error" and o.get("ename") == "CellTimeoutError"
                             for o in c.get("outputs", []))}
    except (ValueError, KeyError, TypeError, AttributeError):
        return {}
    from course.verify import Verdict

    return {f.name: Verdict(0.0, TIMED_OUT_IN_KERNEL) for f in assignment.functions
            if f.test_cell in timed_out and result.in_kernel.get(f.test_cell, 0.0) == 0.0}


def _run_nbgrader_autograde(context, assignment, task, result):
    """nbgrader's autograde of the task's bytes in a private course; fills result.in_kernel and .autograded."""
    from nbgrader.api import Gradebook

    from course.nbgrader_course import private_api
    from course.nbgrader_tuning import tune_for_grading

    with tempfile.TemporaryDirectory(prefix=f"grade-{task.student}-") as tmp:
        scratch = Path(tmp) / "course"
        target = scratch / "submitted" / task.student / assignment.name
        target.mkdir(parents=True)
        (scratch / "nbgrader_config.py").write_text(context.config)
        (scratch / "gradebook.db").write_bytes(context.template)
        (target / assignment.notebook).write_bytes(task.data)
        api = private_api(scratch)
        tune_for_grading(api.config)
        try:
            if context.sandboxed:
                from course.sandbox_host import sandboxed_kernels

                with sandboxed_kernels(api.config, files={assignment.notebook: task.data}, slot=_slot()):
                    outcome = api.autograde(assignment.name, task.student, force=True, create=True)
            else:
                outcome = api.autograde(assignment.name, task.student, force=True, create=True)
            succeeded = outcome.get("success", False)
        except Exception:  # noqa: BLE001 -- nbgrader itself failed on this notebook: the clean run still grades it
            succeeded = False
        autograded = scratch / "autograded" / task.student / assignment.name / assignment.notebook
        if succeeded and autograded.is_file():
            with Gradebook(api.coursedir.db_url) as gb:
                for nb in gb.find_submission(assignment.name, task.student).notebooks:
                    for grade in nb.grades:
                        result.in_kernel[grade.name] = float(grade.auto_score or 0.0)
            result.autograded = autograded.read_bytes()
