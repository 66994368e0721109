"""The assignment registry: one module per assignment, each defining ``ASSIGNMENT`` (a course.assignment.Assignment).

Instructor side. Everything that needs to know an assignment's notebook, graded functions or points (the Makefile,
the grading command, the verifier, the demo, the tests and the benchmarks) asks here. Adding an assignment means
adding its source notebook under ``notebooks/source/<name>/`` and one module here; see the README.

Command line (the Makefile uses it)::

    python -m course.assignments list                  # the assignments' names
    python -m course.assignments notebook NAME         # the notebook's file name
    python -m course.assignments expected NAME         # the text of its generated expected-outputs module
"""

import importlib
import pkgutil
import sys
from functools import lru_cache


@lru_cache(maxsize=None)
def registry():
    """{name: Assignment} of every module in this package, in course order (their `position`)."""
    found = {}
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        assignment = getattr(module, "ASSIGNMENT", None)
        if assignment is None:
            continue
        if assignment.name in found:
            raise ValueError(f"two modules declare the assignment {assignment.name!r}")
        found[assignment.name] = assignment
    return dict(sorted(found.items(), key=lambda item: (item[1].position, item[0])))


def names():
    """The assignments' names."""
    return tuple(registry())


def all_assignments():
    """Every Assignment."""
    return tuple(registry().values())


def get_assignment(name):
    """The Assignment called `name`; KeyError listing the known names otherwise."""
    try:
        return registry()[name]
    except KeyError:
        raise KeyError(f"no assignment {name!r}; the course has {', '.join(names())}") from None


def main(argv=None):
    """The command line (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["list"]:
        print(" ".join(names()))
    elif len(argv) == 2 and argv[0] == "notebook":
        print(get_assignment(argv[1]).notebook)
    elif len(argv) == 2 and argv[0] == "expected":
        print(get_assignment(argv[1]).render_expected(), end="")
    else:
        print(__doc__.strip().split("Command line (the Makefile uses it)::")[1], file=sys.stderr)
        return 2
    return 0
