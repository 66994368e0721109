"""Check a notebook before submitting it: run it as the grader would, and fail (exit 1) unless every check passes.

`nbgrader validate` reports failing cells but exits 0 even when tests fail; this runs the notebook headless with
nbclient (with ``NBGRADER_EXECUTION=validate``, as nbgrader sets it), scores every graded cell with nbgrader's own
``determine_grade``, and exits non-zero when a cell earns less than its points or a read-only cell was edited.

Usage: python -m course.validate NOTEBOOK.ipynb [...]
"""

import os
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbgrader.utils import compute_checksum, determine_grade, is_grade, is_locked

from course.notebooks import stream_text
from testCases.feedback import PARTIAL_CREDIT


def validate(path, timeout=120):
    """Run a notebook as the grader would and describe every problem.

    Arguments:
    path -- the notebook
    timeout -- seconds allowed per cell

    Returns:
    (earned, possible, problems) -- points earned, points possible, list of messages (empty when all is well)
    """
    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # not JSON, not a notebook: say so rather than crash
        return 0.0, 0.0, [f"{path} cannot be read as a notebook: {exc}"]
    problems = []
    for cell in nb.cells:
        meta = cell.metadata.get("nbgrader", {})
        if is_locked(cell) and "checksum" in meta and compute_checksum(cell) != meta["checksum"]:
            problems.append(f"read-only cell {meta.get('grade_id')!r} was edited: the grader restores the original")
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(path.parent)}})
    try:
        # The kernel inherits this environment; set the variable for it alone, not for the calling process.
        client.execute(env={**os.environ, "NBGRADER_EXECUTION": "validate"})
    except Exception as exc:  # a dead kernel or a timeout: the remaining cells have no outputs
        problems.append(f"execution stopped: {type(exc).__name__}: {exc}")
    earned = possible = 0.0
    for cell in nb.cells:
        if not is_grade(cell) or cell.cell_type != "code":
            continue
        score, max_points = determine_grade(cell)
        earned += score or 0.0
        possible += max_points
        if (score or 0.0) < max_points:
            errors = [f"{o.ename}: {o.evalue}" for o in cell.outputs if o.output_type == "error"]
            printed = stream_text(cell)
            detail = (errors or [printed if PARTIAL_CREDIT in printed else "no output"])[0].strip()
            problems.append(f"{cell.metadata.nbgrader['grade_id']}: {score or 0:g} of {max_points:g} points\n    "
                            + detail.replace("\n", "\n    "))
    return earned, possible, problems


def main(argv=None):
    """Validate each notebook named on the command line; exit 1 if any has a problem."""
    paths = (argv if argv is not None else sys.argv[1:])
    if not paths:
        print(__doc__.strip().splitlines()[-1])
        return 2
    status = 0
    for path in paths:
        earned, possible, problems = validate(path)
        if problems:
            status = 1
            print(f"{path}: {earned:g} of {possible:g} points. Not ready to submit:")
            for problem in problems:
                print(f"  - {problem}")
        else:
            print(f"{path}: {earned:g} of {possible:g} points. Every check passes: ready to submit.")
    return status


if __name__ == "__main__":
    sys.exit(main())
