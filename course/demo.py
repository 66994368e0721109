"""`make demo`: execute the reference notebook headless and print the three-model results table."""

import time
from pathlib import Path

from course.notebooks import cell_text_output, execute_notebook

ROOT = Path(__file__).resolve().parents[1]
SOURCE = ROOT / "notebooks" / "source" / "regularization" / "Regularization.ipynb"
OUTPUT_DIR = ROOT / "demo-output"


def main():
    """Execute the source notebook into demo-output/ and print its results table."""
    start = time.perf_counter()
    executed = OUTPUT_DIR / "Regularization.executed.ipynb"
    print(f"Executing the reference notebook {SOURCE.relative_to(ROOT)} ...", flush=True)
    nb = execute_notebook(SOURCE, executed, cwd=SOURCE.parent)
    print()
    print("Results on the shipped goalkeeper dataset:")
    print(cell_text_output(nb, "results_table"))
    print(f"Executed notebook: {executed}")
    print(f"(executed in {time.perf_counter() - start:.1f} s)")


if __name__ == "__main__":
    main()
