"""Execute notebooks headless with nbclient, and keep stored notebooks free of run-to-run noise."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

#: Cell metadata that changes on every run (timestamps) and would make stored notebooks differ needlessly.
VOLATILE_CELL_METADATA = ("execution", "collapsed", "scrolled")


def strip_volatile_metadata(nb):
    """Remove timestamps and view state from every cell's metadata, in place; return the notebook."""
    for cell in nb.cells:
        for key in VOLATILE_CELL_METADATA:
            cell.metadata.pop(key, None)
    return nb


def execute_notebook(path, output=None, *, timeout=600, cwd=None, allow_errors=False):
    """Execute a notebook with nbclient and write the executed copy.

    Arguments:
    path -- the notebook to execute
    output -- where to write the executed notebook (default: overwrite `path`)
    timeout -- seconds allowed per cell
    cwd -- working directory of the kernel (default: the notebook's folder)
    allow_errors -- if False, a failing cell raises nbclient's CellExecutionError

    Returns:
    nb -- the executed notebook (nbformat.NotebookNode)
    """
    path = Path(path)
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", allow_errors=allow_errors,
                            resources={"metadata": {"path": str(cwd or path.parent)}})
    client.execute()
    strip_volatile_metadata(nb)
    output = Path(output or path)
    output.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, output)
    return nb


def stream_text(cell, name="stdout"):
    """Everything a code cell printed on one stream ("stdout" or "stderr"), joined into one string.

    The kernel sends what a cell prints in chunks (one per flush of its buffer, every 0.2 s or so) and nbclient
    keeps each chunk as an output of its own, so one printed line can be split across two outputs when the
    machine is busy: read printed text through this, never from one output.
    """
    return "".join(out.get("text", "") for out in cell.get("outputs", [])
                   if out.get("output_type") == "stream" and out.get("name") == name)


def cell_text_output(nb, grade_id):
    """The concatenated stream and text/plain output of the cell with the given nbgrader grade_id."""
    for cell in nb.cells:
        if cell.metadata.get("nbgrader", {}).get("grade_id") == grade_id:
            parts = []
            for out in cell.get("outputs", []):
                if out.output_type == "stream":
                    parts.append(out.text)
                elif "text/plain" in out.get("data", {}):
                    parts.append(out.data["text/plain"])
            return "".join(parts)
    raise KeyError(f"no cell with grade_id {grade_id!r}")


if __name__ == "__main__":
    import sys

    for name in sys.argv[1:]:
        execute_notebook(name)
        print(f"executed {name}")
