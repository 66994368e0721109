"""`make demo`: execute every reference notebook, then grade a demo class of every assignment and report on it.

Instructor side, the top layer. For each assignment of the registry:
1. executes its source notebook headless (nbclient) and prints its results table (the cell "results_table");
2. builds a class from the committed release (the reference solutions, the untouched release, typical mistakes,
   correct-but-different solutions, a tampering attempt, a kernel killer and an infinite loop), autogrades it with
   nbgrader in the sandbox, writes feedback and grades.csv, saves a histogram of the scores, writes the class
   report (course.report), and prints one row per student.
Everything is written under demo-output/ (copies of the course: the real gradebook is never touched).
"""

import shutil
import time
from pathlib import Path

from course.assignment import ROOT
from course.assignments import all_assignments
from course.classroom import demo_class
from course.notebooks import cell_text_output, execute_notebook
from course.pipeline import feedback_summary, grade_class
from course.report import write_report

OUTPUT_DIR = ROOT / "demo-output"


def run_reference(assignment):
    """Execute a reference notebook into demo-output/ and print its results table."""
    source = assignment.source_path
    executed = OUTPUT_DIR / f"{source.stem}.executed.ipynb"
    print(f"Executing the reference notebook {source.relative_to(ROOT)} ...", flush=True)
    nb = execute_notebook(source, executed, cwd=source.parent)
    print(f"\n{assignment.results_title}:")
    print(cell_text_output(nb, "results_table"))
    print(f"Executed notebook: {executed.relative_to(ROOT)}\n")


def run_class(assignment):
    """Grade the assignment's demo class and print the table; return the scores."""
    course = OUTPUT_DIR / assignment.name
    shutil.rmtree(course, ignore_errors=True)
    students = demo_class(assignment)
    print(f"Autograding a class of {len(students)} {assignment.name} submissions with nbgrader, 2 workers ...",
          flush=True)
    scores = grade_class(course, students, assignment, jobs=2)
    functions = assignment.functions
    width = max(10, *(len(f.short) + 2 for f in functions))  # every column keeps at least two spaces before it
    header = f"{'student':<16}" + "".join(f"{f.short:>{width}}" for f in functions) + \
        f"{'total':>8}  first line of feedback"
    print(header)
    print("-" * len(header))
    for s in students:
        row = scores[s.student]
        cells = "".join(f"{row[f.test_cell]:>{width}.2g}" for f in functions)
        # A score lowered by the verification pass, or a notebook that could not run, explains itself first.
        line = row["comments"][0] if row["comments"] else feedback_summary(course, s.student, assignment)
        print(f"{s.student:<16}{cells}{row['total']:>8.3g}  {line[:110]}")
    print(f"{'(max)':<16}" + "".join(f"{assignment.points[f.name]:>{width}g}" for f in functions)
          + f"{assignment.total_points:>8g}")
    histogram = OUTPUT_DIR / f"{assignment.name}-scores.png"
    save_histogram([scores[s.student]["total"] for s in students], assignment.total_points, histogram,
                   f"{assignment.title}: the demo class")
    print(f"\nFeedback (HTML per student): {(course / 'feedback').relative_to(ROOT)}/")
    print(f"Grades: {(course / 'grades.csv').relative_to(ROOT)}")
    print(f"Histogram of the scores: {histogram.relative_to(ROOT)}")
    report, _ = write_report(course, assignment)
    print(f"Class report: {report.relative_to(ROOT)}\n")
    return scores


def save_histogram(totals, maximum, path, title):
    """Save a histogram of the class's total scores as a PNG."""
    import matplotlib
    import matplotlib.ticker

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    ax.hist(totals, bins=[x - 0.25 for x in range(0, int(maximum) + 2)], color="#3b6ea8", edgecolor="white")
    ax.set_xlabel(f"total score (out of {maximum:g})")
    ax.set_ylabel("students")
    ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax.set_title(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    """Run the whole demo."""
    start = time.perf_counter()
    OUTPUT_DIR.mkdir(exist_ok=True)
    for assignment in all_assignments():
        run_reference(assignment)
    for assignment in all_assignments():
        run_class(assignment)
    print(f"(demo finished in {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
