"""Comparison helpers that turn a wrong answer into a message a student can act on.

Every failure raises ``CheckFailed`` (an ``AssertionError``) whose message names the variable, shows expected
against got, and adds a hint. Nothing here lets a student's bug escape as a traceback from inside testCases.
"""

import sys
import traceback

import numpy as np

#: Tolerances for value comparisons: the reference inputs are stored to 8 decimals.
RTOL = 1e-6
ATOL = 1e-7
#: How the line that a partly credited check prints starts (the grading side looks for it in the output).
PARTIAL_CREDIT = "Partial credit"


class CheckFailed(AssertionError):
    """A public check found a wrong answer; the message says what and why.

    Attributes:
    credit -- share of the points the answer still earns, in [0, 1): a known mistake may earn partial credit
    """

    def __init__(self, message, credit=0.0):
        super().__init__(message)
        self.credit = credit


def fail(message, hint=None, credit=0.0):
    """Raise CheckFailed with a message, an optional hint (a line starting with 'Hint:') and partial credit."""
    __tracebackhide__ = True  # IPython and pytest hide this frame: the message is what matters
    text = message if hint is None else f"{message}\nHint: {hint}"
    raise CheckFailed(text, credit) from None


def call_student(function, *args, line_hints=(), **kwargs):
    """Call the student's function; if it raises, fail with the exception and the line of their code.

    Arguments:
    function -- the student's function
    *args, **kwargs -- passed through
    line_hints -- pairs (words, hint): when every word occurs in the failing line of the student's code, the hint
                  names the mistake (e.g. (("dA2", "D1"), "the masks are swapped"))

    Returns:
    whatever the function returns
    """
    __tracebackhide__ = True
    name = getattr(function, "__name__", repr(function))
    if not callable(function):
        fail(f"expected a function to check, got {type(function).__name__}",
             "pass the function itself, e.g. compute_cost_with_regularization_test(compute_cost_with_regularization)")
    try:
        return function(*args, **kwargs)
    except Exception as exc:  # a student's bug of any kind becomes a message, not our traceback
        frame = _student_frame(exc)
        line = (frame.line or "").strip() if frame else ""
        where = f"\n  at line {frame.lineno} of {frame.name}" + (f": {line}" if line else "") if frame else ""
        hint = next((h for words, h in line_hints if all(w in line for w in words)), None)
        fail(f"{name} raised {type(exc).__name__}: {exc}{where}", hint or _hint_for_exception(exc))


def _student_frame(exc):
    """The deepest frame of the traceback that is not in testCases, NumPy or the installed packages."""
    ours = (__file__.rsplit("/", 1)[0], np.__file__.rsplit("/", 2)[0], sys.prefix, sys.base_prefix)
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if not f.filename.startswith(ours)]
    return frames[-1] if frames else None


def _hint_for_exception(exc):
    """A hint for the exceptions students meet most often."""
    text = str(exc)
    if isinstance(exc, NotImplementedError):
        return "the exercise is not done yet: replace `raise NotImplementedError()` with your code."
    if isinstance(exc, ValueError) and ("shapes" in text or "broadcast" in text or "aligned" in text):
        return ("two arrays have shapes that do not fit together. Print the shapes of the operands on that line; "
                "np.dot(W, A) needs W (n_l, n_prev) and A (n_prev, m), and A.T transposes.")
    if isinstance(exc, KeyError):
        return f"the dict has no key {exc}. Parameter names are 'W1', 'b1', ...; gradient names 'dW1', 'db1', ..."
    if isinstance(exc, NameError):
        return "a name is not defined. Did you run the cell that defines it, and spell it as the notebook does?"
    if isinstance(exc, TypeError) and "NoneType" in text:
        return "a value is None: a variable still holds the placeholder None, or a function lacks a return."
    if isinstance(exc, (TypeError, ValueError)) and "unpack" in text:
        return "the cache tuple has another length than your unpacking: check its order in the docstring."
    return "read the line above: it is where your function stopped."


def check_number(name, got, expected, hint=None, credit=0.0):
    """Fail unless got is a real number close to expected.

    Arguments:
    name -- the variable's name, for the message
    got -- the student's value
    expected -- float
    hint -- what to suggest when the value is wrong
    credit -- share of the points still earned when the value is wrong (a known, partly right mistake)
    """
    __tracebackhide__ = True
    if got is None:
        fail(f"{name} is None, expected a number close to {expected!r}",
             "the function must `return` the value; check that the last line is a return statement.")
    if isinstance(got, np.ndarray) and got.size == 1 and got.ndim > 0:
        fail(f"{name} is an array of shape {got.shape}, expected a number (a scalar)",
             "np.sum(...) of the whole array returns a scalar; don't keep dimensions for the cost.")
    if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, float, np.integer, np.floating, np.ndarray)):
        fail(f"{name} has type {type(got).__name__}, expected a number close to {expected!r}")
    if isinstance(got, np.ndarray) and got.ndim > 0:
        fail(f"{name} is an array of shape {got.shape}, expected a number (a scalar)",
             "sum over every entry (np.sum without axis) to get one number.")
    value = float(got)
    if np.isnan(value) or np.isinf(value):
        fail(f"{name} is {value}, expected {expected!r}",
             "a log of 0 or a division by 0 gives nan/inf: check the operations on that value.")
    if not np.isclose(value, expected, rtol=RTOL, atol=ATOL):
        fail(f"{name} is wrong: got {value!r}, expected {expected!r}", hint, credit)


def check_array(name, got, expected, hint=None, dtype_kind="f", credit=0.0):
    """Fail unless got is a numpy array of expected's shape with values close to expected's.

    Arguments:
    name -- the variable's name, for the message
    got -- the student's value
    expected -- numpy array
    hint -- what to suggest when the values are wrong
    dtype_kind -- "f" for numbers (any numeric dtype accepted), "b" for a mask (booleans or 0/1 numbers)
    credit -- share of the points still earned when the values are wrong (a known, partly right mistake)
    """
    __tracebackhide__ = True
    if got is None:
        fail(f"{name} is None, expected an array of shape {expected.shape}",
             f"assign {name} (it still holds None) and return it.")
    if not isinstance(got, np.ndarray):
        fail(f"{name} has type {type(got).__name__}, expected a numpy array of shape {expected.shape}",
             "numpy operations on arrays return arrays; a Python list or number here means a step went wrong.")
    if not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
        fail(f"{name} has dtype {got.dtype}, expected numbers")
    if got.shape != expected.shape:
        fail(f"{name} has shape {got.shape}, expected {expected.shape}", _shape_hint(got.shape, expected.shape))
    if dtype_kind == "b" and not np.all(np.isin(got, (0, 1))):
        fail(f"{name} should hold only 0/1 (or False/True), got values {np.unique(got)[:5].tolist()}",
             "a mask is a comparison such as np.random.rand(...) < keep_prob, before any scaling.")
    got_f = got.astype(np.float64)
    bad = np.argwhere(~np.isfinite(got_f))
    if bad.size:
        where = tuple(int(i) for i in bad[0])
        fail(f"{name} contains {got_f[where]} at {list(where)}",
             "a log of 0 or a division by 0 gives nan/inf: check the operations that produce it.")
    close = np.isclose(got_f, expected.astype(np.float64), rtol=RTOL, atol=ATOL)
    if not close.all():
        where = tuple(int(i) for i in np.argwhere(~close)[0])
        count = int((~close).sum())
        fail(f"{name} differs at {list(where)}: got {got_f[where]:.8g}, expected {float(expected[where]):.8g} "
             f"({count} of {close.size} entries differ)", hint, credit)


def _shape_hint(got, expected):
    """Explain the usual causes of a wrong shape."""
    if tuple(reversed(got)) == tuple(expected):
        return "the shape is transposed: check the order of the operands of np.dot and where .T is needed."
    if len(got) != len(expected):
        return "a dimension was lost or added: use keepdims=True when summing over an axis."
    return "check which axis you sum over (axis=1 sums over the examples) and the operand order of np.dot."


def check_dict(name, got, keys):
    """Fail unless got is a dict that has every key in keys.

    Arguments:
    name -- the variable's name, for the message
    got -- the student's value
    keys -- iterable of required keys
    """
    __tracebackhide__ = True
    if not isinstance(got, dict):
        fail(f"{name} has type {type(got).__name__}, expected a dict with keys {', '.join(keys)}",
             "return the gradients dict built at the end of the function.")
    missing = [k for k in keys if k not in got]
    if missing:
        fail(f"{name} lacks the key(s) {', '.join(missing)}",
             "keep the dict at the end of the function as given: it lists every gradient.")


def check_tuple(name, got, length):
    """Fail unless got is a tuple (or list) of the given length.

    Arguments:
    name -- the variable's name, for the message
    got -- the student's value
    length -- int
    """
    __tracebackhide__ = True
    if not isinstance(got, (tuple, list)):
        fail(f"{name} has type {type(got).__name__}, expected a tuple of {length} entries")
    if len(got) != length:
        fail(f"{name} has {len(got)} entries, expected {length}",
             "keep the cache line at the end of the function as given.")


def unpack_pair(name, got):
    """Fail unless got is a pair (first, second); return it.

    Arguments:
    name -- the function's name, for the message
    got -- the student's return value
    """
    __tracebackhide__ = True
    if not isinstance(got, tuple) or len(got) != 2:
        kind = type(got).__name__ if not isinstance(got, tuple) else f"a tuple of {len(got)}"
        fail(f"{name} returned {kind}, expected the pair (A3, cache)",
             "end the function with `return A3, cache`.")
    return got


def passed(message):
    """Print the pass line of a check."""
    print(f"All tests passed: {message}")


def score(check, target, points):
    """Run a public check for grading, and return the points it earns (nbgrader reads partial credit from the
    number a test cell evaluates to).

    A correct answer earns every point. A known mistake that is partly right earns its share, and the check's
    message is printed so that the student's feedback names the mistake. Any other failure raises, and the cell
    earns nothing.

    Arguments:
    check -- a public check, e.g. compute_cost_with_regularization_test
    target -- the student's function
    points -- the points of the test cell

    Returns:
    earned -- float in [0, points]
    """
    __tracebackhide__ = True
    try:
        check(target)
    except CheckFailed as failure:
        if failure.credit <= 0:
            raise
        earned = round(points * failure.credit, 2)
        print(f"{PARTIAL_CREDIT}, {earned} of {points} points: {failure}")
        return earned
    return float(points)


def find_known_mistake(catalogue, function_name, variable, got):
    """The first entry of a KNOWN_MISTAKES catalogue whose output for `variable` equals `got`, without its outputs.

    Arguments:
    catalogue -- {function: [(description, ..., {variable: output})]}
    function_name, variable -- where to look
    got -- the student's value

    Returns:
    the entry's leading fields (description first) as a tuple, or None
    """
    for *fields, outputs in catalogue.get(function_name, ()):
        value = outputs.get(variable)
        if value is None:
            continue
        try:
            same = np.shape(got) == np.shape(value) and np.allclose(np.asarray(got, dtype=np.float64), value,
                                                                    rtol=1e-6, atol=1e-7)
        except (TypeError, ValueError):
            same = False
        if same:
            return tuple(fields)
    return None
