"""`make demo`: execute the reference notebook, then grade a small class with nbgrader and report on it.

1. Executes both source notebooks headless (nbclient) and prints their results tables: the three models on the
   goalkeeper dataset, and the regularized deep networks on the MNIST digits.
2. Builds a class from the committed release (the reference solutions, the untouched release, typical mistakes,
   a correct-but-different solution), autogrades it with nbgrader, writes feedback and grades.csv, saves a
   histogram of the scores, and prints one row per student.
Everything is written under demo-output/ (a copy of the course: the real gradebook is never touched).
"""

import shutil
import time
from pathlib import Path

from course.classroom import POINTS, demo_class
from course.grading import feedback_summary, grade_class
from course.notebooks import cell_text_output, execute_notebook

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "source" / "regularization" / "Regularization.ipynb"
DEEP_SOURCE = ROOT / "notebooks" / "source" / "deep_regularization" / "DeepRegularization.ipynb"
OUTPUT_DIR = ROOT / "demo-output"
SHORT = {"compute_cost_with_regularization": "cost", "backward_propagation_with_regularization": "L2 back",
         "forward_propagation_with_dropout": "drop fwd", "backward_propagation_with_dropout": "drop back"}


def run_reference(source, title):
    """Execute a reference notebook into demo-output/ and print its results table (the cell "results_table")."""
    executed = OUTPUT_DIR / f"{source.stem}.executed.ipynb"
    print(f"Executing the reference notebook {source.relative_to(ROOT)} ...", flush=True)
    nb = execute_notebook(source, executed, cwd=source.parent)
    print(f"\n{title}:")
    print(cell_text_output(nb, "results_table"))
    print(f"Executed notebook: {executed.relative_to(ROOT)}\n")


def run_class():
    """Grade the demo class and print the table; return the scores."""
    course = OUTPUT_DIR / "course"
    shutil.rmtree(course, ignore_errors=True)
    students = demo_class()
    print(f"Autograding a class of {len(students)} submissions with nbgrader, 2 workers ...", flush=True)
    scores = grade_class(course, students, jobs=2)
    header = f"{'student':<16}" + "".join(f"{SHORT[n]:>10}" for n in POINTS) + f"{'total':>8}  first line of feedback"
    print(header)
    print("-" * len(header))
    for s in students:
        row = scores[s.student]
        cells = "".join(f"{row[name + '_tests']:>10.2g}" for name in POINTS)
        # A score lowered by the verification pass, or a notebook that could not run, explains itself first.
        line = row["comments"][0] if row["comments"] else feedback_summary(course, s.student)
        print(f"{s.student:<16}{cells}{row['total']:>8.3g}  {line[:110]}")
    print(f"{'(max)':<16}" + "".join(f"{p:>10}" for p in POINTS.values()) + f"{sum(POINTS.values()):>8}")
    histogram = OUTPUT_DIR / "scores.png"
    save_histogram([scores[s.student]["total"] for s in students], sum(POINTS.values()), histogram)
    print(f"\nFeedback (HTML per student): {(course / 'feedback').relative_to(ROOT)}/")
    print(f"Grades: {(course / 'grades.csv').relative_to(ROOT)}")
    print(f"Histogram of the scores: {histogram.relative_to(ROOT)}")
    return scores


def save_histogram(totals, maximum, path):
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
    ax.set_title("Regularization assignment: the demo class")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main():
    """Run the whole demo."""
    start = time.perf_counter()
    OUTPUT_DIR.mkdir(exist_ok=True)
    run_reference(SOURCE, "Results on the shipped goalkeeper dataset")
    run_reference(DEEP_SOURCE, "Results on the MNIST digits (4,000 train / 500 validation / 500 test)")
    run_class()
    print(f"(demo finished in {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
