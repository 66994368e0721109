"""With the original data.mat, reg_utils and the reference solutions reproduce the original published numbers.

The original dataset is not ours to ship: it lives in ../shared/reference/ in development and CI, and this test
skips where it is absent (on a user's machine).
"""

import re
import warnings
from pathlib import Path

import numpy as np
import pytest

from reg_utils import load_2D_dataset, predict
from course.assignments.regularization import load_model

ORIGINAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "reference" / "data.mat"

pytestmark = pytest.mark.skipif(not ORIGINAL_DATA.is_file(), reason=f"original dataset absent: {ORIGINAL_DATA}")


def _run(capsys, **kwargs):
    train_X, train_Y, test_X, test_Y = load_2D_dataset(ORIGINAL_DATA)
    namespace = load_model()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # plt.show() under the Agg backend
        parameters = namespace["model"](train_X, train_Y, **kwargs)
    costs = [float(x) for x in re.findall(r"Cost after iteration \d+: (\S+)", capsys.readouterr().out)]
    train = float(np.mean(predict(train_X, train_Y, parameters) == train_Y))
    test = float(np.mean(predict(test_X, test_Y, parameters) == test_Y))
    return costs, train, test


def test_original_data_loads_with_its_published_shapes():
    train_X, train_Y, test_X, test_Y = load_2D_dataset(ORIGINAL_DATA)
    assert train_X.shape == (2, 211) and train_Y.shape == (1, 211) and test_X.shape == (2, 200)


def test_unregularized_model_reproduces_the_original_costs_and_accuracies(capsys):
    costs, train, test = _run(capsys)
    assert costs == pytest.approx([0.6557412523481002, 0.16329987525724213, 0.1385164242324258], abs=1e-9)
    assert train == pytest.approx(0.9478672985781991, abs=1e-12) and test == pytest.approx(0.915, abs=1e-12)


def test_l2_model_reproduces_the_original_costs_and_accuracies(capsys):
    costs, train, test = _run(capsys, lambd=0.7)
    assert costs == pytest.approx([0.6974484493131264, 0.2684918873282239, 0.2680916337127301], abs=1e-9)
    assert train == pytest.approx(0.9383886255924171, abs=1e-12) and test == pytest.approx(0.93, abs=1e-12)
