"""The 2-D "goalkeeper" dataset: where the goalkeeper's kicks land, and which team heads the ball.

``make_football`` generates it (sklearn style: keyword-only ``random_state``, one local generator, never the
global RNG). ``load_2D_dataset`` reads the copy shipped with the package by default, or a file you name: our
``.npz`` format or the original assignment's MATLAB ``data.mat``. Every function returns examples in columns:
``train_X -- (2, m_train)``, ``train_Y -- (1, m_train)``, ``test_X -- (2, m_test)``, ``test_Y -- (1, m_test)``.
"""

from pathlib import Path

import numpy as np

#: The copy of ``make_football(random_state=FOOTBALL_SEED)`` that ships with the package.
DEFAULT_DATASET = Path(__file__).with_name("data") / "football.npz"

#: The seed the shipped dataset was generated with (``tests/test_data.py`` regenerates it from this).
FOOTBALL_SEED = 0

#: The part of the field the kicks land in: an ellipse (center_x1, center_x2, half_width, half_height).
LANDING_ZONE = (-0.15, -0.05, 0.45, 0.62)


class DatasetError(ValueError):
    """A dataset file exists but cannot be used: unreadable, missing keys, or inconsistent shapes."""


def _boundary(x1):
    """The true boundary between the teams: a wavy, roughly diagonal curve x2 = f(x1).

    Arguments:
    x1 -- numpy array of first coordinates, any shape

    Returns:
    x2 -- numpy array, same shape as x1
    """
    return 1.4 * (x1 + 0.15) - 0.05 + 0.1 * np.sin(12.0 * x1)


def make_football(n_train=211, n_test=200, *, noise=0.06, flip=0.03, random_state=None):
    """Generate the goalkeeper dataset.

    Points are uniform on the elliptic landing zone ``LANDING_ZONE``. A point is labelled 1 (a French player heads the ball) when it lies
    above a wavy diagonal boundary, 0 otherwise. Labels near the boundary are noisy: each point's side is judged
    after a Gaussian jitter of standard deviation ``noise``, and a further share ``flip`` of all labels is flipped
    at random. The noise is what lets an unregularized network overfit: it can carve small islands around the
    mislabelled points of the training set, which do not carry over to the test set.

    Arguments:
    n_train -- number of training examples, int >= 1
    n_test -- number of test examples, int >= 1
    noise -- standard deviation of the jitter across the boundary, float >= 0
    flip -- probability that a label is flipped outright, float in [0, 1)
    random_state -- None, an int seed, or a numpy.random.Generator

    Returns:
    train_X -- (2, n_train) float64
    train_Y -- (1, n_train) int64 in {0, 1}
    test_X -- (2, n_test) float64
    test_Y -- (1, n_test) int64 in {0, 1}
    """
    for name, value in (("n_train", n_train), ("n_test", n_test)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    if not 0 <= flip < 1:
        raise ValueError(f"flip must be in [0, 1), got {flip!r}")
    rng = np.random.default_rng(random_state)

    def draw(m):
        c1, c2, half_width, half_height = LANDING_ZONE
        # Uniform on the ellipse: radius sqrt(u) makes the density uniform in area, not crowded at the centre.
        radius = np.sqrt(rng.random(m))
        angle = rng.uniform(0.0, 2 * np.pi, m)
        X = np.vstack([c1 + half_width * radius * np.cos(angle), c2 + half_height * radius * np.sin(angle)])
        jitter = rng.normal(0.0, noise, m)
        Y = (X[1] + jitter > _boundary(X[0])).astype(np.int64)
        flipped = rng.random(m) < flip
        Y[flipped] = 1 - Y[flipped]
        return X, Y.reshape(1, m)

    train_X, train_Y = draw(n_train)
    test_X, test_Y = draw(n_test)
    return train_X, train_Y, test_X, test_Y


def save_dataset(path, train_X, train_Y, test_X, test_Y):
    """Write a dataset in our ``.npz`` format (examples in columns), after checking its shapes.

    Arguments:
    path -- where to write, str or Path (".npz" is the expected suffix)
    train_X -- (2, m_train); train_Y -- (1, m_train); test_X -- (2, m_test); test_Y -- (1, m_test)
    """
    arrays = _validated(str(path), train_X, train_Y, test_X, test_Y)
    np.savez(path, **dict(zip(("train_X", "train_Y", "test_X", "test_Y"), arrays)))


def load_2D_dataset(path=None):
    """Load the goalkeeper dataset, examples in columns.

    With no argument, the copy shipped with the package. Otherwise ``path`` may be:
    - our ``.npz`` format: keys ``train_X`` (2, m), ``train_Y`` (1, m), ``test_X``, ``test_Y`` (columns);
    - a ``.npz`` or MATLAB ``.mat`` file in the original assignment's format: keys ``X`` (m, 2), ``y`` (m, 1),
      ``Xval``, ``yval``, examples in rows (they are transposed here).
    The loader does not plot; use ``reg_utils.plot_dataset`` for that.

    Arguments:
    path -- None, or str / Path of a ``.npz`` or ``.mat`` file

    Returns:
    train_X -- (2, m_train) float64
    train_Y -- (1, m_train) int64 in {0, 1}
    test_X -- (2, m_test) float64
    test_Y -- (1, m_test) int64 in {0, 1}

    Raises:
    FileNotFoundError -- the file does not exist (the message names the path)
    DatasetError -- the file cannot be read, lacks keys, or holds inconsistent shapes or labels
    """
    path = DEFAULT_DATASET if path is None else Path(path)
    if not path.is_file():
        hint = (" The shipped dataset is missing: reinstall the package (pip install -e .)."
                if path == DEFAULT_DATASET else "")
        raise FileNotFoundError(f"dataset file not found: {path}.{hint}")
    contents = _read(path)
    if {"train_X", "train_Y", "test_X", "test_Y"} <= contents.keys():
        arrays = [contents[k] for k in ("train_X", "train_Y", "test_X", "test_Y")]
    elif {"X", "y", "Xval", "yval"} <= contents.keys():
        arrays = [np.asarray(contents[k]).T for k in ("X", "y", "Xval", "yval")]
    else:
        found = sorted(k for k in contents if not k.startswith("__"))
        raise DatasetError(f"{path}: expected keys train_X, train_Y, test_X, test_Y (columns) or X, y, Xval, yval "
                           f"(rows, the original data.mat), found {found}")
    return _validated(str(path), *arrays)


def _read(path):
    """Read every array of a .npz or .mat file into a dict, turning any reader failure into DatasetError."""
    suffix = path.suffix.lower()
    try:
        if suffix == ".npz":
            # allow_pickle=False: a dataset never needs Python objects, and unpickling a stranger's file is unsafe.
            with np.load(path, allow_pickle=False) as npz:
                return {k: npz[k] for k in npz.files}
        if suffix == ".mat":
            import scipy.io  # imported here: only .mat files need scipy

            return scipy.io.loadmat(path)
    except Exception as exc:  # corrupt files make numpy and scipy raise many kinds of error (even IndexError)
        raise DatasetError(f"{path}: cannot read the file as {suffix}: {exc}") from exc
    raise DatasetError(f"{path}: unknown dataset format {suffix!r}; expected .npz or .mat")


def _validated(where, train_X, train_Y, test_X, test_Y):
    """Check shapes, values and labels of a dataset given in columns; return float64 X and int64 Y arrays."""
    out = []
    for split, X, Y in (("train", train_X, train_Y), ("test", test_X, test_Y)):
        X = np.asarray(X)
        Y = np.asarray(Y)
        if X.ndim != 2 or X.shape[0] != 2 or X.shape[1] < 1:
            raise DatasetError(f"{where}: {split}_X must have shape (2, m) with examples in columns, "
                               f"got {X.shape}")
        m = X.shape[1]
        if Y.ndim == 1:
            Y = Y.reshape(1, -1)
        if Y.shape != (1, m):
            raise DatasetError(f"{where}: {split}_Y has shape {Y.shape}, expected (1, {m}) to match {split}_X "
                               f"{X.shape}")
        if not np.issubdtype(X.dtype, np.number) or not np.all(np.isfinite(X)):
            raise DatasetError(f"{where}: {split}_X must hold finite numbers")
        if not np.issubdtype(Y.dtype, np.number) or not np.all(np.isin(Y, (0, 1))):
            raise DatasetError(f"{where}: {split}_Y must hold labels 0 and 1 only, found "
                               f"{np.unique(Y)[:10].tolist()}")
        out += [X.astype(np.float64), Y.astype(np.int64)]
    return tuple(out)
