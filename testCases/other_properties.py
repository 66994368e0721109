"""What a right ``augment_batch`` does, judged from its outputs: shared by the public check
(``testCases.other_checks``) and the grader's verification pass, so that both recognise the same mistakes.

Random augmentation has no single right output: any way of drawing the shifts and angles is fine. What every
right answer has in common is checked instead, on a few calls (``PROBES``) whose synthetic images each make one
property visible (``testCases.other_cases``):

- every image stays in its column, so that the labels ``Y`` still fit (noise images, shifts only);
- shifts are whole pixels, at most ``max_shift`` each way, and zeros come in (noise images: content up to the
  border, so wrap-around and repeated border pixels show);
- rotations turn about the image's center (round blobs stay put) by at most ``max_angle`` degrees (the long axis
  of a bar), and zeros come in at the corners (all-ones images);
- each image gets its own transform, drawn from ``rng`` only (the same seed gives the same batch);
- pixels stay in [0, 1] (linear or nearest interpolation never overshoots).
"""

from dataclasses import dataclass

import numpy as np

from . import other_cases as cases

#: Tolerance for "the same pixel value" (float32 images, linear interpolation).
PIXEL_ATOL = 1e-5
#: How far a round blob's centroid may move under a rotation "about the center" (pixels): a rotation about the
#: center pixel (14, 14) instead of (13.5, 13.5) moves it by less.
CENTROID_TOLERANCE = 0.5
#: How far beyond max_angle a bar's measured angle may be (degrees): interpolation blurs a little.
ANGLE_TOLERANCE = 3.0


@dataclass(frozen=True)
class Mistake:
    """A known mistake: the share of the points it keeps, and the hint that names it."""

    credit: float
    hint: str


#: Mistakes of augment_batch recognised by what its outputs do, by name (the assignment's variants use the same
#: names), with the share of the points each one keeps.
AUGMENT_MISTAKES = {
    "aug_permutes_columns": Mistake(0.25, "the images changed columns: column i of X_aug must be image i of X "
                                          "transformed, so that Y still labels it (augmentation never changes a "
                                          "label)"),
    "aug_wraps": Mistake(0.5, "pixels pushed out on one side come back on the other (np.roll wraps around): what "
                              "comes in from outside the image must be 0"),
    "aug_invents_border": Mistake(0.5, "pixels that come in from outside the image copy the border (mode='nearest' "
                                       "or 'reflect'): they must be 0, e.g. mode='constant' with cval=0"),
    "aug_corner_rotation": Mistake(0.5, "the images rotate about a corner: rotate about the image's center "
                                        "(row 13.5, column 13.5)"),
    "aug_one_transform": Mistake(0.5, "every image of the batch got the same transform: draw a shift and an angle "
                                      "for each image"),
    "aug_overshoots": Mistake(0.5, "pixels came out below 0 or above 1: cubic splines (scipy's default order=3) "
                                   "overshoot; interpolate linearly (order=1) or take the nearest pixel (order=0)"),
    "aug_global_rng": Mistake(0.5, "two calls with the same rng returned different images: draw every random "
                                   "number from rng (rng.integers, rng.uniform), not from np.random"),
}


@dataclass(frozen=True)
class Probe:
    """One call augment_batch(images, rng, **kwargs) of the checks; max_shift/max_angle None: the defaults."""

    name: str
    images: str
    rng: int
    max_shift: int = None
    max_angle: float = None

    @property
    def kwargs(self):
        given = {"max_shift": self.max_shift, "max_angle": self.max_angle}
        return {key: value for key, value in given.items() if value is not None}

    def inputs(self):
        """The probe's images X -- (784, m)."""
        return cases.augment_images(self.images)

    def describe(self):
        settings = ", ".join(f"{k}={v}" for k, v in self.kwargs.items()) or "the default max_shift and max_angle"
        return f"augment_batch(X, rng={self.rng}, {settings}) on {self.images} images"


PROBES = (
    Probe("shifts", "noise", 3, max_shift=2, max_angle=0),
    Probe("shifts_again", "noise", 3, max_shift=2, max_angle=0),
    Probe("other_rng", "noise", 4, max_shift=2, max_angle=0),
    Probe("identity", "noise", 5, max_shift=0, max_angle=0),
    Probe("blobs", "blobs", 6, max_shift=0, max_angle=30),
    Probe("bars", "bars", 7, max_shift=0, max_angle=30),
    Probe("ones", "ones", 8, max_shift=0, max_angle=20),
    Probe("defaults", "noise", 9),
)
_BY_NAME = {probe.name: probe for probe in PROBES}


@dataclass(frozen=True)
class Problem:
    """What is wrong with the outputs: a message, a hint, and the known mistake it is (a key of AUGMENT_MISTAKES)."""

    message: str
    hint: str
    mistake: str = None

    @property
    def credit(self):
        """The share of the points the answer keeps (0 unless it is a known mistake)."""
        return AUGMENT_MISTAKES[self.mistake].credit if self.mistake else 0.0


def _known(message, mistake):
    return Problem(message, AUGMENT_MISTAKES[mistake].hint, mistake)


def augmentation_problem(outputs):
    """The first property of a right augmentation that the outputs lack, or None when they have them all.

    Arguments:
    outputs -- {probe name: what augment_batch returned on that probe of PROBES}

    Returns:
    a Problem, or None
    """
    steps = (_shape_problem, _identity_problem, _range_problem, _rng_problem, _shift_problem, _center_problem,
             _angle_problem, _border_problem)
    arrays = {}
    for step in steps:
        problem = step(outputs, arrays)
        if problem is not None:
            return problem
    return None


def _shape_problem(outputs, arrays):
    """Every output is a finite numeric array of its input's shape (stored as float64 in `arrays`)."""
    for probe in PROBES:
        X, got = probe.inputs(), outputs.get(probe.name)
        if not isinstance(got, np.ndarray) or not (np.issubdtype(got.dtype, np.number) or got.dtype == bool):
            kind = "nothing" if got is None else type(got).__name__
            return Problem(f"{probe.describe()} returned {kind}, expected a numpy array of shape {X.shape}",
                           "return X_aug, the transformed images, one per column (and nothing else).")
        if got.shape != X.shape:
            return Problem(f"{probe.describe()} returned shape {got.shape}, expected {X.shape}",
                           "X_aug has X's shape: 784 pixels (28 x 28, row by row) per column, one column per image.")
        if not np.all(np.isfinite(got)):
            return Problem(f"{probe.describe()} returned nan or inf", "check the interpolation's divisions.")
        arrays[probe.name] = np.asarray(got, dtype=np.float64)
    return None


def _identity_problem(outputs, arrays):
    probe = _BY_NAME["identity"]
    X, got = probe.inputs(), arrays[probe.name]
    for j in range(X.shape[1]):
        if np.allclose(got[:, j], X[:, j], atol=PIXEL_ATOL, rtol=0):
            continue
        moved = [k for k in range(X.shape[1]) if np.allclose(got[:, j], X[:, k], atol=PIXEL_ATOL, rtol=0)]
        if moved:
            return _known(f"{probe.describe()}: column {j} of X_aug is image {moved[0]} of X", "aug_permutes_columns")
        return Problem(f"{probe.describe()} changed image {j}: with max_shift=0 and max_angle=0 every image must "
                       "come back unchanged", "a shift by 0 and a rotation by 0 degrees leave an image as it is.")
    return None


def _range_problem(outputs, arrays):
    for probe in PROBES:
        got = arrays[probe.name]
        if got.min() < -PIXEL_ATOL or got.max() > 1 + PIXEL_ATOL:
            return _known(f"{probe.describe()} returned pixels from {got.min():.4g} to {got.max():.4g}, outside "
                          "[0, 1]", "aug_overshoots")
    return None


def _rng_problem(outputs, arrays):
    first, again, other = (arrays[name] for name in ("shifts", "shifts_again", "other_rng"))
    if not np.allclose(first, again, atol=PIXEL_ATOL, rtol=0):
        return _known(f"{_BY_NAME['shifts'].describe()} gave different images when called twice", "aug_global_rng")
    if np.allclose(first, other, atol=PIXEL_ATOL, rtol=0):
        return Problem("rng=3 and rng=4 gave exactly the same images", "every random number must come from rng: "
                       "another seed gives other shifts and angles (do not make a generator with a fixed seed).")
    return None


def shifted(image, dy, dx):
    """A 28x28 image moved dy rows down and dx columns right by whole pixels, zeros coming in."""
    out = np.zeros_like(image)
    rows, cols = image.shape
    out[max(dy, 0):rows + min(dy, 0), max(dx, 0):cols + min(dx, 0)] = \
        image[max(-dy, 0):rows - max(dy, 0), max(-dx, 0):cols - max(dx, 0)]
    return out


def shift_between(original, image, limit, move=shifted, margin=0):
    """(dy, dx) with |dy|, |dx| <= limit such that `image` is `move(original, dy, dx)` (compared `margin` pixels
    away from the border), or None."""
    inner = (slice(margin, cases.SIDE - margin),) * 2
    for dy in range(-limit, limit + 1):
        for dx in range(-limit, limit + 1):
            if np.allclose(move(original, dy, dx)[inner], image[inner], atol=PIXEL_ATOL, rtol=0):
                return dy, dx
    return None


def _column_problem(probe, X, got, j):
    """Why column j of a shifts-only probe is not image j shifted by at most max_shift with zeros coming in."""
    side, limit = cases.SIDE, probe.max_shift
    image, original = got[:, j].reshape(side, side), X[:, j].reshape(side, side)
    others = [k for k in range(X.shape[1]) if k != j
              and shift_between(X[:, k].reshape(side, side), image, limit) is not None]
    if others:
        return _known(f"{probe.describe()}: column {j} of X_aug is image {others[0]} of X, shifted",
                      "aug_permutes_columns")
    rolled = shift_between(original, image, limit, move=lambda a, dy, dx: np.roll(a, (dy, dx), axis=(0, 1)))
    if rolled is not None:
        return _known(f"{probe.describe()}: column {j} is image {j} rolled by {rolled}, with wrap-around",
                      "aug_wraps")
    if shift_between(original, image, limit, margin=limit) is not None:
        return _known(f"{probe.describe()}: column {j} is image {j} shifted, but the pixels that came in from "
                      "outside are not 0", "aug_invents_border")
    far = shift_between(original, image, limit + 3)
    if far is not None:
        return Problem(f"{probe.describe()}: column {j} is image {j} shifted by {far}, more than max_shift = {limit}",
                       "draw dy and dx from -max_shift to max_shift included, e.g. "
                       "rng.integers(-max_shift, max_shift + 1).")
    return Problem(f"{probe.describe()}: column {j} of X_aug is not image {j} shifted by whole pixels",
                   "with max_angle=0 the only change is a shift by whole pixels (dy rows, dx columns, each at most "
                   "max_shift), zeros coming in; the rotation by 0 degrees changes nothing.")


def _shift_problem(outputs, arrays):
    probe = _BY_NAME["shifts"]
    X, got = probe.inputs(), arrays[probe.name]
    moves = []
    for j in range(X.shape[1]):
        move = shift_between(X[:, j].reshape(cases.SIDE, cases.SIDE), got[:, j].reshape(cases.SIDE, cases.SIDE),
                             probe.max_shift)
        if move is None:
            return _column_problem(probe, X, got, j)
        moves.append(move)
    if len(set(moves)) == 1:
        return _known(f"{probe.describe()} shifted all {len(moves)} images by the same {moves[0]}",
                      "aug_one_transform")
    return None


def centroid(image):
    """(row, column) of an image's center of mass, in pixels."""
    weights = np.clip(image, 0, None)
    rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    total = weights.sum()
    return float((weights * rows).sum() / total), float((weights * cols).sum() / total)


def _center_problem(outputs, arrays):
    probe = _BY_NAME["blobs"]
    for j, column in enumerate(arrays[probe.name].T):
        if column.sum() < 1e-9:
            return _known(f"{probe.describe()}: image {j} came back empty (it was rotated out of the image)",
                          "aug_corner_rotation")
        row, col = centroid(column.reshape(cases.SIDE, cases.SIDE))
        moved = float(np.hypot(row - cases.CENTER, col - cases.CENTER))
        if moved > CENTROID_TOLERANCE:
            return _known(f"{probe.describe()}: the blob centered on image {j}'s center moved by {moved:.2f} pixels "
                          f"(to row {row:.2f}, column {col:.2f})", "aug_corner_rotation")
    return None


def orientation(image):
    """The angle in degrees, in (-90, 90], of an image's long axis (from its second central moments)."""
    weights = np.clip(image, 0, None)
    row, col = centroid(image)
    rows, cols = np.mgrid[0:image.shape[0], 0:image.shape[1]]
    dr, dc = rows - row, cols - col
    mu_cc, mu_rr, mu_rc = (weights * dc * dc).sum(), (weights * dr * dr).sum(), (weights * dr * dc).sum()
    return float(np.degrees(0.5 * np.arctan2(2 * mu_rc, mu_cc - mu_rr)))


def _angle_problem(outputs, arrays):
    probe = _BY_NAME["bars"]
    angles = np.array([orientation(c.reshape(cases.SIDE, cases.SIDE)) for c in arrays[probe.name].T])
    largest = float(np.abs(angles).max())
    if largest > probe.max_angle + ANGLE_TOLERANCE:
        return Problem(f"{probe.describe()}: a horizontal bar came back at {largest:.1f} degrees, more than "
                       f"max_angle = {probe.max_angle}", "draw the angle from -max_angle to max_angle degrees.")
    if largest < probe.max_angle / 3:
        return Problem(f"{probe.describe()}: no bar turned by more than {largest:.2f} degrees", "rotate each image "
                       "by an angle drawn uniformly from [-max_angle, max_angle]; the angle is in degrees "
                       "(scipy.ndimage.rotate takes degrees; np.cos and np.sin take radians).")
    if np.ptp(angles) < 1.0:
        return _known(f"{probe.describe()} turned all {angles.size} bars by the same {angles[0]:.1f} degrees",
                      "aug_one_transform")
    return None


def _border_problem(outputs, arrays):
    probe = _BY_NAME["ones"]
    lost = 1 - arrays[probe.name].mean(axis=0)  # the share of an all-ones image that is no longer 1
    if np.count_nonzero(lost > 0.01) < lost.size / 2:
        return _known(f"{probe.describe()}: the rotated images are still all ones at the corners (at most "
                      f"{lost.max():.1%} of each image became 0)", "aug_invents_border")
    return None
