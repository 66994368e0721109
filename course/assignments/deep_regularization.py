"""The DeepRegularization assignment (L2, L1 and dropout in a deep MLP on MNIST digits): its registry entry.

Instructor side only: the graded functions with their verification cases, the known mistakes with their share of
the points, the correct alternatives that must earn full marks, and the generator of ``testCases/deep_expected.py``
(``python -m course.assignments expected deep_regularization > testCases/deep_expected.py``). Mistakes are edits
of the reference solutions read from the source notebook, so they never drift from it.
"""

import numpy as np

from course.assignment import Assignment, Cases, GradedFunction, TamperTarget, Variant

_L2, _L1, _DF, _DB = "l2_regularization", "l1_regularization", "dropout_forward", "dropout_backward"
_L2_PENALTY = "penalty += lambd / (2 * m) * np.sum(np.square(W))"
_L1_PENALTY = "penalty += lambd / m * np.sum(np.abs(W))"
_MASK = "mask = np.random.rand(A.shape[0], A.shape[1]) < keep_prob"

#: Shares of the points of dropout_forward kept by a function that is right but for one property, recognised by
#: the property (the public check gives the same shares: testCases.deep_checks).
RESEED_CREDIT = 0.5
TRAINING_IGNORED_CREDIT = 0.5

MISTAKES = (
    Variant(_L2, "l2_no_half", "the 1/2 is missing: the penalty is lambd / (2 * m) * sum(W ** 2), whose gradient "
            "is lambd / m * W.", ((_L2_PENALTY, "penalty += lambd / m * np.sum(np.square(W))"),), credit=0.5),
    Variant(_L2, "l2_no_m", "the division by m is missing: the penalty is lambd / (2 * m) * sum(W ** 2).",
            ((_L2_PENALTY, "penalty += lambd / 2 * np.sum(np.square(W))"),), credit=0.5),
    Variant(_L2, "l2_sums_abs", "the penalty sums absolute values (that is L1); L2 sums squares.",
            ((_L2_PENALTY, "penalty += lambd / (2 * m) * np.sum(np.abs(W))"),)),
    Variant(_L2, "l2_gradient_halved", "the gradient of lambd / (2 * m) * sum(W ** 2) is lambd / m * W: the 2 of "
            "the square cancels the 1/2.", (("= lambd / m * W", "= lambd / (2 * m) * W"),), credit=0.5),
    Variant(_L2, "l2_regularizes_biases", "the penalty includes the biases b1, b2, ...: regularize only the "
            "weights W", ((_L2_PENALTY, 'penalty += lambd / (2 * m) * (np.sum(np.square(W)) + '
                                        'np.sum(np.square(parameters["b" + str(l)])))'),), credit=0.5),
    Variant(_L1, "l1_half", "the L1 penalty of this notebook has no 1/2: lambd / m * sum(|W|).",
            ((_L1_PENALTY, "penalty += lambd / (2 * m) * np.sum(np.abs(W))"),), credit=0.5),
    Variant(_L1, "l1_gradient_w", "the gradient of |w| is sign(w), not w: use lambd / m * np.sign(W).",
            (("lambd / m * np.sign(W)", "lambd / m * W"),), credit=0.5),
    Variant(_L1, "l1_sums_squares", "the penalty sums squares (that is L2); L1 sums absolute values.",
            ((_L1_PENALTY, "penalty += lambd / m * np.sum(np.square(W))"),)),
    Variant(_L1, "l1_no_m", "the L1 term lacks the 1/m factor: the penalty is lambd / m * sum(|W|) and its "
            "gradient lambd / m * sign(W).", ((_L1_PENALTY, "penalty += lambd * np.sum(np.abs(W))"),
                                               ("lambd / m * np.sign(W)", "lambd * np.sign(W)")), credit=0.5),
    Variant(_DF, "df_no_scaling", "divide the kept activations by keep_prob (inverted dropout), so that their "
            "expected value is unchanged.", (("A * mask / keep_prob", "A * mask"),), credit=0.5),
    Variant(_DF, "df_greater_than", "a unit is kept when its random number is BELOW keep_prob: (random < "
            "keep_prob) keeps a share keep_prob.", ((_MASK, _MASK.replace("<", ">")),), credit=0.25),
    Variant(_DF, "df_training_ignored", "when training is False, dropout must do nothing: return A and a mask of "
            "ones.", (("if not training or keep_prob == 1:", "if keep_prob == 1:"),),
            credit=TRAINING_IGNORED_CREDIT),
    Variant(_DF, "df_reseeds", "two calls drew exactly the same mask: dropout_forward reseeds the random generator",
            ((_MASK, "np.random.seed(0)\n    " + _MASK),), credit=RESEED_CREDIT),
    Variant(_DB, "db_no_scaling", "divide by keep_prob in the backward pass too, as in the forward pass.",
            (("dA * mask / keep_prob", "dA * mask"),), credit=0.5),
    Variant(_DB, "db_times_keep_prob", "multiply by the mask and DIVIDE by keep_prob, as the forward pass did.",
            (("dA * mask / keep_prob", "dA * mask * keep_prob"),), credit=0.25),
    Variant(_DB, "db_fresh_mask", "the backward pass must reuse the forward pass's mask, not draw a new one.",
            (("dA * mask / keep_prob", "dA * (np.random.rand(*dA.shape) < keep_prob) / keep_prob"),)),
)

ALTERNATIVES = (
    Variant(_L2, "l2_norm_squared", "np.linalg.norm(W) ** 2",
            (("np.sum(np.square(W))", "np.linalg.norm(W) ** 2"),)),
    Variant(_L2, "l2_w_times_w", "(W * W).sum() and an in-place +=",
            (("np.sum(np.square(W))", "(W * W).sum()"),)),
    Variant(_L1, "l1_abs_sum", "np.abs(W).sum()", (("np.sum(np.abs(W))", "np.abs(W).sum()"),)),
    Variant(_L1, "l1_norm_of_ravel", "np.linalg.norm(W.ravel(), 1) (the vector 1-norm of all entries)",
            (("np.sum(np.abs(W))", "np.linalg.norm(W.ravel(), 1)"),)),
    Variant(_DF, "df_binomial", "a mask from np.random.binomial", ((_MASK, "mask = np.random.binomial(1, keep_prob, "
                                                                            "size=A.shape)"),)),
    Variant(_DF, "df_uniform_other_draw", "a mask from np.random.uniform(...) > 1 - keep_prob (other values)",
            ((_MASK, "mask = np.random.uniform(size=A.shape) > 1 - keep_prob"),)),
    Variant(_DF, "df_inplace", "in-place scaling of a copy", (("A_out = A * mask / keep_prob",
                                                                "A_out = A * mask\n    A_out /= keep_prob"),)),
    Variant(_DB, "db_where", "np.where(mask, dA / keep_prob, 0)",
            (("dA * mask / keep_prob", "np.where(mask, dA / keep_prob, 0.0)"),)),
    Variant(_DB, "db_inplace", "np.multiply and an in-place division",
            (("dA_out = dA * mask / keep_prob", "dA_out = np.multiply(dA, mask)\n    dA_out /= keep_prob"),)),
)


# -- the public checks' stored outputs (testCases/deep_expected.py) ---------------------------------------------
def expected_outputs(namespace):
    """Every reference output that testCases.deep_expected stores, computed with the given functions."""
    import testCases.deep_cases as cases

    out = {}
    parameters, m = cases.regularization_test_case()
    out["L2_PENALTY"], out["L2_GRADS_TERM"] = namespace[_L2](parameters, cases.L2_LAMBD, m)
    out["L1_PENALTY"], out["L1_GRADS_TERM"] = namespace[_L1](parameters, cases.L1_LAMBD, m)
    np.random.seed(1)
    A_out, mask = namespace[_DF](cases.dropout_forward_test_case(), cases.DROPOUT_FORWARD_KEEP_PROB)
    out["DROPOUT_FORWARD_SEEDED"] = {"A_out": A_out, "mask": mask}
    dA, mask = cases.dropout_backward_test_case()
    out["DROPOUT_BACKWARD"] = namespace[_DB](dA, mask, cases.DROPOUT_BACKWARD_KEEP_PROB)
    return out


def public_variables(outputs, function):
    """{variable: value} of one function's public-case outputs, as its check names them."""
    if function == _L2:
        return {"penalty": outputs["L2_PENALTY"], **outputs["L2_GRADS_TERM"]}
    if function == _L1:
        return {"penalty": outputs["L1_PENALTY"], **outputs["L1_GRADS_TERM"]}
    if function == _DF:
        return {"A_out": outputs["DROPOUT_FORWARD_SEEDED"]["A_out"]}
    return {"dA_out": outputs["DROPOUT_BACKWARD"]}


# -- verification cases -----------------------------------------------------------------------------------------
def _parameters(rng, layer_dims, zeros=0.0):
    parameters = {}
    for l in range(1, len(layer_dims)):
        W = rng.normal(size=(layer_dims[l], layer_dims[l - 1]))
        W[rng.random(W.shape) < zeros] = 0.0  # exact zeros: sign(0) = 0
        parameters[f"W{l}"], parameters[f"b{l}"] = W, rng.normal(size=(layer_dims[l], 1))
    return parameters


def _regularizer_cases(seed):
    def build(solutions):
        import testCases.deep_cases as cases

        c = Cases()
        rng = np.random.default_rng(seed)
        parameters, m = cases.regularization_test_case()
        c.call(parameters, 0.7, m, seed=0)
        for dims, lambd, m in [([5, 4, 3], 0.9, 6), ([6, 5, 4, 3, 2], 0.3, 32), ([3, 2], 0.0, 4), ([4, 3, 2], 2.0, 1)]:
            c.call(_parameters(rng, dims, zeros=0.2), lambd, m)
        return c
    return build


def _dropout_forward_cases(solutions):
    c = Cases(judge=_judge_dropout_forward, special=_reseeds)
    rng = np.random.default_rng(505)
    small = rng.uniform(0.0, 2.0, size=(4, 5))
    big = rng.uniform(0.5, 2.0, size=(200, 300))
    plan = [(small, 0.7, {}, 1), (big, 0.8, {}, 3), (big, 0.5, {}, 4), (big, 0.5, {}, None),
            (small, 0.3, {"training": False}, 5), (small, 1.0, {}, 6), (small, 0.0, {}, 7), (small, 1.5, {}, 8),
            (small, -0.2, {}, 9)]
    c.context = {"plan": plan}
    for A, keep_prob, kwargs, seed in plan:
        c.call(A, keep_prob, seed=seed, **kwargs)
    return c


def _dropout_forward_problem(i, run, A, keep_prob, kwargs):
    """The first property of inverted dropout that call i's run lacks, or ''."""
    case = f"on verification case {i + 1}"
    if not 0 < keep_prob <= 1:
        if run["ok"] or not run["error"].startswith("ValueError"):
            return f"{case}, keep_prob = {keep_prob} must raise ValueError"
        return ""
    if not run["ok"]:
        return f"{case} it raised {run['error']}"
    A_out, mask = run["out"].get("0"), run["out"].get("1")
    if A_out is None or mask is None or A_out.shape != A.shape or mask.shape != A.shape:
        return f"{case}, the output is not the pair (A_out, mask) with the shape of A"
    if not np.isin(mask, (0, 1)).all():
        return f"{case}, the mask is not 0/1"
    if not kwargs.get("training", True) or keep_prob == 1:
        if not (mask == 1).all() or not np.allclose(A_out, A, rtol=1e-6, atol=1e-7):
            return f"{case} ({kwargs or 'keep_prob = 1'}), dropout must return A and a mask of ones"
        return ""
    if not np.allclose(A_out, A * mask / keep_prob, rtol=1e-6, atol=1e-7):
        return f"{case}, A_out is not A * mask / keep_prob"
    if A.size >= 10000 and abs(mask.mean() - keep_prob) > 0.02:
        return f"{case}, the mask keeps {mask.mean():.2f} of the units, expected {keep_prob}"
    return ""


def _first_dropout_problem(cases, runs):
    """The first property of inverted dropout that one of the calls lacks, or ''."""
    for i, (run, (A, keep_prob, kwargs, _)) in enumerate(zip(runs, cases.context["plan"])):
        problem = _dropout_forward_problem(i, run, A, keep_prob, kwargs)
        if problem:
            return problem
    return ""


def _same_masks(runs):
    """Whether the two consecutive calls with the same inputs (the seeded 3rd, the unseeded 4th) drew one mask."""
    return np.array_equal(runs[2]["out"]["1"], runs[3]["out"]["1"])


def _judge_dropout_forward(cases, runs, reference_runs):
    """'' when every call has every property of inverted dropout and consecutive calls draw fresh masks."""
    problem = _first_dropout_problem(cases, runs)
    return problem or ("two consecutive calls drew the same mask" if _same_masks(runs) else "")


def _reseeds(cases, runs):
    """(credit, reason) when every call is right but consecutive calls draw the same mask."""
    if not _first_dropout_problem(cases, runs) and _same_masks(runs):
        return RESEED_CREDIT, "the function reseeds the random generator: every call drops the same units", "df_reseeds"
    return None


def _dropout_backward_cases(solutions):
    import testCases.deep_cases as cases

    c = Cases()
    rng = np.random.default_rng(606)
    dA, mask = cases.dropout_backward_test_case()
    c.call(dA, mask, 0.8, seed=0)
    c.call(dA, mask.astype(np.int64), 0.8)
    for shape, keep_prob, as_int in [((3, 4), 0.5, False), ((5, 2), 0.8, True), ((1, 9), 0.25, False),
                                     ((2, 3), 1.0, False)]:
        m = rng.random(shape) < keep_prob
        c.call(rng.normal(size=shape), m.astype(np.int64) if as_int else m, keep_prob)
    return c


def _public_l2(function):
    """What an L2 regularizer returns on the public case (the tampering corpus's mimic)."""
    import testCases.deep_cases as cases

    parameters, m = cases.regularization_test_case()
    penalty, grads_term = function(parameters, cases.L2_LAMBD, m)
    return float(penalty), {k: np.asarray(v) for k, v in grads_term.items()}


ASSIGNMENT = Assignment(
    name="deep_regularization",
    notebook="DeepRegularization.ipynb",
    title="DeepRegularization: L2, L1 and dropout in a deep MLP on MNIST digits",
    functions=(GradedFunction(_L2, "L2", _regularizer_cases(707)),
               GradedFunction(_L1, "L1", _regularizer_cases(808)),
               GradedFunction(_DF, "drop fwd", _dropout_forward_cases),
               GradedFunction(_DB, "drop back", _dropout_backward_cases)),
    mistakes=MISTAKES,
    alternatives=ALTERNATIVES,
    expected_module="testCases.deep_expected",
    expected_outputs=expected_outputs,
    public_variables=public_variables,
    expected_docstring=(
        "Reference outputs of the DeepRegularization public checks, and what known mistakes output.", "",
        "Generated by ``python -m course.assignments expected deep_regularization`` from the reference solutions in",
        "the source notebook; ``tests/test_expected_outputs.py`` fails when this file and the solutions disagree.",
        "Do not edit by hand. DROPOUT_FORWARD_SEEDED is what dropout_forward returns right after np.random.seed(1)",
        "when it draws its mask with np.random.rand(*A.shape) < keep_prob; other correct ways of drawing are",
        "accepted too."),
    tamper=TamperTarget(_L2, ("return penalty, grads_term", "return 0.0, {k: 0 * v for k, v in grads_term.items()}"),
                        public_output=_public_l2),
    position=2,
    results_title="Results on the MNIST digits (4,000 train / 500 validation / 500 test)",
)
