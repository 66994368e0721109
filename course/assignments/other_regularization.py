"""The OtherRegularization assignment (data augmentation, early stopping and max-norm in the deep MLP on MNIST
digits): its registry entry.

Instructor side only: the graded functions with their verification cases, the known mistakes with their share of
the points, the correct alternatives that must earn full marks, and the generator of ``testCases/other_expected.py``
(``python -m course.assignments expected other_regularization > testCases/other_expected.py``). Mistakes are edits
of the reference solutions read from the source notebook, so they never drift from it.

``augment_batch`` is random: any way of drawing is right, so it is judged by properties
(``testCases.other_properties``, which the public check uses too), and its mistakes are recognised by what their
outputs do, with the shares that module declares. The EarlyStopping class is graded through the function its answer
cell ends with, ``replay_early_stopping``, which plays recorded runs through it (the verifier calls functions).

L2 and dropout, which the notebook's comparison table needs, are the second assignment's graded functions
(``l2_regularization``, ``dropout_forward``, ``dropout_backward``), so the notebook does not give them: its cell
``second_assignment_answers`` is an answer cell that students fill with their own code from DeepRegularization (a
stub in the release, the second assignment's reference in the source), declared as ``reused_answers`` and not
graded here (it was graded there). The other way, L2 and dropout built into ``reg_utils.train_mlp``'s
``TrainingConfig``, was ruled out: ``reg_utils`` goes to every student in the kit, so it would hand out the same
solutions in a package. The three graded exercises come before that cell, so their grading never depends on it;
``tests/test_release_leaks.py`` checks that no release defines a graded function outside an answer cell.
"""

import numpy as np

from course.assignment import Assignment, Cases, GradedFunction, TamperTarget, Variant
from testCases.other_properties import AUGMENT_MISTAKES, PROBES, augmentation_problem

_AUG, _ES, _MN = "augment_batch", "replay_early_stopping", "max_norm"

# A loop over the images with SciPy, as the notebook suggests, put in front of the reference's solution region (the
# reference's vectorized code after its `return` is then never reached). The catalogued SciPy mistakes edit it.
_FIRST_LINE = "    ### BEGIN SOLUTION\n"
_SCIPY_LOOP = '''    from scipy import ndimage

    X_aug = np.empty_like(X)
    for i in range(X.shape[1]):
        dy, dx = rng.integers(-max_shift, max_shift + 1, size=2)
        angle = rng.uniform(-max_angle, max_angle)
        image = ndimage.rotate(X[:, i].reshape(28, 28), angle, reshape=False, order=1, mode="constant", cval=0.0)
        image = ndimage.shift(image, (dy, dx), order=0, mode="constant", cval=0.0)
        X_aug[:, i] = image.ravel()
    return X_aug
'''
_ROTATE = 'ndimage.rotate(X[:, i].reshape(28, 28), angle, reshape=False, order=1, mode="constant", cval=0.0)'
_SHIFT = 'ndimage.shift(image, (dy, dx), order=0, mode="constant", cval=0.0)'
_DRAW_ANGLE = "        angle = rng.uniform(-max_angle, max_angle)\n"
_TURN = "        turn = np.array([[np.cos(np.deg2rad(angle)), -np.sin(np.deg2rad(angle))],\n" \
        "                         [np.sin(np.deg2rad(angle)), np.cos(np.deg2rad(angle))]])\n"
_CORNER = 'ndimage.affine_transform(X[:, i].reshape(28, 28), turn, order=1, mode="constant", cval=0.0)'
_BILINEAR = '''    r0, c0 = np.floor(rows), np.floor(cols)
    fr, fc = rows - r0, cols - c0
    index = (r0 * size + c0).astype(np.intp) * m + np.arange(m)
    pixels = padded.reshape(-1)
    above, below = pixels.take(index), pixels[size * m:].take(index)
    above += fc * (pixels[m:].take(index) - above)  # from the left pixels towards the right ones, by fc
    below += fc * (pixels[size * m + m:].take(index) - below)
    X_aug = (above + fr * (below - above)).reshape(784, m)
'''
_MAP_COORDINATES = '''    from scipy import ndimage

    stack = np.moveaxis(padded, 2, 0).reshape(m * size, size)  # the padded images one below the other
    rows = np.moveaxis(rows, 2, 0) + (size * np.arange(m))[:, None, None]
    X_aug = ndimage.map_coordinates(stack, [rows, np.moveaxis(cols, 2, 0)], order=1).reshape(m, 784).T
'''


def _scipy(name, description, *edits, credit=0.0):
    """A variant of augment_batch written as the SciPy loop, with the given edits of the loop."""
    loop = _SCIPY_LOOP
    for old, new in edits:
        assert old in loop, f"{name}: {old!r} is not in the SciPy loop"
        loop = loop.replace(old, new)
    return Variant(_AUG, name, description, ((_FIRST_LINE, loop + _FIRST_LINE),), credit=credit)


def _known(name, edits=(), scipy_edits=None):
    """A catalogued augment_batch mistake: its hint and share of the points come from testCases.other_properties."""
    mistake = AUGMENT_MISTAKES[name]
    if scipy_edits is not None:
        return _scipy(name, mistake.hint, *scipy_edits, credit=mistake.credit)
    return Variant(_AUG, name, mistake.hint, tuple(edits), credit=mistake.credit)


_ES_IMPROVES = "if val_loss < self.best_loss - self.min_delta:"
_ES_COPY = "self.best_parameters = {key: value.copy() for key, value in parameters.items()}"
_ES_STOP = "self.stopped = self.wait >= self.patience"
_MN_NORMS = "norms = np.linalg.norm(W, axis=1, keepdims=True)"
_MN_SCALE = "scale = np.minimum(1.0, c / np.maximum(norms, 1e-12))"

MISTAKES = (
    _known("aug_permutes_columns", (("(below - above)).reshape(784, m)",
                                     "(below - above)).reshape(784, m)[:, rng.permutation(m)]"),)),
    _known("aug_wraps", scipy_edits=((_SHIFT, "np.roll(image, (dy, dx), axis=(0, 1))"),)),
    _known("aug_invents_border", scipy_edits=(('mode="constant", cval=0.0', 'mode="nearest"'),)),
    _known("aug_corner_rotation", scipy_edits=((_DRAW_ANGLE, _DRAW_ANGLE + _TURN), (_ROTATE, _CORNER))),
    _known("aug_overshoots", scipy_edits=(("reshape=False, order=1", "reshape=False, order=3"),)),
    _known("aug_one_transform", (("size=(2, m))", "size=(2, 1))"), ("size=m))", "size=1))"))),
    _known("aug_global_rng", (("rng.integers(", "np.random.randint("), ("rng.uniform(", "np.random.uniform("))),
    Variant(_ES, "es_live_reference", "best_parameters must hold COPIES of the best epoch's arrays (value.copy() for "
            "each): a reference to the parameters, or dict(parameters) (a new dict of the same arrays), changes with "
            "the training and ends up holding the last epoch's", ((_ES_COPY, "self.best_parameters = parameters"),),
            credit=0.5),
    Variant(_ES, "es_wait_not_reset", "patience counts the epochs since the BEST epoch: set wait back to 0 when "
            "the loss improves", (("            self.wait = 0\n", ""),), credit=0.5),
    Variant(_ES, "es_min_delta_ignored", "an improvement must be larger than min_delta: the epoch improves when "
            "val_loss < best_loss - min_delta", ((_ES_IMPROVES, "if val_loss < self.best_loss:"),), credit=0.5),
    Variant(_ES, "es_stops_one_late", "training stops as soon as wait reaches patience (wait >= patience), not one "
            "epoch later", ((_ES_STOP, "self.stopped = self.wait > self.patience"),), credit=0.5),
    Variant(_MN, "mn_wrong_axis", "the norms are those of the columns (axis=0): unit i's incoming weights are ROW i "
            "of W (n_l, n_{l-1}), so take the norms along axis=1",
            ((_MN_NORMS, "norms = np.linalg.norm(W, axis=0, keepdims=True)"),), credit=0.25),
    Variant(_MN, "mn_rescales_every_row", "every row was scaled to norm c, the short ones too: max-norm only shrinks "
            "the rows whose norm exceeds c (scale by min(1, c / norm))",
            ((_MN_SCALE, "scale = c / np.maximum(norms, 1e-12)"),), credit=0.5),
    Variant(_MN, "mn_clips_entries", "max-norm rescales whole rows; clipping each weight to [-c, c] is another "
            "(weaker) constraint", (("W_out = W * scale", "W_out = np.clip(W, -c, c)"),)),
    Variant(_MN, "mn_unit_norm", "the long rows were scaled to norm 1: scale them to norm c, by c / norm",
            ((_MN_SCALE, "scale = np.minimum(1.0, 1.0 / np.maximum(norms, 1e-12))"),), credit=0.25),
    Variant(_MN, "mn_squared_norm", "the L2 norm is the square ROOT of the sum of squares (np.linalg.norm): the sum "
            "of squares itself is not the norm", ((_MN_NORMS, "norms = np.sum(W ** 2, axis=1, keepdims=True)"),),
            credit=0.25),
)

ALTERNATIVES = (
    _scipy("aug_scipy_loop", "a loop over the images with scipy.ndimage.rotate and shift"),
    _scipy("aug_scipy_nearest_pixel", "the SciPy loop with the nearest pixel (order=0) for the rotation",
           ("reshape=False, order=1", "reshape=False, order=0")),
    Variant(_AUG, "aug_map_coordinates", "the reference's coordinates, interpolated by scipy.ndimage.map_coordinates",
            ((_BILINEAR, _MAP_COORDINATES),)),
    Variant(_AUG, "aug_angles_first", "the angles drawn before the shifts (other random values)",
            (("    dy, dx = rng.integers(-max_shift, max_shift + 1, size=(2, m))  # whole pixels, one pair per image\n"
              "    angle = np.deg2rad(rng.uniform(-max_angle, max_angle, size=m))\n",
              "    angle = np.deg2rad(rng.uniform(-max_angle, max_angle, size=m))\n"
              "    dy, dx = rng.integers(-max_shift, max_shift + 1, size=(2, m))\n"),)),
    Variant(_ES, "es_deepcopy", "copy.deepcopy of the parameters",
            ((_ES_COPY, "import copy\n            self.best_parameters = copy.deepcopy(parameters)"),)),
    Variant(_ES, "es_epochs_since_best", "stopping when epoch - best_epoch reaches patience",
            ((_ES_STOP, "self.stopped = self.epoch - self.best_epoch >= self.patience"),)),
    Variant(_ES, "es_improvement_the_other_way", "best_loss - val_loss > min_delta, and np.array copies",
            ((_ES_IMPROVES, "if self.best_loss - val_loss > self.min_delta:"),
             ("value.copy()", "np.array(value, copy=True)"))),
    Variant(_MN, "mn_where", "np.where(norms > c, ...)",
            ((_MN_SCALE, "scale = np.where(norms > c, c / np.maximum(norms, c), 1.0)"),)),
    Variant(_MN, "mn_sqrt_of_sum", "np.sqrt of the sum of squares, and a division",
            ((_MN_NORMS, "norms = np.sqrt(np.sum(W * W, axis=1, keepdims=True))"),
             ("W_out = W * scale", "W_out = W / (1.0 / scale)"))),
    Variant(_MN, "mn_loop", "a loop over the rows of a copy",
            (("    W_out = W * scale\n", "    W_out = W.copy()\n    for i in range(W.shape[0]):\n"
                                        "        if np.linalg.norm(W[i]) > c:\n"
                                        "            W_out[i] = W[i] * (c / np.linalg.norm(W[i]))\n"),)),
)


# -- the public checks' stored outputs (testCases/other_expected.py) --------------------------------------------
def expected_outputs(namespace):
    """Every reference output that testCases.other_expected stores, computed with the given functions."""
    import testCases.other_cases as cases

    losses, snapshots = cases.replay_test_case()
    result = namespace[_ES](losses, snapshots, patience=cases.REPLAY_PATIENCE, min_delta=cases.REPLAY_MIN_DELTA)
    best = result["best_parameters"]
    replay = {name: float(result[name]) for name in ("best_epoch", "best_loss", "epochs_run", "stopped")}
    replay.update({f"best_{key}": np.asarray(best[key], dtype=np.float64) for key in ("W1", "b1")})
    W, c = cases.max_norm_test_case()
    return {"REPLAY": replay, "MAX_NORM": np.asarray(namespace[_MN](W, c), dtype=np.float64)}


def public_variables(outputs, function):
    """{variable: value} of one function's public-case outputs, as its check names them (augment_batch has none:
    its check judges properties)."""
    if function == _ES:
        return dict(outputs["REPLAY"])
    if function == _MN:
        return {"W_out": outputs["MAX_NORM"]}
    return {}


# -- verification cases -----------------------------------------------------------------------------------------
def _augment_cases(solutions):
    """The public check's probes, with int seeds as rng (the runner passes numbers and arrays only)."""
    c = Cases(judge=_judge_augment, special=_augment_mistake)
    for i, probe in enumerate(PROBES):
        c.call(probe.inputs(), probe.rng, seed=0 if i == 0 else None, **probe.kwargs)
    return c


def _augment_problem(runs):
    """(the first call that raised, or None; the augmentation Problem of the outputs, or None)."""
    for i, (probe, run) in enumerate(zip(PROBES, runs)):
        if not run["ok"]:
            return f"on verification case {i + 1} ({probe.describe()}) it raised {run['error']}", None
    return None, augmentation_problem({probe.name: run["out"].get("value") for probe, run in zip(PROBES, runs)})


def _judge_augment(cases, runs, reference_runs):
    """'' when the outputs have every property of a right augmentation, else the first one they lack."""
    raised, problem = _augment_problem(runs)
    return raised or (problem.message if problem is not None else "")


def _augment_mistake(cases, runs):
    """(credit, reason, mistake) when the outputs show a catalogued mistake, whichever way the draws were made."""
    raised, problem = _augment_problem(runs)
    if raised is None and problem is not None and problem.mistake:
        return problem.credit, f"{problem.message}: {problem.hint}", problem.mistake
    return None


def _snapshots(rng, epochs):
    """The parameters after each of `epochs` epochs of a made-up run: a tuple of dicts "W1" (3, 2), "b1" (3, 1)."""
    return tuple({"W1": rng.normal(size=(3, 2)), "b1": rng.normal(size=(3, 1))} for _ in range(epochs))


def _replay_cases(solutions):
    import testCases.other_cases as cases

    c = Cases()
    losses, snapshots = cases.replay_test_case()
    c.call(np.array(losses), snapshots, patience=cases.REPLAY_PATIENCE, min_delta=cases.REPLAY_MIN_DELTA, seed=0)
    rng = np.random.default_rng(909)
    c.call(np.full(8, 0.5), _snapshots(rng, 8), patience=3, min_delta=0.0)  # equal losses never improve
    c.call(np.linspace(1.0, 0.2, 12), _snapshots(rng, 12), patience=2, min_delta=0.0)  # never stops
    c.call(np.array([0.9, 0.8, 0.8, 0.79, 0.8, 0.7, 0.7, 0.7, 0.7, 0.69]), _snapshots(rng, 10), patience=3,
           min_delta=0.0)
    for epochs, patience, min_delta in [(30, 4, 0.02), (25, 1, 0.0), (40, 6, 0.005), (20, 2, 0.05)]:
        walk = 1.0 + np.cumsum(rng.normal(-0.01, 0.04, size=epochs))
        c.call(np.abs(walk), _snapshots(rng, epochs), patience=patience, min_delta=min_delta)
    return c


def _max_norm_cases(solutions):
    import testCases.other_cases as cases

    c = Cases()
    W, cap = cases.max_norm_test_case()
    c.call(W, cap, seed=0)
    rng = np.random.default_rng(1212)
    for shape, cap in [((6, 4), 1.0), ((4, 9), 0.8), ((12, 12), 2.0), ((1, 3), 0.5), ((5, 1), 1.0)]:
        W = rng.normal(size=shape) * rng.uniform(0.1, 2.0, size=(shape[0], 1))
        W[0] = 0.0  # a dead unit
        c.call(W, cap)
    c.call(rng.normal(size=(3, 3)).astype(np.float32), 0.7)
    c.call(np.ones((2, 2)), 0.0)  # not a valid cap: ValueError
    return c


def _public_max_norm(function):
    """What a max_norm returns on the public case (the tampering corpus's mimic)."""
    import testCases.other_cases as cases

    return np.asarray(function(*cases.max_norm_test_case()))


ASSIGNMENT = Assignment(
    name="other_regularization",
    notebook="OtherRegularization.ipynb",
    title="OtherRegularization: data augmentation, early stopping and max-norm in a deep MLP on MNIST digits",
    functions=(GradedFunction(_AUG, "augment", _augment_cases),
               GradedFunction(_ES, "early stop", _replay_cases),
               GradedFunction(_MN, "max-norm", _max_norm_cases)),
    mistakes=MISTAKES,
    alternatives=ALTERNATIVES,
    expected_module="testCases.other_expected",
    expected_outputs=expected_outputs,
    public_variables=public_variables,
    expected_docstring=(
        "Reference outputs of the OtherRegularization public checks, and what known mistakes output.", "",
        "Generated by ``python -m course.assignments expected other_regularization`` from the reference solutions",
        "in the source notebook; ``tests/test_expected_outputs.py`` fails when this file and the solutions disagree.",
        "Do not edit by hand. REPLAY is what replay_early_stopping returns on testCases.other_cases.replay_test_case",
        "(best_W1 and best_b1: its best_parameters); augment_batch has no stored outputs, its check judges",
        "properties (testCases.other_properties)."),
    tamper=TamperTarget(_MN, ("W_out = W * scale", "W_out = W * 1.0"), public_output=_public_max_norm),
    position=3,
    results_title="Results on 1,000 MNIST training digits (500 validation / 500 test)",
    reused_answers=("second_assignment_answers",),
)
