"""`make autograde ASSIGNMENT=... [JOBS=N]`: grade every submission, in parallel, with scores nobody's code can inflate.

The grading command (instructor side; above the nbgrader layer and the verifier, below the demo). For each student
in ``submitted/``:
1. the submitted notebook is read once, before any student code runs; those bytes are what is graded and verified;
2. a worker runs nbgrader's own ``autograde`` on them in a private copy of the course with a private SQLite
   gradebook, its kernel inside the OS sandbox (``course.sandbox``);
3. ``course.verify`` re-runs each graded function alone on the assignment's verification cases, also sandboxed,
   and confirms or lowers the points; a worker returns plain data (a ``Result``);
4. the main process alone writes the course gradebook (SQLite or PostgreSQL: whatever ``CourseDirectory.db_url``
   says), one student at a time: ``auto_score`` is nbgrader's score lowered to what the verification confirms,
   the reason goes into the automatic comment, and manual scores and comments are never touched.
A submission that kills its kernel, loops, is not JSON or was renamed still gets a row and a feedback file, and
the batch always finishes. Without a working sandbox the command stops before grading, unless the loudly named
opt-out ``--unsafe-no-sandbox`` is given (and every comment then says so).
"""

import argparse
import hashlib
import html
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from course.assignment import COURSE
from course.assignments import get_assignment
from course.nbgrader_course import copy_course, gradebook_template, load_course, nbgrader_env, private_api

#: Said in the comment of every score graded without the OS sandbox.
UNSANDBOXED_NOTE = "UNSAFE: graded WITHOUT the OS sandbox (--unsafe-no-sandbox); this score is not tamper-proof."


@dataclass
class Task:
    """One submission to grade: everything a worker needs, as data (no shared file system).

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


@dataclass
class Result:
    """The outcome of grading one student, computed by a worker; written to the gradebook by the main process."""

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


def collect(course_root, assignment):
    """One Task per student folder in submitted/*/ASSIGNMENT/, each notebook read (and hashed) exactly once."""
    tasks = []
    for folder in sorted((Path(course_root) / "submitted").glob(f"*/{assignment.name}")):
        task = Task(folder.parent.name, assignment.name)
        path = folder / assignment.notebook
        if not path.is_file():
            candidates = sorted(folder.glob("*.ipynb"))
            if len(candidates) == 1:
                path = candidates[0]
                task.notes.append(f"The notebook was submitted as '{path.name}'; it was graded as "
                                  f"'{assignment.notebook}'.")
            else:
                task.notes.append(f"No notebook named '{assignment.notebook}' was submitted.")
                path = None
        if path is not None:
            task.data = path.read_bytes()
            task.sha256 = hashlib.sha256(task.data).hexdigest()
        tasks.append(task)
    return tasks


_WORKER = {}


def init_worker(course_root, assignment_name, template, jobs=1, sandboxed=True, slots=None):
    """Worker start-up: import nbgrader, build the verification cases once, remember the gradebook template."""
    import warnings

    import nbgrader.apps  # noqa: F401 -- slow to import (seconds): paid once per worker

    from course.verify import prepared

    os.environ.update(nbgrader_env())
    if jobs > 1:
        # Several kernels at once: one BLAS thread each, or they fight over the cores.
        os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    warnings.filterwarnings("ignore")
    assignment = get_assignment(assignment_name)
    for function in assignment.function_names:
        prepared(assignment, function)
    slot = slots.get() if slots is not None else 0
    _WORKER.update(course=Path(course_root), assignment=assignment, template=template, sandboxed=sandboxed,
                   slot=slot)


def grade_one(task):
    """Grade one submission in a private copy of the course (runs in a worker process); return a Result."""
    from course.verify import verify_submission

    assignment, sandboxed, slot = _WORKER["assignment"], _WORKER["sandboxed"], _WORKER["slot"]
    result = Result(task.student, notes=list(task.notes), sandboxed=sandboxed, sha256=task.sha256)
    if task.data is not None:
        run_nbgrader_autograde(task, result)
    if not result.in_kernel:
        result.notes.append("The notebook could not be run to the end by the grader (its kernel died, it is not a "
                            "valid notebook, or a cell ran too long): its functions were graded in a clean process "
                            "only.")
    result.verdicts = verify_submission(assignment, task.data, sandboxed=sandboxed, slot=slot)
    if not sandboxed:
        result.notes.append(UNSANDBOXED_NOTE)
    return result


def run_nbgrader_autograde(task, result):
    """nbgrader's autograde of the task's bytes in a private course; fills result.in_kernel and .autograded."""
    from nbgrader.api import Gradebook

    assignment = _WORKER["assignment"]
    with tempfile.TemporaryDirectory(prefix=f"grade-{task.student}-") as tmp:
        scratch = copy_course(Path(tmp) / "course", _WORKER["course"], assignments=[assignment.name])
        (scratch / "gradebook.db").write_bytes(_WORKER["template"])
        target = scratch / "submitted" / task.student / assignment.name
        target.mkdir(parents=True)
        (target / assignment.notebook).write_bytes(task.data)
        api = private_api(scratch)
        try:
            if _WORKER["sandboxed"]:
                from course.sandbox import sandboxed_kernels

                with sandboxed_kernels(api.config, files={assignment.notebook: task.data}, slot=_WORKER["slot"]):
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


def record(gradebook, coursedir, assignment, result):
    """Write one Result into the course gradebook and put its autograded notebook in place (main process only).

    nbgrader's fields are written as nbgrader's own autograde writes them: ``auto_score`` and ``auto_comment``.
    ``manual_score``, ``manual_comment`` and ``needs_manual_grade`` belong to the instructor and are left alone,
    so a regrade never overwrites a manual grade.

    Returns:
    (total, maximum) -- the submission's score as the gradebook now computes it
    """
    from nbgrader.api import MissingEntry

    import warnings

    finals = result.final_scores(assignment)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notices while add_submission builds its rows
        gradebook.update_or_create_student(result.student)
        try:
            submission, created = gradebook.find_submission(assignment.name, result.student), False
        except MissingEntry:
            submission, created = gradebook.add_submission(assignment.name, result.student), True
        for nb in submission.notebooks:
            for grade in nb.grades:
                grade.auto_score = finals.get(grade.name, (0.0, ""))[0]
                if created:  # as nbgrader's SaveAutoGrades leaves a fresh autograded cell; later, the instructor's
                    grade.needs_manual_grade = False
            for comment in nb.comments:
                comment.auto_comment = _comment_text(assignment, comment.name, finals, result) or None
        gradebook.db.commit()
        totals = (submission.score, submission.max_score)
    root = Path(coursedir.root)
    write_notes(root, assignment, result, finals)
    target = root / "autograded" / result.student / assignment.name
    shutil.rmtree(target, ignore_errors=True)
    if result.autograded is not None:
        target.mkdir(parents=True)
        (target / assignment.notebook).write_bytes(result.autograded)
    else:
        # nbgrader cannot write feedback without an autograded notebook: write the student a page ourselves.
        feedback = root / "feedback" / result.student / assignment.name
        feedback.mkdir(parents=True, exist_ok=True)
        (feedback / assignment.notebook.replace(".ipynb", ".html")).write_text(
            fallback_feedback(result, finals, totals))
    return totals


#: Where the grading notes of each submission go: COURSE/grading/ASSIGNMENT/STUDENT.json (the class report reads them).
NOTES_FOLDER = "grading"


def write_notes(course_root, assignment, result, finals):
    """The grading notes of one submission, as JSON: per graded function the in-kernel and final points, the
    verifier's reason and the catalogued mistake it recognised; the notes; whether it ran in the sandbox."""
    import json

    functions = {}
    for f in assignment.functions:
        verdict = result.verdicts.get(f.name)
        earned, reason = finals.get(f.test_cell, (0.0, ""))
        functions[f.name] = {"points": assignment.points[f.name], "in_kernel": result.in_kernel.get(f.test_cell),
                             "final": earned, "reason": reason or (verdict.reason if verdict else ""),
                             "mistake": verdict.mistake if verdict else None}
    notes = {"student": result.student, "assignment": assignment.name, "sha256": result.sha256,
             "ran_to_the_end": bool(result.in_kernel), "sandboxed": result.sandboxed, "notes": result.notes,
             "functions": functions}
    folder = Path(course_root) / NOTES_FOLDER / assignment.name
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{result.student}.json").write_text(json.dumps(notes, indent=1))


def _comment_text(assignment, answer_cell, finals, result):
    """The automatic comment of one answer cell: why its score was lowered, and (first cell) the notes."""
    text = ""
    if answer_cell in assignment.points:
        earned, reason = finals.get(assignment.function(answer_cell).test_cell, (None, ""))
        if reason:
            text = f"Verified in a clean run: {earned:g} of {assignment.points[answer_cell]:g} points. {reason}."
    if answer_cell == assignment.function_names[0] and result.notes:
        text = " ".join(result.notes + [text]).strip()
    return text


def fallback_feedback(result, finals, totals):
    """A plain HTML feedback page for a submission nbgrader could not run."""
    rows = "".join(f"<tr><td>{html.escape(cell)}</td><td>{earned:g}</td>"
                   f"<td>{html.escape(reason)}</td></tr>" for cell, (earned, reason) in finals.items())
    total, maximum = totals
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in result.notes)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {html.escape(result.student)}"
            f"</title></head><body><h1>Feedback</h1>{notes}<p>Total: {total:g} / {maximum:g}</p>"
            f"<table><tr><th>test cell</th><th>score</th><th>why</th></tr>{rows}</table></body></html>")


def autograde(course_root=COURSE, assignment="regularization", jobs=1, students=None, progress=True,
              sandboxed=True):
    """Grade every submission of an assignment; return {student: Result}. The batch always finishes.

    Raises course.sandbox.SandboxUnavailable (before grading anything) when sandboxed and the sandbox does not work.
    """
    import multiprocessing

    from nbgrader.api import Gradebook
    from tqdm import tqdm

    from course.verify import Verdict

    if sandboxed:
        from course.sandbox import ensure_available

        ensure_available()
    assignment = get_assignment(assignment) if isinstance(assignment, str) else assignment
    course_root = Path(course_root)
    _, coursedir = load_course(course_root)
    tasks = [t for t in collect(course_root, assignment) if students is None or t.student in students]
    template = gradebook_template(course_root, assignment.name)
    slots = multiprocessing.Manager().Queue() if jobs > 1 else None
    for slot in range(max(1, jobs)):
        slots is not None and slots.put(slot)
    results, below = {}, 0
    bar = tqdm(total=len(tasks), desc=f"autograde {assignment.name}", unit="notebook", disable=not progress,
               file=sys.stderr)
    initargs = (str(course_root), assignment.name, template, jobs, sandboxed, slots)
    with ProcessPoolExecutor(max_workers=max(1, jobs), initializer=init_worker, initargs=initargs) as pool, \
            Gradebook(coursedir.db_url) as gradebook:
        futures = {pool.submit(grade_one, task): task for task in tasks}
        for future in as_completed(futures):
            task = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # noqa: BLE001 -- a worker bug must not lose the others' results, nor this row
                result = Result(task.student, notes=[f"Grading failed: {type(exc).__name__}: {exc}"],
                                verdicts={f: Verdict(0.0, "grading failed") for f in assignment.function_names})
            total, maximum = record(gradebook, coursedir, assignment, result)
            results[task.student] = result
            below += total < maximum
            bar.set_postfix(not_full_marks=below, refresh=False)
            bar.update(1)
    bar.close()
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=str(COURSE))
    parser.add_argument("--assignment", default="regularization")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade WITHOUT the OS sandbox: student code can then read solutions and write files "
                             "(every score's comment says so)")
    args = parser.parse_args(argv)
    from course.sandbox import SandboxUnavailable

    start = time.perf_counter()
    try:
        results = autograde(args.course, args.assignment, jobs=args.jobs, sandboxed=not args.unsafe_no_sandbox)
    except SandboxUnavailable as exc:
        print(f"autograde: refusing to grade: {exc}\n(To grade without isolation anyway, which lets student code "
              "read the solutions and write the gradebook: make autograde UNSAFE_NO_SANDBOX=1)", file=sys.stderr)
        return 3
    elapsed = time.perf_counter() - start
    assignment = get_assignment(args.assignment)
    for student, result in sorted(results.items()):
        finals = result.final_scores(assignment)
        total = sum(e for e, _ in finals.values())
        reasons = result.notes + [r for _, r in finals.values() if r]
        print(f"{student:<20}{total:>6g} points  {reasons[0][:90] if reasons else ''}")
    if results:
        print(f"{len(results)} submissions in {elapsed:.1f} s ({elapsed / len(results):.2f} s each, "
              f"{args.jobs} worker(s){'' if not args.unsafe_no_sandbox else ', WITHOUT the sandbox'})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
