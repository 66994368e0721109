"""`make autograde ASSIGNMENT=... [JOBS=N]`: grade every submission, in parallel, with scores nobody's code can inflate.

The grading command (instructor side; above the nbgrader layer and the verifier, below the demo). For each student
in ``submitted/``:
1. the submitted notebook is read once, before any student code runs; those bytes are what is graded and verified;
2. a worker runs nbgrader's own ``autograde`` on them in a private copy of the course with a private SQLite
   gradebook, its kernel inside the OS sandbox (``course.sandbox``);
3. ``course.verify`` re-runs each graded function alone on the assignment's verification cases, also sandboxed,
   and confirms or lowers the points; a worker returns plain data (a ``Result``);
4. the driver (this process) alone writes the course gradebook (SQLite or PostgreSQL: whatever ``CourseDirectory.db_url``
   says), one student at a time: ``auto_score`` is nbgrader's score lowered to what the verification confirms,
   the reason goes into the automatic comment, and manual scores and comments are never touched.
A submission that kills its kernel, loops, is not JSON or was renamed still gets a row and a feedback file, and
the batch always finishes. Without a working sandbox the command stops before grading, unless the loudly named
opt-out ``--unsafe-no-sandbox`` is given (and every comment then says so).

Where the workers run is ``course.backends``' business (a process pool, or a Dask cluster with ``--scheduler``);
a worker (``course.worker``) gets a submission's bytes and returns data. Grading is incremental: a submission whose
bytes were already graded (the hash in its grading notes) is skipped unless ``--force``; a Ctrl-C stops after the
submissions being graded, and everything recorded stays recorded, so the next run finishes the rest.
"""

import argparse
import hashlib
import html
import json
import shutil
import signal
import sys
import threading
import time
from pathlib import Path

from course import backends
from course.assignment import COURSE
from course.assignments import get_assignment
from course.nbgrader_course import gradebook_template, load_course
from course.worker import Context, Result, Task, blas_threads_per_kernel, grade_task, grader_version


def verification_time_limit(config):
    """Seconds a graded function may run in the verification pass: course.verify.TIME_LIMIT, or the course's cell
    timeout in nbgrader (Execute.timeout) when that is shorter (a function gets no longer than a cell)."""
    from course.verify import TIME_LIMIT

    timeout = config.Execute.timeout if "Execute" in config and "timeout" in config.Execute else None
    return TIME_LIMIT if not isinstance(timeout, (int, float)) or timeout <= 0 else min(TIME_LIMIT, timeout)


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


def already_graded(course_root, assignment, task):
    """Whether the grading notes say these exact bytes were graded (and so recorded) before."""
    notes = Path(course_root) / NOTES_FOLDER / assignment.name / f"{task.student}.json"
    try:
        return bool(task.sha256) and json.loads(notes.read_text()).get("sha256") == task.sha256
    except (OSError, ValueError):
        return False


def failed_result(task, assignment, why):
    """The Result of a submission that could not be graded: a row with 0 and the reason."""
    from course.verify import Verdict

    return Result(task.student, notes=[f"Grading failed: {why}"], sha256="",
                  verdicts={f: Verdict(0.0, "grading failed") for f in assignment.function_names})


def autograde(course_root=COURSE, assignment="regularization", jobs=1, students=None, progress=True,
              sandboxed=True, scheduler=None, force=False):
    """Grade the new and changed submissions of an assignment (all with force); return {student: Result}.

    Raises course.sandbox.SandboxUnavailable (before grading anything) when sandboxed and the sandbox does not work,
    course.worker.GraderMismatch when a worker runs another grader version, and KeyboardInterrupt after a Ctrl-C
    (once the submissions being graded are recorded).
    """
    from nbgrader.api import Gradebook
    from tqdm import tqdm

    if sandboxed:
        from course.sandbox import ensure_available

        ensure_available()
    assignment = get_assignment(assignment) if isinstance(assignment, str) else assignment
    course_root = Path(course_root)
    config, coursedir = load_course(course_root)
    tasks = [t for t in collect(course_root, assignment) if (students is None or t.student in students)
             and (force or not already_graded(course_root, assignment, t))]
    context = Context(assignment.name, (course_root / "nbgrader_config.py").read_text(),
                      gradebook_template(course_root, assignment.name), sandboxed,
                      blas_threads_per_kernel(jobs, scheduler), grader_version(),
                      verification_time_limit(config))
    results, below = {}, 0
    bar = tqdm(total=len(tasks), desc=f"autograde {assignment.name}", unit="notebook", disable=not progress,
               file=sys.stderr)
    interrupted = backends.Interrupted()
    main_thread = threading.current_thread() is threading.main_thread()  # signals reach the main thread only
    previous = signal.signal(signal.SIGINT, interrupted) if main_thread else None
    try:
        with Gradebook(coursedir.db_url) as gradebook:
            # Students first, in order: nbgrader's export lists them in the gradebook's order, so every backend
            # (whatever order its results come back in) gives the same export.
            for task in sorted(tasks, key=lambda t: t.student):
                gradebook.update_or_create_student(task.student)
            for task, outcome in backends.run(grade_task, context, tasks, jobs=jobs, scheduler=scheduler,
                                              interrupted=interrupted):
                if isinstance(outcome, Exception):
                    _refuse_on_mismatch(outcome)
                    outcome = failed_result(task, assignment, f"{type(outcome).__name__}: {outcome}")
                total, maximum = record(gradebook, coursedir, assignment, outcome)
                results[task.student] = outcome
                below += total < maximum
                bar.set_postfix(not_full_marks=below, refresh=False)
                bar.update(1)
    finally:
        if main_thread:
            signal.signal(signal.SIGINT, previous)
        bar.close()
    if interrupted.requested:
        raise KeyboardInterrupt(f"interrupted: {len(results)} submissions recorded, {len(tasks) - len(results)} "
                                "left; run again to grade the rest")
    return results


def _refuse_on_mismatch(outcome):
    """A worker with another grader version stops the whole run: its grades would not be this grader's."""
    from course.worker import GraderMismatch

    if isinstance(outcome, GraderMismatch):
        raise outcome


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=str(COURSE))
    parser.add_argument("--assignment", default="regularization")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--scheduler", default=None,
                        help="grade on a Dask cluster: a scheduler address (tcp://host:8786) or 'local'")
    parser.add_argument("--force", action="store_true", help="grade again submissions already graded as they are")
    parser.add_argument("--unsafe-no-sandbox", action="store_true",
                        help="grade WITHOUT the OS sandbox: student code can then read solutions and write files "
                             "(every score's comment says so)")
    args = parser.parse_args(argv)
    from course.sandbox import SandboxUnavailable

    start = time.perf_counter()
    try:
        results = autograde(args.course, args.assignment, jobs=args.jobs, sandboxed=not args.unsafe_no_sandbox,
                            scheduler=args.scheduler, force=args.force)
    except KeyboardInterrupt as exc:
        print(f"autograde: {exc or 'interrupted'}", file=sys.stderr)
        return 130
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
