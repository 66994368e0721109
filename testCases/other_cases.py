"""Test-case inputs of the third assignment (OtherRegularization): images to augment, a recorded training run
for early stopping, and a weight matrix for max-norm.

Every input is written out or computed by a formula (no random generator), so that it is the same with every
NumPy version. Images are 28x28, one per column of ``X -- (784, m)``, row by row (``X[:, k].reshape(28, 28)``),
pixels in [0, 1].
"""

import numpy as np

SIDE = 28
#: The center of a 28x28 image, in (row, column) pixel coordinates: rotations turn about it.
CENTER = (SIDE - 1) / 2

#: Patience and min_delta of the public early-stopping case.
REPLAY_PATIENCE = 3
REPLAY_MIN_DELTA = 0.01
#: The cap of the public max-norm case.
MAX_NORM_C = 1.5


def _grid():
    """(rows, cols) -- (28, 28) each: the pixel coordinates relative to the center."""
    rows, cols = np.mgrid[0:SIDE, 0:SIDE].astype(np.float64)
    return rows - CENTER, cols - CENTER


def noise_images(m=8):
    """Images of integer-hash noise, different in every pixel up to the border: X -- (784, m).

    A shift of any of them by whole pixels is recognisable, and so is anything that differs from a shift with
    zeros coming in (wrap-around, repeated border pixels, another image).
    """
    rows, cols, k = np.meshgrid(np.arange(SIDE), np.arange(SIDE), np.arange(m), indexing="ij")
    hashed = (rows * 73856093) ^ (cols * 19349663) ^ ((k + 1) * 83492791)
    return ((hashed % 1009) / 1008.0).reshape(SIDE * SIDE, m)


def blob_images(m=8):
    """Round blobs centered on the image's center, of widths 2.5 to 5 pixels: X -- (784, m).

    A rotation about the center leaves them where they are; a rotation about any other point moves them.
    """
    rows, cols = _grid()
    sigmas = np.linspace(2.5, 5.0, m)
    blobs = [np.exp(-(rows ** 2 + cols ** 2) / (2 * s ** 2)) for s in sigmas]
    return np.stack([b.ravel() for b in blobs], axis=1)


def bar_images(m=12):
    """Horizontal bars through the center, 14 to 22 pixels long, with soft edges: X -- (784, m).

    The angle of a bar's long axis (from its second moments) is the angle it was rotated by.
    """
    rows, cols = _grid()
    bars = []
    for k in range(m):
        half_length = 7.0 + 4.0 * k / max(m - 1, 1)
        across = np.exp(-rows ** 2 / (2 * (1.0 + 0.05 * k) ** 2))
        along = 1.0 / (1.0 + np.exp(2.0 * (np.abs(cols) - half_length)))
        bars.append((across * along).ravel())
    return np.stack(bars, axis=1)


def ones_images(m=8):
    """All-ones images: X -- (784, m). After a rotation, zeros must come in at the corners."""
    return np.ones((SIDE * SIDE, m))


def augment_images(kind):
    """The images of one kind: "noise", "blobs", "bars" or "ones" (see the functions above)."""
    makers = {"noise": noise_images, "blobs": blob_images, "bars": bar_images, "ones": ones_images}
    if kind not in makers:
        raise ValueError(f"kind must be one of {sorted(makers)}, got {kind!r}")
    return makers[kind]()


def replay_test_case():
    """A recorded training run: the validation loss after each of 10 epochs and the parameters after each.

    The losses fall, dip by less than min_delta (epoch 5), then rise, then fall again too late (epoch 8):
    with patience 3 and min_delta 0.01 the best epoch is 3 and training stops after epoch 6.

    Returns:
    val_losses -- list of 10 floats
    parameters_per_epoch -- tuple of 10 dicts "W1" (2, 3), "b1" (2, 1): the parameters after each epoch
    """
    val_losses = [1.00, 1.02, 0.80, 0.60, 0.62, 0.595, 0.61, 0.63, 0.64, 0.40]
    W1 = np.array([[0.50, -0.20, 0.10],
                   [-0.30, 0.40, 0.25]])
    b1 = np.array([[0.05], [-0.10]])
    parameters_per_epoch = tuple({"W1": W1 * (1 + 0.1 * epoch), "b1": b1 + 0.01 * epoch}
                                 for epoch in range(len(val_losses)))
    return val_losses, parameters_per_epoch


def max_norm_test_case():
    """A layer's weights W -- (5, 4), row i being unit i's incoming weights, and the cap c.

    Row norms: 0.5 (short), 3.0 (long), 0 (a dead unit), 1.5 (c itself) and about 2.15 (long, negative).
    Column norms differ from every row norm, so that norms taken over the wrong axis show.
    """
    W = np.array([[0.30, 0.40, 0.00, 0.00],
                  [1.80, -2.40, 0.00, 0.00],
                  [0.00, 0.00, 0.00, 0.00],
                  [0.00, 0.90, 1.20, 0.00],
                  [-1.20, 0.00, -1.60, -0.80]])
    return W, MAX_NORM_C
