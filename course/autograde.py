"""`make autograde [JOBS=N]`: grade every submission, in parallel, with scores nobody's code can inflate.

For each student in ``submitted/``:
1. nbgrader's own ``autograde`` runs the notebook in a private copy of the course, with a private SQLite gradebook
   (so parallel workers never share a database file, and a student's code cannot reach the real gradebook);
2. ``course.verify`` re-runs each graded function in a clean process and confirms or lowers its points;
3. the main process alone writes the results into the course gradebook (SQLite or PostgreSQL: whatever
   ``CourseDirectory.db_url`` says), one student at a time, and copies the autograded notebook into place.
A submission that kills its kernel, loops, is not JSON or was renamed still gets a row (0 where nothing can be
verified) and a feedback file, and the batch always finishes.
"""

import argparse
import html
import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from course.classroom import POINTS
from course.grading import COURSE, nbgrader_env


@dataclass
class Result:
    """The outcome of grading one student, computed by a worker; written to the gradebook by the main process."""

    student: str
    in_kernel: dict = field(default_factory=dict)  # grade cell name -> nbgrader's points (empty: nbgrader failed)
    verdicts: dict = field(default_factory=dict)   # graded function -> course.verify.Verdict
    notes: list = field(default_factory=list)      # what happened, for the feedback
    autograded: Path = None                        # folder holding the autograded notebook, if any

    def final_scores(self):
        """{grade cell: (points, reason)}: nbgrader's points, capped by what the clean run confirms."""
        out = {cell: (points, "") for cell, points in self.in_kernel.items()}
        for function, verdict in self.verdicts.items():
            cell = function + "_tests"
            if cell in self.in_kernel:
                earned = min(self.in_kernel[cell], verdict.points)
                reason = "" if earned >= self.in_kernel[cell] else verdict.reason
            else:  # nbgrader could not grade the notebook: only the clean run speaks
                earned, reason = verdict.points, verdict.reason
            out[cell] = (earned, reason)
        return out


def course_config(course_root):
    """The course's CourseDirectory settings (db_url, root), read through nbgrader's own config loading."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course_root)).load_config()
    coursedir = CourseDirectory(config=config)
    coursedir.root = str(course_root)
    return NbGraderAPI(coursedir=coursedir, config=config), coursedir


def _prepare(course_root, scratch, assignment, student, notebook):
    """Copy what nbgrader needs for one student into a private course; return (notes, ok)."""
    from course.grading import copy_course

    copy_course(scratch, assignments=[assignment], course=course_root)
    shutil.copy2(Path(course_root) / ".grading-template.db", scratch / "gradebook.db")
    source = Path(course_root) / "submitted" / student / assignment
    target = scratch / "submitted" / student / assignment
    shutil.copytree(source, target)
    notes = []
    if not (target / notebook).exists():
        candidates = sorted(target.glob("*.ipynb"))
        if len(candidates) == 1:
            candidates[0].rename(target / notebook)
            notes.append(f"The notebook was submitted as '{candidates[0].name}'; it was graded as '{notebook}'.")
        else:
            notes.append(f"No notebook named '{notebook}' was submitted.")
    return notes


_WORKER = {}

#: Assignments whose graded functions course.verify re-runs in a clean process. Others keep nbgrader's in-kernel
#: scores (they are still graded in private course copies, in parallel, by a single gradebook writer).
VERIFIED_ASSIGNMENTS = ("regularization",)


def _init_worker(jobs=1):
    """Worker process start-up: import nbgrader and load the reference solutions once, not once per student."""
    import warnings

    import nbgrader.apps  # noqa: F401 -- slow to import (seconds): paid once per worker

    from course.reference import load_solutions

    os.environ.update(nbgrader_env())
    if jobs > 1:
        # Several kernels at once: one BLAS thread each, or they fight over the cores.
        os.environ.update({k: "1" for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")})
    warnings.filterwarnings("ignore")
    _WORKER["solutions"] = load_solutions()


def grade_one(course_root, assignment, notebook, student):
    """Grade one student in a private copy of the course (runs in a worker process); return a Result."""
    from nbgrader.api import Gradebook

    from course.verify import verify_submission

    if not _WORKER:
        _init_worker()
    result = Result(student)
    with tempfile.TemporaryDirectory(prefix=f"grade-{student}-") as tmp:
        scratch = Path(tmp)
        result.notes += _prepare(course_root, scratch, assignment, student, notebook)
        submitted = scratch / "submitted" / student / assignment / notebook
        api = _private_api(scratch)
        db_url = api.coursedir.db_url
        try:
            outcome = api.autograde(assignment, student, force=True, create=True)
            succeeded = outcome.get("success", False)
        except Exception:  # nbgrader itself failed on this notebook: the clean run still grades it
            succeeded = False
        autograded = scratch / "autograded" / student / assignment
        if succeeded and (autograded / notebook).is_file():
            with Gradebook(db_url) as gb:
                for nb in gb.find_submission(assignment, student).notebooks:
                    for grade in nb.grades:
                        result.in_kernel[grade.name] = float(grade.auto_score or 0.0)
            kept = Path(course_root) / ".grading-results" / student
            shutil.rmtree(kept, ignore_errors=True)
            shutil.copytree(autograded, kept)
            result.autograded = kept
        else:
            result.notes.append("The notebook could not be run to the end by the grader (its kernel died, it is "
                                "not a valid notebook, or a cell ran too long): its functions were graded in a "
                                "clean process only.")
        if assignment in VERIFIED_ASSIGNMENTS:
            result.verdicts = verify_submission(submitted, _WORKER["solutions"])
        elif not result.in_kernel:
            result.notes.append("No clean-process verifier exists for this assignment: nothing could be graded.")
    return result


def record(api, coursedir, assignment, notebook, result):
    """Write one Result into the course gradebook and put its autograded notebook in place (main process only)."""
    from nbgrader.api import MissingEntry

    import warnings

    finals = result.final_scores()
    with warnings.catch_warnings(), api.gradebook as gb:
        warnings.simplefilter("ignore")  # SQLAlchemy's autoflush notices while add_submission builds its rows
        gb.update_or_create_student(result.student)
        try:
            gb.remove_submission(assignment, result.student)
        except MissingEntry:
            pass
        submission = gb.add_submission(assignment, result.student)
        for nb in submission.notebooks:
            for grade in nb.grades:
                earned, reason = finals.get(grade.name, (0.0, "not graded"))
                in_kernel = result.in_kernel.get(grade.name)
                grade.auto_score = earned if in_kernel is None else in_kernel
                grade.manual_score = earned if (in_kernel is None or earned < in_kernel) else None
                grade.needs_manual_grade = False
            # Reasons go where the feedback shows them: the comment of the answer cell they concern; notes about
            # the whole notebook go to the first answer cell's comment.
            order = list(POINTS)
            comments = sorted(nb.comments, key=lambda c: (order.index(c.name) if c.name in order else len(order),
                                                          c.name))
            for i, comment in enumerate(comments):
                earned, reason = finals.get(comment.name + "_tests", (None, ""))
                text = f"Verified in a clean run: {earned:g} of {POINTS[comment.name]} points. {reason}." \
                    if reason and comment.name in POINTS else ""
                if i == 0 and result.notes:
                    text = " ".join(result.notes + [text]).strip()
                comment.manual_comment = text or None
        gb.db.commit()
        totals = (submission.score, submission.max_score)
    target = Path(coursedir.root) / "autograded" / result.student / assignment
    feedback = Path(coursedir.root) / "feedback" / result.student / assignment
    shutil.rmtree(target, ignore_errors=True)
    if result.autograded is not None:
        shutil.copytree(result.autograded, target)
    else:
        # nbgrader cannot write feedback without an autograded notebook: write the student a page ourselves.
        feedback.mkdir(parents=True, exist_ok=True)
        (feedback / notebook.replace(".ipynb", ".html")).write_text(fallback_feedback(result, finals, totals))
    return totals


def fallback_feedback(result, finals, totals):
    """A plain HTML feedback page for a submission nbgrader could not run."""
    rows = "".join(f"<tr><td>{html.escape(cell)}</td><td>{earned:g}</td>"
                   f"<td>{html.escape(reason)}</td></tr>" for cell, (earned, reason) in finals.items())
    total, maximum = totals
    notes = "".join(f"<p>{html.escape(n)}</p>" for n in result.notes)
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>Feedback: {html.escape(result.student)}"
            f"</title></head><body><h1>Feedback</h1>{notes}<p>Total: {total:g} / {maximum:g}</p>"
            f"<table><tr><th>test cell</th><th>score</th><th>why</th></tr>{rows}</table></body></html>")


def autograde(course_root=COURSE, assignment="regularization", notebook="Regularization.ipynb", jobs=1,
              students=None, progress=True):
    """Grade every submission of an assignment; return {student: Result}. The batch always finishes."""
    from tqdm import tqdm

    course_root = Path(course_root)
    api, coursedir = course_config(course_root)
    _make_template(course_root, assignment)
    students = students or sorted(p.parent.name for p in (course_root / "submitted").glob(f"*/{assignment}"))
    results, failures = {}, 0
    bar = tqdm(total=len(students), desc="autograde", unit="notebook", disable=not progress, file=sys.stderr)
    with ProcessPoolExecutor(max_workers=max(1, jobs), initializer=_init_worker, initargs=(jobs,)) as pool:
        futures = {pool.submit(grade_one, course_root, assignment, notebook, s): s for s in students}
        for future in as_completed(futures):
            student = futures[future]
            try:
                result = future.result()
            except Exception as exc:  # a worker bug must not lose the others' results, nor this student's row
                result = Result(student, notes=[f"Grading failed: {type(exc).__name__}: {exc}"],
                                verdicts={f: _zero(f) for f in POINTS})
            total, maximum = record(api, coursedir, assignment, notebook, result)
            results[student] = result
            failures += total < maximum
            bar.set_postfix(not_full_marks=failures, refresh=False)
            bar.update(1)
    bar.close()
    shutil.rmtree(course_root / ".grading-results", ignore_errors=True)
    return results


def _zero(function):
    from course.verify import Verdict

    return Verdict(0.0, "grading failed")


def _private_api(scratch):
    """nbgrader's API on a private copy of the course, with its own SQLite gradebook (never the course's own)."""
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(scratch)).load_config()
    config.CourseDirectory.root = str(scratch)
    config.CourseDirectory.db_url = f"sqlite:///{Path(scratch) / 'gradebook.db'}"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    api.log.setLevel("CRITICAL")
    return api


def _make_template(course_root, assignment):
    """A SQLite gradebook that knows the assignment, copied into every worker's private course."""
    from course.grading import copy_course

    with tempfile.TemporaryDirectory() as tmp:
        scratch = copy_course(Path(tmp) / "course", assignments=[assignment], course=course_root)
        saved_path = os.environ.get("PATH", "")
        os.environ["PATH"] = nbgrader_env()["PATH"]  # nbgrader runs `alembic` from PATH to create the gradebook
        try:
            outcome = _private_api(scratch).generate_assignment(assignment, force=True)
        finally:
            os.environ["PATH"] = saved_path
        if not outcome.get("success"):
            raise RuntimeError(f"nbgrader could not generate {assignment}: {outcome.get('error', '')[-2000:]}")
        shutil.copy2(scratch / "gradebook.db", course_root / ".grading-template.db")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=str(COURSE))
    parser.add_argument("--assignment", default="regularization")
    parser.add_argument("--notebook", default="Regularization.ipynb")
    parser.add_argument("--jobs", type=int, default=1)
    args = parser.parse_args(argv)
    start = time.perf_counter()
    results = autograde(args.course, args.assignment, args.notebook, jobs=args.jobs)
    elapsed = time.perf_counter() - start
    for student, result in sorted(results.items()):
        finals = result.final_scores()
        total = sum(e for e, _ in finals.values())
        reasons = result.notes + [r for _, r in finals.values() if r]
        print(f"{student:<20}{total:>6g} points  {reasons[0][:90] if reasons else ''}")
    if results:
        print(f"{len(results)} submissions in {elapsed:.1f} s ({elapsed / len(results):.2f} s each, "
              f"{args.jobs} worker(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
