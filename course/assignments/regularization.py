"""The Regularization assignment (L2 and dropout on the goalkeeper data): its registry entry.

Instructor side only: the graded functions with their verification cases, the known mistakes with their share of
the points, the correct alternatives that must earn full marks, and the generator of ``testCases/expected.py``
(``python -m course.assignments expected regularization > testCases/expected.py``). Mistakes are edits of the
reference solutions read from the source notebook, so they never drift from it.
"""

import numpy as np

from course.assignment import Assignment, Cases, GradedFunction, TamperTarget, Variant

_COST = "compute_cost_with_regularization"
_L2B = "backward_propagation_with_regularization"
_DF = "forward_propagation_with_dropout"
_DB = "backward_propagation_with_dropout"
_L2 = "lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"

#: Share of the points a dropout forward pass keeps when it is right but reseeds the generator inside
#: (the public check gives the same share: testCases.checks.RESEED_CREDIT).
RESEED_CREDIT = 0.5

MISTAKES = (
    Variant(_COST, "cost_missing_1_over_m", "the L2 term lacks the 1/m factor: use lambd / (2 * m)",
            ((_L2, "lambd / 2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"),),
            credit=0.5),
    Variant(_COST, "cost_lambd_not_halved", "the L2 term uses lambd / m instead of lambd / (2 * m)",
            ((_L2, "lambd / m * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"),),
            credit=0.5),
    Variant(_COST, "cost_regularizes_biases", "the L2 term includes the biases b1, b2, b3: regularize only W",
            ((_L2, _L2[:-1] + ' + np.sum(np.square(parameters["b1"])) + np.sum(np.square(parameters["b2"]))'
                   ' + np.sum(np.square(parameters["b3"])))'),), credit=0.5),
    Variant(_COST, "cost_sums_w_not_squares", "the L2 term sums the weights instead of their squares",
            ((_L2, "lambd / (2 * m) * (np.sum(W1) + np.sum(W2) + np.sum(W3))"),)),
    Variant(_COST, "cost_norm_not_squared",
            "the L2 term uses the norm of W without squaring it: np.linalg.norm(W) ** 2 is the sum of squares",
            ((_L2, "lambd / (2 * m) * (np.linalg.norm(W1) + np.linalg.norm(W2) + np.linalg.norm(W3))"),),
            credit=0.25),
    Variant(_L2B, "l2b_term_in_db", "db has an L2 term: biases are not regularized, so db stays unchanged",
            (("db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)",
              "db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True) + lambd / m * b3"),), credit=0.5),
    Variant(_L2B, "l2b_missing_1_over_m", "the L2 term of dW is lambd * W without the 1/m: use lambd / m * W",
            (("+ lambd / m * W3", "+ lambd * W3"), ("+ lambd / m * W2", "+ lambd * W2"),
             ("+ lambd / m * W1", "+ lambd * W1")), credit=0.5),
    Variant(_L2B, "l2b_doubled", "the L2 term of dW is 2 * lambd / m * W: the derivative of lambd/(2m) W^2 is "
            "lambd / m * W", (("+ lambd / m * W3", "+ 2 * lambd / m * W3"),
                               ("+ lambd / m * W2", "+ 2 * lambd / m * W2"),
                               ("+ lambd / m * W1", "+ 2 * lambd / m * W1")), credit=0.5),
    Variant(_L2B, "l2b_forgot_layer_1", "dW1 lacks its L2 term lambd / m * W1",
            (("+ lambd / m * W1", ""),), credit=0.5),
    Variant(_DF, "df_no_scaling", "the activations are not divided by keep_prob after the mask (inverted dropout)",
            (("    A1 = A1 / keep_prob\n", ""), ("    A2 = A2 / keep_prob\n", "")), credit=0.5),
    Variant(_DF, "df_greater_than", "the mask uses > keep_prob, which keeps a unit with probability "
            "1 - keep_prob: use < keep_prob", (("D1 = D1 < keep_prob", "D1 = D1 > keep_prob"),
                                                ("D2 = D2 < keep_prob", "D2 = D2 > keep_prob")), credit=0.25),
    Variant(_DF, "df_on_input", "dropout is applied to the input X: apply it to the hidden layers A1 and A2 only",
            (("Z1 = np.dot(W1, X) + b1",
              "DX = np.random.rand(X.shape[0], X.shape[1]) < keep_prob\n    Z1 = np.dot(W1, X * DX / keep_prob) + b1"),),
            credit=0.25),
    Variant(_DF, "df_on_output", "dropout is applied to the output A3: apply it to the hidden layers A1 and A2 only",
            (("    A3 = sigmoid(Z3)\n",
              "    A3 = sigmoid(Z3)\n    A3 = A3 * (np.random.rand(A3.shape[0], A3.shape[1]) < keep_prob) / keep_prob\n"),),
            credit=0.25),
    Variant(_DF, "df_one_mask", "one mask is reused for both layers: draw a new mask D2 for layer 2",
            (("D2 = np.random.rand(A2.shape[0], A2.shape[1])\n    D2 = D2 < keep_prob",
              "D2 = D1[:A2.shape[0], :]"),), feedback="each layer needs its own mask"),
    Variant(_DF, "df_reseeds", "the function calls np.random.seed: every call then drops the same units",
            (('    W1 = parameters["W1"]\n', '    np.random.seed(1)\n    W1 = parameters["W1"]\n'),),
            feedback="your function reseeds the random generator", credit=RESEED_CREDIT),
    Variant(_DB, "db_no_scaling", "dA is not divided by keep_prob after the mask",
            (("    dA2 = dA2 / keep_prob\n", ""), ("    dA1 = dA1 / keep_prob\n", "")), credit=0.5),
    Variant(_DB, "db_times_keep_prob", "dA is multiplied by keep_prob: divide by it, as the forward pass did",
            (("dA2 = dA2 / keep_prob", "dA2 = dA2 * keep_prob"), ("dA1 = dA1 / keep_prob", "dA1 = dA1 * keep_prob")),
            credit=0.25),
    Variant(_DB, "db_masks_swapped", "the masks are swapped: dA2 takes D2 and dA1 takes D1",
            (("dA2 = dA2 * D2", "dA2 = dA2 * D1"), ("dA1 = dA1 * D1", "dA1 = dA1 * D2")),
            feedback="the masks are swapped"),
    Variant(_DB, "db_mask_forgotten", "dA1 is not multiplied by the mask D1: no gradient may flow through a "
            "dropped unit", (("    dA1 = dA1 * D1\n", ""),), credit=0.5),
)

ALTERNATIVES = (
    Variant(_COST, "cost_norm_squared", "np.linalg.norm(W) ** 2",
            ((_L2, "lambd / (2 * m) * sum(np.linalg.norm(W) ** 2 for W in (W1, W2, W3))"),)),
    Variant(_COST, "cost_harmless_warning", "right, but prints a RuntimeWarning on stderr at every call",
            (("    m = Y.shape[1]\n",
              "    import warnings\n    warnings.simplefilter('always', RuntimeWarning)\n"
              "    np.log(np.zeros(1))  # divide by zero: a RuntimeWarning on stderr, harmless\n"
              "    m = Y.shape[1]\n"),)),
    Variant(_COST, "cost_einsum", "sum of W * W",
            ((_L2, "(lambd / (2 * m)) * ((W1 * W1).sum() + (W2 * W2).sum() + (W3 * W3).sum())"),)),
    Variant(_L2B, "l2b_matmul", "@ instead of np.dot",
            (("np.dot(dZ3, A2.T)", "(dZ3 @ A2.T)"), ("np.dot(dZ2, A1.T)", "(dZ2 @ A1.T)"),
             ("np.dot(dZ1, X.T)", "(dZ1 @ X.T)"))),
    Variant(_DF, "df_binomial", "masks from np.random.binomial",
            (("D1 = np.random.rand(A1.shape[0], A1.shape[1])\n    D1 = D1 < keep_prob",
              "D1 = np.random.binomial(1, keep_prob, size=A1.shape)"),
             ("D2 = np.random.rand(A2.shape[0], A2.shape[1])\n    D2 = D2 < keep_prob",
              "D2 = np.random.binomial(1, keep_prob, size=A2.shape)"))),
    Variant(_DF, "df_random_sample_int", "integer masks from np.random.random_sample, in-place scaling",
            (("D1 = np.random.rand(A1.shape[0], A1.shape[1])\n    D1 = D1 < keep_prob\n    A1 = A1 * D1\n"
              "    A1 = A1 / keep_prob",
              "D1 = (np.random.random_sample(A1.shape) < keep_prob).astype(int)\n    A1 = A1 * D1\n"
              "    A1 /= keep_prob"),
             ("D2 = np.random.rand(A2.shape[0], A2.shape[1])\n    D2 = D2 < keep_prob\n    A2 = A2 * D2\n"
              "    A2 = A2 / keep_prob",
              "D2 = (np.random.random_sample(A2.shape) < keep_prob).astype(int)\n    A2 = A2 * D2\n"
              "    A2 /= keep_prob"))),
    Variant(_DF, "df_uniform_other_draw", "masks from np.random.uniform(...) > 1 - keep_prob (other values)",
            (("D1 = np.random.rand(A1.shape[0], A1.shape[1])\n    D1 = D1 < keep_prob",
              "D1 = np.random.uniform(size=A1.shape) > 1 - keep_prob"),)),
    Variant(_DF, "df_matmul_multiply", "@ and np.multiply",
            (("A1 = A1 * D1", "A1 = np.multiply(A1, D1)"), ("A2 = A2 * D2", "A2 = np.multiply(A2, D2)"))),
    Variant(_DB, "db_inplace", "in-place operations on dA",
            (("dA2 = dA2 * D2\n    dA2 = dA2 / keep_prob", "dA2 = dA2 * D2\n    dA2 /= keep_prob"),
             ("dA1 = dA1 * D1\n    dA1 = dA1 / keep_prob", "dA1 = dA1 * D1\n    dA1 /= keep_prob"))),
)


# -- the public checks' stored outputs (testCases/expected.py) --------------------------------------------------
def expected_outputs(namespace):
    """Every reference output that testCases.expected stores, computed with the given solutions."""
    import testCases.cases as cases

    out = {"COST_LAMBD": 0.1, "L2_BACKWARD_LAMBD": 0.7, "DROPOUT_FORWARD_KEEP_PROB": 0.7,
           "DROPOUT_BACKWARD_KEEP_PROB": 0.8}
    a3, Y, parameters = cases.compute_cost_with_regularization_test_case()
    out["COST"] = float(namespace[_COST](a3, Y, parameters, out["COST_LAMBD"]))
    X, Y, cache = cases.backward_propagation_with_regularization_test_case()
    out["L2_BACKWARD"] = namespace[_L2B](X, Y, cache, out["L2_BACKWARD_LAMBD"])
    X, parameters = cases.forward_propagation_with_dropout_test_case()
    np.random.seed(1)
    A3, cache = namespace[_DF](X, parameters, out["DROPOUT_FORWARD_KEEP_PROB"])
    out["DROPOUT_FORWARD"] = {"D1": cache[1], "A1": cache[2], "D2": cache[6], "A2": cache[7], "A3": A3}
    X, Y, cache = cases.backward_propagation_with_dropout_test_case()
    out["DROPOUT_BACKWARD"] = namespace[_DB](X, Y, cache, out["DROPOUT_BACKWARD_KEEP_PROB"])
    return out


def public_variables(outputs, function):
    """{variable: value} of one function's public-case outputs, as its check names them."""
    key = {_COST: "COST", _L2B: "L2_BACKWARD", _DF: "DROPOUT_FORWARD", _DB: "DROPOUT_BACKWARD"}[function]
    value = outputs[key]
    return value if isinstance(value, dict) else {"cost": value}


# -- verification cases -----------------------------------------------------------------------------------------
def _random_parameters(rng, n_x, n_h1, n_h2, scale=1.0):
    return {"W1": rng.normal(size=(n_h1, n_x)), "b1": rng.normal(size=(n_h1, 1)),
            "W2": rng.normal(size=(n_h2, n_h1)) * scale, "b2": rng.normal(size=(n_h2, 1)),
            "W3": rng.normal(size=(1, n_h2)) * scale, "b3": rng.normal(size=(1, 1))}


def _cost_cases(solutions):
    import testCases.cases as cases

    c = Cases()
    rng = np.random.default_rng(101)
    c.call(*cases.compute_cost_with_regularization_test_case(), 0.1, seed=0)
    for n_x, n_h1, n_h2, m, lambd in [(4, 5, 3, 7, 0.3), (2, 20, 3, 211, 0.7), (3, 2, 2, 1, 2.5)]:
        c.call(rng.uniform(0.05, 0.95, (1, m)), (rng.random((1, m)) < 0.5).astype(float),
               _random_parameters(rng, n_x, n_h1, n_h2), lambd)
    return c


def _l2_backward_cases(solutions):
    import testCases.cases as cases
    from reg_utils.network import forward_propagation

    c = Cases()
    rng = np.random.default_rng(202)
    c.call(*cases.backward_propagation_with_regularization_test_case(), 0.7, seed=0)
    for n_x, n_h1, n_h2, m, lambd in [(4, 5, 3, 7, 0.7), (2, 3, 2, 9, 1.5)]:
        p = _random_parameters(rng, n_x, n_h1, n_h2)
        X = rng.normal(size=(n_x, m))
        c.call(X, (rng.random((1, m)) < 0.5).astype(float), tuple(forward_propagation(X, p)[1]), lambd)
    return c


def _dropout_backward_cases(solutions):
    import testCases.cases as cases

    c = Cases()
    rng = np.random.default_rng(303)
    c.call(*cases.backward_propagation_with_dropout_test_case(), 0.8, seed=0)
    for n_x, n_h1, n_h2, m, kp in [(3, 6, 4, 8, 0.7), (2, 5, 3, 6, 0.5)]:
        p = _random_parameters(rng, n_x, n_h1, n_h2)
        X = rng.normal(size=(n_x, m))
        D1, D2 = rng.random((n_h1, m)) < kp, rng.random((n_h2, m)) < kp
        A1 = np.maximum(p["W1"] @ X + p["b1"], 0) * D1 / kp
        A2 = np.maximum(p["W2"] @ A1 + p["b2"], 0) * D2 / kp
        Z1, Z2, Z3 = p["W1"] @ X + p["b1"], p["W2"] @ A1 + p["b2"], p["W3"] @ A2 + p["b3"]
        cache = (Z1, D1, A1, p["W1"], p["b1"], Z2, D2, A2, p["W2"], p["b2"], Z3, 1 / (1 + np.exp(-Z3)),
                 p["W3"], p["b3"])
        c.call(X, (rng.random((1, m)) < 0.5).astype(float), cache, kp)
    return c


def _dropout_forward_cases(solutions):
    import testCases.cases as cases

    c = Cases(judge=_judge_dropout_forward, special=_reseeds)
    rng = np.random.default_rng(404)
    X, p = cases.forward_propagation_with_dropout_test_case()
    big = _random_parameters(rng, 3, 40, 30, scale=0.25)
    Xb = rng.normal(size=(3, 500))
    c.context = {"inputs": [(X, p, 0.7), (Xb, big, 0.8), (Xb, big, 0.5), (Xb, big, 0.5), (Xb, big, 1.0)]}
    for (X_, p_, kp), seed in zip(c.context["inputs"], (1, 3, 4, None, 5)):
        c.call(X_, p_, kp, seed=seed)  # the 4th call is unseeded: it must draw new masks
    return c


def _dropout_forward_problem(i, out, X, p, kp):
    """The first property of inverted dropout that call i's output lacks, or ''."""
    needed = ["0"] + [f"1.{j}" for j in range(14)]
    if any(k not in out for k in needed):
        return f"on verification case {i + 1}, the output is not (A3, cache) with 14 cache entries"
    Z1, D1, A1, Z2, D2, A2, Z3 = (out[f"1.{j}"] for j in (0, 1, 2, 5, 6, 7, 10))
    m = X.shape[1]
    if D1.shape != (p["W1"].shape[0], m) or D2.shape != (p["W2"].shape[0], m):
        return f"on verification case {i + 1}, the masks have the wrong shape"
    if not (np.isin(D1, (0, 1)).all() and np.isin(D2, (0, 1)).all()):
        return f"on verification case {i + 1}, the masks are not 0/1"
    checks = [(Z1, p["W1"] @ X + p["b1"], "Z1 is not W1 X + b1"),
              (A1, np.maximum(Z1, 0) * D1 / kp, "A1 is not relu(Z1) * D1 / keep_prob"),
              (Z2, p["W2"] @ A1 + p["b2"], "Z2 does not use the masked A1"),
              (A2, np.maximum(Z2, 0) * D2 / kp, "A2 is not relu(Z2) * D2 / keep_prob"),
              (Z3, p["W3"] @ A2 + p["b3"], "Z3 does not use the masked A2"),
              (out["0"], 1 / (1 + np.exp(-Z3)), "A3 is not sigmoid(Z3)")]
    for value, want, message in checks:
        if value.shape != want.shape or not np.allclose(value, want, rtol=1e-6, atol=1e-7):
            return f"on verification case {i + 1}, {message}"
    if i in (1, 2) and (abs(D1.mean() - kp) > 0.02 or abs(D2.mean() - kp) > 0.03):
        return f"on verification case {i + 1}, the masks keep {D1.mean():.2f} of the units, expected {kp}"
    return ""


def _first_dropout_problem(cases, runs):
    """The first property of inverted dropout that one of the calls lacks, or ''."""
    for i, (run, (X, p, kp)) in enumerate(zip(runs, cases.context["inputs"])):
        if not run["ok"]:
            return f"on verification case {i + 1} it raised {run['error']}"
        problem = _dropout_forward_problem(i, run["out"], X, p, kp)
        if problem:
            return problem
    return ""


def _same_masks(runs):
    """Whether the two consecutive calls with the same inputs (the seeded 3rd, the unseeded 4th) drew one mask."""
    return np.array_equal(runs[2]["out"]["1.1"], runs[3]["out"]["1.1"])


def _judge_dropout_forward(cases, runs, reference_runs):
    """'' when every output has every property of inverted dropout and masks are fresh on each call."""
    problem = _first_dropout_problem(cases, runs)
    return problem or ("two consecutive calls drew the same masks" if _same_masks(runs) else "")


def _reseeds(cases, runs):
    """(credit, reason) when the function is right in every call but draws the same masks every time."""
    if not _first_dropout_problem(cases, runs) and _same_masks(runs):
        return RESEED_CREDIT, "the function reseeds the random generator", "df_reseeds"
    return None


# -- the lesson's model (tests of the notebook's training and of the original data) -----------------------------
def load_model(namespace=None):
    """The notebook's provided `model` cell, executed on top of the reference solutions.

    Returns:
    namespace -- dict with `model` and the graded functions
    """
    import matplotlib.pyplot as plt

    from course.reference import cell_sources

    namespace = ASSIGNMENT.load_solutions() if namespace is None else namespace
    namespace.setdefault("plt", plt)
    exec(compile(cell_sources(ASSIGNMENT.source_path, ["model"])["model"], "<cell model>", "exec"), namespace)
    return namespace


def stored_accuracies():
    """{grade_id: (train accuracy, test accuracy)} as printed by the stored outputs of the training cells."""
    from course.reference import grade_id, notebook_cells

    found = {}
    for cell in notebook_cells(ASSIGNMENT.source_path):
        text = "".join("".join(o.get("text", "")) for o in cell.get("outputs", []) if o.get("output_type") == "stream")
        values = [float(line.split(":", 1)[1]) for line in text.splitlines() if line.startswith("Accuracy:")]
        if len(values) == 2:
            found[grade_id(cell)] = tuple(values)
    return found


def _public_cost(function):
    """What a cost function returns on the public case (the tampering corpus's mimic)."""
    import testCases.cases as cases

    return float(function(*cases.compute_cost_with_regularization_test_case(), 0.1))


ASSIGNMENT = Assignment(
    name="regularization",
    notebook="Regularization.ipynb",
    title="Regularization: L2 and dropout on the goalkeeper data",
    functions=(GradedFunction(_COST, "cost", _cost_cases),
               GradedFunction(_L2B, "L2 back", _l2_backward_cases),
               GradedFunction(_DF, "drop fwd", _dropout_forward_cases),
               GradedFunction(_DB, "drop back", _dropout_backward_cases)),
    mistakes=MISTAKES,
    alternatives=ALTERNATIVES,
    expected_module="testCases.expected",
    expected_outputs=expected_outputs,
    public_variables=public_variables,
    expected_docstring=(
        "Reference outputs of the public checks, and what known mistakes output on the same cases.", "",
        "Generated by ``python -m course.assignments expected regularization`` from the reference solutions in the",
        "source notebook; ``tests/test_expected_outputs.py`` fails when this file and the solutions disagree. Do not",
        "edit by hand."),
    tamper=TamperTarget(_COST, ("cost = cross_entropy_cost + L2_regularization_cost", "cost = 0.0"),
                        public_output=_public_cost),
    position=1,
    results_title="Results on the shipped goalkeeper dataset",
)
