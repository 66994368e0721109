"""nbgrader preprocessors for feedback a student can use, and that keeps hidden tests hidden.

nbgrader's feedback is the autograded notebook rendered to HTML. Two things in it would give the hidden tests away:
their source (removed by nbgrader's own ClearHiddenTests, enabled in nbgrader_config.py) and the tracebacks of
failing test cells, which quote the failing lines of hidden code. ``ShortErrors`` replaces each error output of a
graded cell with its last line, the exception and its message: that is where our checks put what is wrong and
the hint.
"""

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool


class ShortErrors(Preprocessor):
    """Replace the traceback of every error output in a graded test cell by `ExceptionName: message`."""

    enabled = Bool(True, help="Whether to shorten tracebacks in graded cells").tag(config=True)

    def preprocess_cell(self, cell, resources, index):
        """Shorten the error outputs of one cell, in place."""
        if cell.cell_type != "code" or not cell.metadata.get("nbgrader", {}).get("grade"):
            return cell, resources
        for output in cell.get("outputs", []):
            if output.output_type == "error":
                message = f"{output.ename}: {output.evalue}" if output.evalue else output.ename
                output.traceback = [message]
        return cell, resources
