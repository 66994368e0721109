"""Test-case inputs and public checks for the Regularization assignment.

``from testCases import *`` brings in the original generators (``compute_cost_with_regularization_test_case`` and
the three others) and one public check per graded function (``compute_cost_with_regularization_test(target)`` and
so on).
"""

from .cases import (
    backward_propagation_with_dropout_test_case,
    backward_propagation_with_regularization_test_case,
    compute_cost_with_regularization_test_case,
    forward_propagation_with_dropout_test_case,
)
from .checks import (
    backward_propagation_with_dropout_test,
    backward_propagation_with_regularization_test,
    compute_cost_with_regularization_test,
    forward_propagation_with_dropout_test,
)
from .feedback import CheckFailed, score

__all__ = [
    "compute_cost_with_regularization_test_case", "backward_propagation_with_regularization_test_case",
    "forward_propagation_with_dropout_test_case", "backward_propagation_with_dropout_test_case",
    "compute_cost_with_regularization_test", "backward_propagation_with_regularization_test",
    "forward_propagation_with_dropout_test", "backward_propagation_with_dropout_test",
    "CheckFailed", "score",
]
