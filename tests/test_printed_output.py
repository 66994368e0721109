"""What a cell printed is read whole, however the kernel cut it into outputs.

A kernel flushes its stdout buffer every 0.2 s or so and nbclient keeps each flush as an output of its own; on a
busy machine one printed line can end up in two outputs, with stderr in between. Every reader of printed text
(the feedback summary, the attack reports, the student's validate) goes through course.notebooks.stream_text.
"""

import nbformat
import pytest

from course.assignments import get_assignment
from course.notebooks import stream_text
from course.pipeline import feedback_summary
from testCases.feedback import PARTIAL_CREDIT

ASSIGNMENT = get_assignment("regularization")
PRINTED = (f"computing...\n{PARTIAL_CREDIT}, 1.5 of 3 points: dW1: expected 0.1 got 0.2\n"
           "Hint: the L2 term is lambd / m * W, not lambd * W\n")


def _stdout(text):
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _split_cell(cut):
    """A graded test cell whose printout is cut at character `cut`, a warning on stderr between the two parts."""
    outputs = [_stdout(PRINTED[:cut]), nbformat.v4.new_output("stream", name="stderr", text="RuntimeWarning\n"),
               _stdout(PRINTED[cut:])]
    cell = nbformat.v4.new_code_cell("grade(...)", outputs=[o for o in outputs if o.text])
    cell.metadata["nbgrader"] = {"grade": True, "grade_id": "backward_propagation_with_regularization_tests",
                                 "points": 3, "solution": False, "locked": True}
    return cell


@pytest.mark.parametrize("cut", [0, 5, len("computing...\n") + 3, len("computing...\n") + len(PARTIAL_CREDIT),
                                 PRINTED.index("Hint"), len(PRINTED)])
def test_stream_text_joins_the_chunks_of_one_stream(cut):
    cell = _split_cell(cut)
    assert stream_text(cell) == PRINTED
    assert stream_text(cell, "stderr") == "RuntimeWarning\n"


@pytest.mark.parametrize("cut", [len("computing...\n") + 3, len("computing...\n") + len(PARTIAL_CREDIT) + 1,
                                 PRINTED.index("Hint") + 2])
def test_the_feedback_summary_finds_a_partial_credit_line_cut_in_two(tmp_path, cut):
    path = tmp_path / "autograded" / "student" / ASSIGNMENT.name / ASSIGNMENT.notebook
    path.parent.mkdir(parents=True)
    nbformat.write(nbformat.v4.new_notebook(cells=[_split_cell(cut)]), path)
    assert feedback_summary(tmp_path, "student", ASSIGNMENT) == "the L2 term is lambd / m * W, not lambd * W"


def test_the_feedback_summary_of_a_cell_that_printed_no_partial_credit_is_all_checks_passed(tmp_path):
    path = tmp_path / "autograded" / "student" / ASSIGNMENT.name / ASSIGNMENT.notebook
    path.parent.mkdir(parents=True)
    cell = _split_cell(0)
    cell.outputs = [_stdout("computing...\nno credit line here, Partial credit only mid-line\n")]
    nbformat.write(nbformat.v4.new_notebook(cells=[cell]), path)
    assert feedback_summary(tmp_path, "student", ASSIGNMENT) == "all checks passed"
