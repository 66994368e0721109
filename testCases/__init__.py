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

# The deep-network assignment (DeepRegularization): its cases and public checks.
from .deep_cases import dropout_backward_test_case, dropout_forward_test_case, regularization_test_case
from .deep_checks import (dropout_backward_test, dropout_forward_test, l1_regularization_test,
                          l2_regularization_test)

__all__ += [
    "regularization_test_case", "dropout_forward_test_case", "dropout_backward_test_case",
    "l2_regularization_test", "l1_regularization_test", "dropout_forward_test", "dropout_backward_test",
]

# The third assignment (OtherRegularization): its cases and public checks.
from .other_cases import max_norm_test_case, replay_test_case
from .other_checks import augment_batch_test, max_norm_test, replay_early_stopping_test

__all__ += [
    "replay_test_case", "max_norm_test_case", "augment_batch_test", "replay_early_stopping_test", "max_norm_test",
]
