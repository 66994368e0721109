"""Helpers for the Regularization assignment: data, the baseline network and plotting.

Every name of the original deeplearning.ai ``reg_utils`` imports from here, flat:
``from reg_utils import sigmoid, relu, initialize_parameters, forward_propagation, ...``.
"""

from .activations import relu, sigmoid
from .data import DatasetError, load_2D_dataset, make_football
from .network import (
    backward_propagation,
    compute_cost,
    forward_propagation,
    initialize_parameters,
    predict,
    predict_dec,
    update_parameters,
)
from .plotting import plot_dataset, plot_decision_boundary

__all__ = [
    "sigmoid", "relu",
    "initialize_parameters", "forward_propagation", "backward_propagation", "update_parameters",
    "compute_cost", "predict", "predict_dec",
    "load_2D_dataset", "make_football", "DatasetError",
    "plot_dataset", "plot_decision_boundary",
]

# The deep-network assignment (DeepRegularization): real MNIST digits and an L-layer MLP trainer.
from .digits import load_small_digits
from .mlp import TrainingConfig, evaluate_mlp, initialize_mlp, mlp_forward, mlp_loss_and_grads, predict_mlp, train_mlp
from .mnist import DigitSplits, MnistUnavailableError, fetch_mnist, load_mnist_subset, one_hot

__all__ += [
    "load_mnist_subset", "load_small_digits", "fetch_mnist", "one_hot", "DigitSplits", "MnistUnavailableError",
    "initialize_mlp", "train_mlp", "TrainingConfig", "evaluate_mlp", "mlp_forward", "mlp_loss_and_grads", "predict_mlp",
]
