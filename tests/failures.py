"""What a public check says when it fails: shared by the tests of both assignments' checks."""

import pytest

from testCases.feedback import CheckFailed


def failure_message(check, function):
    """The message of the CheckFailed that check(function) raises; the student's traceback must not leak into it."""
    with pytest.raises(CheckFailed) as info:
        check(function)
    assert info.value.__cause__ is None and info.value.__suppress_context__, "the student's traceback must not leak"
    return str(info.value)
