"""Public checks of the third assignment (OtherRegularization), one per graded function.

Each check calls the student's function on the cases of ``testCases.other_cases``, checks types, shapes and values,
and prints one pass line. A wrong answer raises ``CheckFailed`` (an ``AssertionError``) naming what is wrong,
expected against got, and a hint; a known mistake is named, and may keep a share of the points.

``augment_batch`` is random, and any way of drawing its shifts and angles is right: its check judges what every
right augmentation does (``testCases.other_properties``), not one particular output. ``replay_early_stopping``
and ``max_norm`` are deterministic: their outputs are compared with the reference outputs stored in
``testCases.other_expected``, whose catalogue of known mistakes names the mistake behind a wrong value.
"""

import numpy as np

from . import other_cases as cases
from . import other_expected as expected
from .feedback import call_student, check_array, check_dict, check_number, fail, find_known_mistake, passed
from .other_properties import AUGMENT_MISTAKES, PROBES, augmentation_problem

#: The order in which the early-stopping check compares the replay's results (the first wrong one is reported).
REPLAY_NUMBERS = ("best_epoch", "best_loss", "epochs_run", "stopped")


def _mistake(function_name, variable, got, default):
    """Keyword arguments (hint, credit) for a check: the first known mistake whose output for `variable` equals
    `got` (its description and share of the points), else the default hint."""
    known = find_known_mistake(expected.KNOWN_MISTAKES, function_name, variable, got)
    return {"hint": default} if known is None else {"hint": known[0], "credit": known[1]}


def _unchanged(function_name, name, before, after):
    """Fail if the student's function changed an input array in place."""
    __tracebackhide__ = True
    if not np.array_equal(before, after):
        fail(f"{function_name} modified its input {name} in place",
             f"compute a new array (e.g. {name} * scale) instead of changing {name} itself.")


def augment_batch_test(target):
    """Check augment_batch: whole-pixel shifts and rotations about the center within the limits, zeros coming in,
    every image in its own column, a transform per image, drawn from rng only.

    Arguments:
    target -- the student's augment_batch(X, rng, max_shift=2, max_angle=10)
    """
    __tracebackhide__ = True
    outputs = {}
    for probe in PROBES:
        X = probe.inputs()
        before = X.copy()
        outputs[probe.name] = call_student(target, X, probe.rng, **probe.kwargs)
        _unchanged("augment_batch", "X", before, X)
    problem = augmentation_problem(outputs)
    if problem is not None:
        fail(problem.message, problem.hint, problem.credit)

    X = cases.noise_images()
    fresh = [call_student(target, X, np.random.default_rng(11)) for _ in range(2)]
    if not np.allclose(fresh[0], fresh[1]):
        fail("two new Generators made with the same seed, np.random.default_rng(11), gave different images",
             AUGMENT_MISTAKES["aug_global_rng"].hint, AUGMENT_MISTAKES["aug_global_rng"].credit)
    shared = np.random.default_rng(11)
    first, second = call_student(target, X, shared), call_student(target, X, shared)
    if np.allclose(first, second):
        fail("two calls with the same Generator gave the same images: the second call must continue its stream",
             "draw from the rng you are given; do not copy it or make a new one with a fixed seed.")
    moved = int(np.count_nonzero(np.any(outputs["defaults"] != PROBES[-1].inputs(), axis=0)))
    passed(f"shifts by whole pixels and rotations about the center, zeros coming in, every image in its column, "
           f"drawn from rng ({moved} of {X.shape[1]} images changed with the default max_shift and max_angle)")


def replay_early_stopping_test(target):
    """Check EarlyStopping through replay_early_stopping on a recorded run of 10 epochs (patience 3, min_delta
    0.01): the best epoch, its loss and COPIES of its parameters, and when training stops.

    Arguments:
    target -- replay_early_stopping(val_losses, parameters_per_epoch, patience=5, min_delta=0.0)
    """
    __tracebackhide__ = True
    name = "replay_early_stopping"
    val_losses, parameters_per_epoch = cases.replay_test_case()
    before = [{k: v.copy() for k, v in p.items()} for p in parameters_per_epoch]
    result = call_student(target, val_losses, parameters_per_epoch, patience=cases.REPLAY_PATIENCE,
                          min_delta=cases.REPLAY_MIN_DELTA)
    for snapshot, kept in zip(parameters_per_epoch, before):
        for key in kept:
            _unchanged(name, "parameters_per_epoch", kept[key], snapshot[key])
    check_dict("the replay's result", result, REPLAY_NUMBERS + ("best_parameters",))
    ref = expected.REPLAY
    hints = {
        "best_epoch": "the best epoch is the first one (counting from 0) whose loss is below the best loss so far "
                      "minus min_delta; a smaller improvement does not count.",
        "best_loss": "best_loss is the validation loss of the best epoch.",
        "epochs_run": "step returns True when `patience` epochs in a row have not improved on the best epoch: "
                      "count them from the best epoch, and stop when the count reaches patience.",
        "stopped": "stopped is True once step has returned True.",
    }
    for variable in REPLAY_NUMBERS:
        got = result[variable]
        if got is None:
            fail(f"{variable} is None, expected {ref[variable]!r}", "set it in __init__ and update it in step.")
        check_number(variable, float(got) if isinstance(got, (bool, np.bool_)) else got, ref[variable],
                     **_mistake(name, variable, got, hints[variable]))
    best = result["best_parameters"]
    check_dict("best_parameters", best, ["W1", "b1"])
    for key in ("W1", "b1"):
        check_array(f"best_parameters[{key!r}]", best[key], ref[f"best_{key}"],
                    **_mistake(name, f"best_{key}", best[key], "best_parameters holds the parameters of the best "
                               "epoch, copied when that epoch was the best."))
    passed(f"best epoch {int(result['best_epoch'])} (validation loss {float(result['best_loss'])!r}), stopped after "
           f"{int(result['epochs_run'])} epochs, with copies of the best epoch's parameters")


def max_norm_test(target):
    """Check max_norm on a (5, 4) W with c = 1.5: short rows unchanged, long rows scaled to norm c.

    Arguments:
    target -- the student's max_norm(W, c)
    """
    __tracebackhide__ = True
    W, c = cases.max_norm_test_case()
    before = W.copy()
    W_out = call_student(target, W, c)
    _unchanged("max_norm", "W", before, W)
    check_array("W_out", W_out, expected.MAX_NORM, **_mistake(
        "max_norm", "W_out", W_out, "scale every ROW of W (unit i's incoming weights, W[i, :]) whose L2 norm "
        "exceeds c by c / norm, and leave the other rows unchanged."))
    norms = np.linalg.norm(np.asarray(W_out, dtype=np.float64), axis=1)
    passed(f"row norms {np.array2string(norms, precision=4)} (were "
           f"{np.array2string(np.linalg.norm(W, axis=1), precision=4)}), none above c = {c}")
