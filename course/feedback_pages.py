"""Every student's feedback page, written by nbgrader's generate_feedback in several processes (instructor side).

nbgrader writes one HTML page per student, about 0.35 s each, nearly all of it nbconvert's HTML export: a class of
20,000 would take two hours in one process, after a cluster graded it in one. Each process here runs nbgrader's own
API on its share of the students; the pages are those of ``nbgrader generate_feedback``.

Usage: python -m course.feedback_pages --course notebooks --assignment regularization [--jobs N]
"""

import sys
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path


def generate_feedback(course_root, assignment, jobs=1):
    """nbgrader's generate_feedback for every autograded student of an assignment, in `jobs` processes.

    Arguments:
    course_root -- the course root
    assignment -- the assignment's name
    jobs -- processes (1: nbgrader's own loop over the students, in this process)

    Returns:
    [str] -- the students whose feedback was written
    Raises RuntimeError with nbgrader's log when nbgrader failed for a student.
    """
    students = sorted(p.parent.name for p in Path(course_root, "autograded").glob(f"*/{assignment}") if p.is_dir())
    if jobs <= 1 or len(students) < 2:
        failures = _feedback_for(course_root, assignment, None)
    else:
        shares = [students[i::jobs] for i in range(min(jobs, len(students)))]
        with ProcessPoolExecutor(len(shares)) as pool:
            failures = [f for part in pool.map(_feedback_for, [course_root] * len(shares),
                                                [assignment] * len(shares), shares) for f in part]
    if failures:
        who = ", ".join(student for student, _ in failures)
        raise RuntimeError(f"nbgrader generate_feedback {assignment} failed for {len(failures)} of "
                           f"{max(1, len(students))} ({who}); the other pages were written. nbgrader's log of the "
                           f"first:\n{failures[0][1][:4000]}")
    return students


def _feedback_for(course_root, assignment, students):
    """nbgrader's generate_feedback in this process, for these students (None: all); [(student, nbgrader's log)]
    of those it failed for."""
    from course.nbgrader_course import api_for

    api = api_for(course_root)
    api.log.setLevel("ERROR")  # what nbgrader captures in an outcome's log: its reason for a failure
    failures = []
    for student in ([None] if students is None else students):
        outcome = api.generate_feedback(assignment, student, force=True)
        if not outcome.get("success"):
            failures.append((student or "the class", outcome.get("log") or outcome.get("error", "")))
    return failures


def main(argv=None):
    """``python -m course.feedback_pages``: write the feedback of every autograded student; 1 when nbgrader failed."""
    import argparse

    from course.assignment import COURSE

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--course", default=str(COURSE))
    parser.add_argument("--assignment", default="regularization")
    parser.add_argument("--jobs", type=int, default=1, help="processes writing pages (default 1)")
    args = parser.parse_args(argv)
    try:
        students = generate_feedback(args.course, args.assignment, args.jobs)
    except RuntimeError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"feedback of {len(students)} students in {Path(args.course) / 'feedback'}/")
    return 0


if __name__ == "__main__":
    sys.exit(main())
