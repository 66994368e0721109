"""What a public check says and scores: shared by the tests of every assignment's checks."""

import contextlib
import io

import pytest

import testCases
from testCases.feedback import CheckFailed


def failure_message(check, function):
    """The message of the CheckFailed that check(function) raises; the student's traceback must not leak into it."""
    with pytest.raises(CheckFailed) as info:
        check(function)
    assert info.value.__cause__ is None and info.value.__suppress_context__, "the student's traceback must not leak"
    return str(info.value)


def public_check(function_name):
    """The public check of a graded function: testCases.<function>_test."""
    return getattr(testCases, function_name + "_test")


def variant_function(assignment, variant):
    """The graded function a variant defines: the reference solutions with the variant's answer cell."""
    namespace = assignment.load_solutions(replace={variant.grade_id: assignment.variant_source(variant)})
    return namespace[variant.grade_id]


def scored(check, function, points):
    """(points, message): what testCases.score(check, function, points) earns and what it says, as a test cell
    graded by nbgrader would show it (a failure worth nothing raises there: it earns 0 and says its message)."""
    printed = io.StringIO()
    try:
        with contextlib.redirect_stdout(printed):
            earned = testCases.score(check, function, points)
    except CheckFailed as failure:
        return 0.0, str(failure)
    return earned, printed.getvalue()
