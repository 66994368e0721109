"""Code variants of the four graded functions: the mistakes students make, and correct alternatives.

Each variant is an edit of the reference solution's source (read from the source notebook), so variants never
drift from the notebook. ``MISTAKES`` feeds the hints of the public checks (``testCases/expected.py`` stores what
each mistake outputs on the public case) and the grading tests; ``CORRECT_ALTERNATIVES`` must earn full marks.
"""

from dataclasses import dataclass, field

from course.reference import solution_sources


@dataclass(frozen=True)
class Variant:
    """An edited copy of one graded function.

    grade_id -- the function (answer cell) it edits
    name -- short identifier, used in test ids and submission names
    description -- what the student did, as the feedback will say it
    edits -- pairs (old, new) applied with str.replace; each old must occur in the reference solution
    feedback -- the words the feedback must contain (by default the description: the check recognises the output)
    credit -- share of the exercise's points the mistake still earns (0 for correct alternatives: they earn all)
    """

    grade_id: str
    name: str
    description: str
    edits: tuple = field(default_factory=tuple)
    feedback: str = ""
    credit: float = 0.0

    @property
    def expected_feedback(self):
        """What a check's message must contain for this variant."""
        return self.feedback or self.description

    def source(self, sources=None):
        """The edited source of the answer cell."""
        text = (sources or solution_sources())[self.grade_id]
        for old, new in self.edits:
            if old not in text:
                raise ValueError(f"variant {self.name}: {old!r} is not in the solution of {self.grade_id}")
            text = text.replace(old, new)
        return text


_L2 = "lambd / (2 * m) * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"
_COST = "compute_cost_with_regularization"
_L2B = "backward_propagation_with_regularization"
_DF = "forward_propagation_with_dropout"
_DB = "backward_propagation_with_dropout"

MISTAKES = (
    Variant(_COST, "cost_missing_1_over_m", "the L2 term lacks the 1/m factor: use lambd / (2 * m)",
            ((_L2, "lambd / 2 * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"),), credit=0.5),
    Variant(_COST, "cost_lambd_not_halved", "the L2 term uses lambd / m instead of lambd / (2 * m)",
            ((_L2, "lambd / m * (np.sum(np.square(W1)) + np.sum(np.square(W2)) + np.sum(np.square(W3)))"),), credit=0.5),
    Variant(_COST, "cost_regularizes_biases", "the L2 term includes the biases b1, b2, b3: regularize only W",
            ((_L2, _L2[:-1] + ' + np.sum(np.square(parameters["b1"])) + np.sum(np.square(parameters["b2"]))'
                   ' + np.sum(np.square(parameters["b3"])))'),), credit=0.5),
    Variant(_COST, "cost_sums_w_not_squares", "the L2 term sums the weights instead of their squares",
            ((_L2, "lambd / (2 * m) * (np.sum(W1) + np.sum(W2) + np.sum(W3))"),)),
    Variant(_COST, "cost_norm_not_squared",
            "the L2 term uses the norm of W without squaring it: np.linalg.norm(W) ** 2 is the sum of squares",
            ((_L2, "lambd / (2 * m) * (np.linalg.norm(W1) + np.linalg.norm(W2) + np.linalg.norm(W3))"),), credit=0.25),
    Variant(_L2B, "l2b_term_in_db", "db has an L2 term: biases are not regularized, so db stays unchanged",
            (("db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True)",
              "db3 = 1. / m * np.sum(dZ3, axis=1, keepdims=True) + lambd / m * b3"),), credit=0.5),
    Variant(_L2B, "l2b_missing_1_over_m", "the L2 term of dW is lambd * W without the 1/m: use lambd / m * W",
            (("+ lambd / m * W3", "+ lambd * W3"), ("+ lambd / m * W2", "+ lambd * W2"),
             ("+ lambd / m * W1", "+ lambd * W1")), credit=0.5),
    Variant(_L2B, "l2b_doubled", "the L2 term of dW is 2 * lambd / m * W: the derivative of lambd/(2m) W^2 is "
            "lambd / m * W", (("+ lambd / m * W3", "+ 2 * lambd / m * W3"), ("+ lambd / m * W2", "+ 2 * lambd / m * W2"),
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
              "DX = np.random.rand(X.shape[0], X.shape[1]) < keep_prob\n    Z1 = np.dot(W1, X * DX / keep_prob) + b1"),), credit=0.25),
    Variant(_DF, "df_on_output", "dropout is applied to the output A3: apply it to the hidden layers A1 and A2 only",
            (("    A3 = sigmoid(Z3)\n",
              "    A3 = sigmoid(Z3)\n    A3 = A3 * (np.random.rand(A3.shape[0], A3.shape[1]) < keep_prob) / keep_prob\n"),), credit=0.25),
    Variant(_DF, "df_one_mask", "one mask is reused for both layers: draw a new mask D2 for layer 2",
            (("D2 = np.random.rand(A2.shape[0], A2.shape[1])\n    D2 = D2 < keep_prob",
              "D2 = D1[:A2.shape[0], :]"),), feedback="each layer needs its own mask"),
    Variant(_DF, "df_reseeds", "the function calls np.random.seed: every call then drops the same units",
            (('    W1 = parameters["W1"]\n', '    np.random.seed(1)\n    W1 = parameters["W1"]\n'),),
            feedback="your function reseeds the random generator", credit=0.5),
    Variant(_DB, "db_no_scaling", "dA is not divided by keep_prob after the mask",
            (("    dA2 = dA2 / keep_prob\n", ""), ("    dA1 = dA1 / keep_prob\n", "")), credit=0.5),
    Variant(_DB, "db_times_keep_prob", "dA is multiplied by keep_prob: divide by it, as the forward pass did",
            (("dA2 = dA2 / keep_prob", "dA2 = dA2 * keep_prob"), ("dA1 = dA1 / keep_prob", "dA1 = dA1 * keep_prob")), credit=0.25),
    Variant(_DB, "db_masks_swapped", "the masks are swapped: dA2 takes D2 and dA1 takes D1",
            (("dA2 = dA2 * D2", "dA2 = dA2 * D1"), ("dA1 = dA1 * D1", "dA1 = dA1 * D2")),
            feedback="the masks are swapped"),
    Variant(_DB, "db_mask_forgotten", "dA1 is not multiplied by the mask D1: no gradient may flow through a "
            "dropped unit", (("    dA1 = dA1 * D1\n", ""),), credit=0.5),
)

CORRECT_ALTERNATIVES = (
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
