"""Plots for the goalkeeper dataset: the points, and a trained model's decision boundary.

Matplotlib is imported inside the functions so that ``import reg_utils`` stays fast and works without a display.
"""

import numpy as np

#: Axis limits of the field, as in the original assignment's plots: [x1_min, x1_max, x2_min, x2_max].
FIELD_LIMITS = (-0.75, 0.40, -0.75, 0.65)


def _labels_for_colour(y):
    """Flatten labels of shape (1, m) or (m,) to (m,) for Matplotlib's ``c=``."""
    return np.asarray(y).reshape(-1)


def plot_dataset(X, Y, ax=None, title=None):
    """Scatter the points of a dataset, coloured by label (blue: French player, red: opponent).

    Arguments:
    X -- points, (2, m)
    Y -- labels, (1, m)
    ax -- a Matplotlib Axes to draw on; a new figure when None
    title -- optional title

    Returns:
    ax -- the Axes drawn on
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    return _scatter_on_field(ax, X, Y, title)


def plot_decision_boundary(model, X, y, ax=None, title=None, step=0.01):
    """Shade the regions a model assigns to each class, and scatter the points on top.

    Arguments:
    model -- callable taking points in rows, (k, 2), and returning k predictions (any shape with k entries);
             the original's idiom is ``lambda x: predict_dec(parameters, x.T)``
    X -- points, (2, m)
    y -- labels, (1, m)
    ax -- a Matplotlib Axes to draw on; a new figure when None
    title -- optional title
    step -- grid spacing of the shaded regions

    Returns:
    ax -- the Axes drawn on
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    x_min, x_max = X[0, :].min() - 1, X[0, :].max() + 1
    y_min, y_max = X[1, :].min() - 1, X[1, :].max() + 1
    xx, yy = np.meshgrid(np.arange(x_min, x_max, step), np.arange(y_min, y_max, step))
    # The model takes points in rows (as in the original), hence np.c_ rather than a (2, k) stack.
    Z = np.asarray(model(np.c_[xx.ravel(), yy.ravel()]))
    if Z.size != xx.size:
        raise ValueError(f"model returned {Z.size} predictions for {xx.size} grid points; it must return one "
                         f"prediction per row of its input")
    ax.contourf(xx, yy, Z.reshape(xx.shape).astype(float), cmap=plt.cm.Spectral)
    return _scatter_on_field(ax, X, y, title)


def _scatter_on_field(ax, X, Y, title):
    """Scatter points (2, m) coloured by their labels (1, m) over the field's limits; return ax."""
    import matplotlib.pyplot as plt

    ax.scatter(X[0, :], X[1, :], c=_labels_for_colour(Y), s=40, cmap=plt.cm.Spectral, edgecolors="k",
               linewidths=0.3)
    ax.set_xlim(*FIELD_LIMITS[:2])
    ax.set_ylim(*FIELD_LIMITS[2:])
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    if title:
        ax.set_title(title)
    return ax
