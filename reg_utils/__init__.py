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
