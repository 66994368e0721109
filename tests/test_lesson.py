"""The lesson holds on the shipped data: regularization trades training fit for test accuracy.

The numbers are the stored outputs of the source notebook; nbval (in `make test`) re-executes the notebook and
fails if they are not reproduced, so together the two tests pin the lesson to what a student will see.
"""

import pytest

from course.assignments.regularization import stored_accuracies


@pytest.fixture(scope="module")
def accuracies():
    found = stored_accuracies()
    assert set(found) == {"baseline_train", "l2_train", "dropout_train"}
    return found


def test_unregularized_model_overfits(accuracies):
    train, test = accuracies["baseline_train"]
    assert train > test


@pytest.mark.parametrize("run", ["l2_train", "dropout_train"])
def test_regularization_raises_test_accuracy_without_raising_train_accuracy(accuracies, run):
    base_train, base_test = accuracies["baseline_train"]
    train, test = accuracies[run]
    assert test > base_test
    assert train <= base_train
