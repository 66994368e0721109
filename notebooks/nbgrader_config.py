"""nbgrader configuration of the course (this folder is the course root).

The folder tree is the pipeline: source/ -> release/ -> submitted/ -> autograded/ -> feedback/.
"""

import os

c = get_config()  # noqa: F821 -- provided by nbgrader when it loads this file

here = os.path.dirname(os.path.abspath(__file__))
c.CourseDirectory.root = here
c.CourseDirectory.course_id = "regularization"

# What students see in place of a solution region.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "YOUR ANSWER HERE"

# Every released notebook opens with the course header (instructions for submitting).
c.IncludeHeaderFooter.header = os.path.join(here, "source", "header.ipynb")

# Per-cell time limit while autograding: a loop that never ends costs that cell, not the whole class. While
# grading (NBGRADER_EXECUTION set) the slowest cell of our notebooks takes well under a second, so 15 s leaves a
# slow but honest implementation ample room, and a submission that loops in one function (called by about three
# cells) costs under a minute.
c.Execute.timeout = 15
c.Execute.interrupt_on_timeout = True

# A harmless warning on stderr (a RuntimeWarning from NumPy, say) must not zero a correct test cell: nbgrader gives
# 0 points to any graded cell with stderr output, unless IgnorePattern removes it first.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"^[^\n]*:\d+: (Runtime|Deprecation|PendingDeprecation|Future|User|Syntax)Warning: "

# A submission that floods its output cannot bloat the gradebook or the feedback.
c.LimitOutput.max_lines = 200
c.LimitOutput.max_traceback = 40

# Feedback shows each failing check's message, hint and points, never the source of hidden tests: their regions
# are cleared, and the tracebacks of graded cells are cut to `Exception: message`.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "nbgrader.preprocessors.ClearHiddenTests",
    "course.feedback.ShortErrors",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
