"""The deep MLP itself: parameters, forward pass, softmax cross-entropy, and ONE backward pass for both kinds of step.

The network is ``[LINEAR -> RELU] x (L - 1) -> LINEAR -> SOFTMAX`` for any ``layer_dims = [n_x, n_h1, ..., n_y]``,
with He initialization and the cross-entropy loss. Examples are columns: ``X -- (n_x, m)``, ``A[l] -- (n_l, m)``,
``W[l] -- (n_l, n_{l-1})``, ``b[l] -- (n_l, 1)``.

Who uses it: students call ``initialize_mlp`` and ``mlp_loss_and_grads`` (imported from ``reg_utils``); the trainer
(``reg_utils.mlp``) calls ``sgd_step`` once per mini-batch, and the evaluation (``reg_utils.mlp_evaluation``) calls
``forward_pass`` and ``softmax_cross_entropy``.

The backward pass (``backward_pass``) is written once. At each layer, from L down, it hands ``dZ[l]`` and
``A[l-1]`` to a layer update that either STORES the gradients (``GradientStore``: ``mlp_loss_and_grads``, and
training in float dtypes without a BLAS) or applies the fused SGD update in place (``FusedSGDUpdate``: float32 and
float64 training, where the weight gradients are never stored: gemm adds ``-dZ A.T`` straight into ``W`` and one
axpy adds the regularizer's term, so that each large weight matrix is read and written as few times as possible).
Every buffer is preallocated once per batch size (``Workspace``), so that a step allocates no large array.
"""

import numpy as np

from .blas import axpy_into, matmul_into, matvec_into
from .mlp_config import TrainingConfig


def initialize_mlp(layer_dims, *, dtype=np.float64, random_state=None):
    """He initialization: ``W[l] ~ N(0, 2 / n_{l-1})``, ``b[l] = 0``.

    Arguments:
    layer_dims -- [n_x, n_h1, ..., n_y], at least two positive integers
    dtype -- float dtype of the parameters
    random_state -- None, int or np.random.Generator

    Returns:
    parameters -- dict "W1" (n_h1, n_x), "b1" (n_h1, 1), ..., "WL" (n_y, n_h(L-1)), "bL" (n_y, 1)
    """
    layer_dims = checked_layer_dims(layer_dims)
    rng = np.random.default_rng(random_state)
    parameters = {}
    for l in range(1, len(layer_dims)):
        n_l, n_prev = layer_dims[l], layer_dims[l - 1]
        parameters[f"W{l}"] = (rng.standard_normal((n_l, n_prev)) * np.sqrt(2.0 / n_prev)).astype(dtype)
        parameters[f"b{l}"] = np.zeros((n_l, 1), dtype=dtype)
    return parameters


def checked_layer_dims(layer_dims):
    """layer_dims as a list of ints; ValueError naming the argument otherwise."""
    layer_dims = list(layer_dims)
    if len(layer_dims) < 2 or any(int(n) != n or n < 1 for n in layer_dims):
        raise ValueError(f"layer_dims must list at least two positive integer sizes, got {layer_dims!r}")
    return [int(n) for n in layer_dims]


def layer_dims_of(parameters):
    """[n_x, n_h1, ..., n_y] of a network's parameters (W1 (n_h1, n_x), ..., WL (n_y, n_h(L-1)))."""
    L = sum(1 for key in parameters if key.startswith("W"))
    return [parameters["W1"].shape[1]] + [parameters[f"W{l}"].shape[0] for l in range(1, L + 1)]


def checked_X(X, n_x, name, dtype):
    """X as a float array (n_x, m) of the given dtype; ValueError naming the argument otherwise."""
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2 or X.shape[0] != n_x:
        raise ValueError(f"{name} has shape {X.shape}, expected ({n_x}, m): one example per column")
    return X


def labels_of(Y, n_y, m, name):
    """(m,) integer labels from Y given as (n_y, m) one-hot or (1, m) / (m,) labels."""
    Y = np.asarray(Y)
    if Y.ndim == 2 and Y.shape == (n_y, m) and n_y > 1:
        return Y.argmax(axis=0)
    if Y.size == m and (Y.ndim == 1 or Y.shape == (1, m)):
        labels = Y.reshape(-1).astype(np.int64)
        if labels.min() < 0 or labels.max() >= n_y:
            raise ValueError(f"{name} holds labels from {labels.min()} to {labels.max()}, expected 0..{n_y - 1}")
        return labels
    raise ValueError(f"{name} has shape {Y.shape}, expected ({n_y}, {m}) one-hot or (1, {m}) labels")


class Workspace:
    """Preallocated buffers for one batch size: the loop runs without allocating large arrays.

    Z[l] -- (n_l, b): the pre-activation of layer l, turned into A[l] = relu(Z[l]) in place (hidden layers) or
            into softmax probabilities and then dZ[L] in place (output layer)
    dA[l] -- (n_l, b) for hidden layers: the gradient flowing back, turned into dZ[l] in place
    positive[l] -- (n_l, b) bool: where A[l] > 0 (the ReLU derivative)
    columns -- (b,) 0, 1, ..., b - 1: the column index of the true-class entries
    ones -- (b,) ones: the bias gradient is dZ[l] @ ones
    X_rows -- (b, n_x): the mini-batch gathered one example per row; X_rows.T is the (n_x, b) X of the step
    """

    def __init__(self, layer_dims, batch_size, dtype):
        L = len(layer_dims) - 1
        self.Z = {l: np.empty((layer_dims[l], batch_size), dtype=dtype) for l in range(1, L + 1)}
        self.dA = {l: np.empty((layer_dims[l], batch_size), dtype=dtype) for l in range(1, L)}
        self.positive = {l: np.empty((layer_dims[l], batch_size), dtype=bool) for l in range(1, L)}
        self.columns = np.arange(batch_size)
        self.ones = np.ones(batch_size, dtype=dtype)
        self.X_rows = np.empty((batch_size, layer_dims[0]), dtype=dtype)


def workspace_for(workspaces, layer_dims, batch_size, dtype):
    """The Workspace of this batch size from `workspaces` (a dict by batch size), made on first use."""
    return workspaces.get(batch_size) or workspaces.setdefault(batch_size, Workspace(layer_dims, batch_size, dtype))


def forward_pass(X, parameters, ws, blas=None, config=None):
    """Forward pass into the workspace.

    Arguments:
    X -- (n_x, b) inputs
    parameters -- dict of W1..WL, b1..bL
    ws -- Workspace for batch size b
    blas -- the triple of blas_functions (every product through SciPy's gemm), or None (np.matmul)
    config -- a TrainingConfig: dropout after each hidden ReLU when config.keep_prob < 1; None: no dropout (as
              in evaluation)

    Returns:
    logits -- (n_y, b) ws.Z[L], the output pre-activation
    cache -- list [X, A1_out, ..., A(L-1)_out, masks]: what each layer passed on (after dropout), and the masks
    """
    dropout_forward = config.dropout_forward if config is not None and config.uses_dropout else None
    L = len(ws.Z)
    dtype = ws.Z[1].dtype
    A_prev = X
    activations = [X]
    masks = {}
    for l in range(1, L + 1):
        Z = ws.Z[l]
        matmul_into(Z, parameters[f"W{l}"], A_prev, blas)
        Z += parameters[f"b{l}"]
        if l == L:
            break
        np.maximum(Z, 0, out=Z)
        A_prev = Z
        if dropout_forward is not None:
            A_prev, masks[l] = dropout_forward(Z, config.keep_prob)
            if A_prev.dtype != dtype:  # a float64 mask must not turn a float32 network into a float64 one
                A_prev = A_prev.astype(dtype)
        activations.append(A_prev)
    activations.append(masks)
    return ws.Z[L], activations


def softmax_cross_entropy(logits, labels, ws, gradient, scale=1.0, metrics=True):
    """Mean cross-entropy of softmax(logits), computed stably; optionally turn logits into dZ[L] in place.

    Arguments:
    logits -- (n_y, b) output pre-activations (overwritten)
    labels -- (b,) integer labels
    ws -- the workspace (for its column index)
    gradient -- if True, leave scale * dZ[L] = scale * (softmax(logits) - Y) / b in `logits`
    scale -- factor of the gradient (every gradient is linear in dZ[L], so this scales them all)
    metrics -- if False, only compute the gradient (a training step that nobody reads the loss of)

    Returns:
    loss -- float, mean over the b examples of -log softmax(logits)[label] (None when metrics is False)
    correct -- int, how many examples have argmax(logits) == label (None when metrics is False)
    """
    b = logits.shape[1]
    columns = ws.columns[:b]
    loss = correct = None
    if metrics:
        correct = int(np.count_nonzero(logits.argmax(axis=0) == labels))
    logits -= logits.max(axis=0, keepdims=True)  # exp never overflows; softmax is unchanged
    if metrics:
        picked = logits[labels, columns]  # a copy: the shifted logit of the true class
    np.exp(logits, out=logits)
    total = logits.sum(axis=0)
    if metrics:
        loss = float(np.mean(np.log(total) - picked))
    if gradient:
        logits /= total
        logits[labels, columns] -= 1.0
        logits *= scale / b
    return loss, correct


def backward_pass(dZ, parameters, cache, ws, update_layer, config, blas=None):
    """THE backward pass, from dZ[L] down to layer 1; what happens to each layer's gradients is `update_layer`'s.

    Arguments:
    dZ -- (n_y, b) gradient of the (scaled) mean loss with respect to Z[L]; ws.Z[L] itself, overwritten
    parameters -- dict of W1..WL, b1..bL
    cache -- the cache of forward_pass
    ws -- the workspace of the forward pass
    update_layer -- update_layer(l, dZ, A_prev, W, bias) with dZ -- (n_l, b), A_prev -- (n_{l-1}, b): stores
                    the gradients of layer l (GradientStore) or updates W[l] and b[l] in place (FusedSGDUpdate).
                    It is called after dA[l-1] = W[l].T dZ[l] is computed, so it may change W[l].
    config -- TrainingConfig: dropout's backward step with the forward pass's masks when config.keep_prob < 1
    blas -- the triple of blas_functions for dA, or None (np.matmul)
    """
    dropout_backward = config.dropout_backward if config.uses_dropout else None
    masks = cache[-1]
    for l in range(len(ws.Z), 0, -1):
        W, bias = parameters[f"W{l}"], parameters[f"b{l}"]
        A_prev = cache[l - 1]
        if l > 1:
            dA = ws.dA[l - 1]
            matmul_into(dA, W.T, dZ, blas)  # with W[l] before update_layer may change it
        update_layer(l, dZ, A_prev, W, bias)
        if l == 1:
            break
        if dropout_backward is not None:
            dA = dropout_backward(dA, masks[l - 1], config.keep_prob)
        # relu'(Z) = 1 where A > 0; A_prev after dropout is 0 where the unit was dropped, and dA is 0 there too.
        positive = ws.positive[l - 1]
        np.greater(A_prev, 0, out=positive)
        np.multiply(dA, positive, out=ws.dA[l - 1])
        dZ = ws.dA[l - 1]


class GradientStore:
    """A backward pass's layer update that stores the gradients: grads["dW<l>"] = dZ A_prev.T (+ the regularizer's
    term, times scale), grads["db<l>"] = dZ 1.

    grads -- dict of preallocated "dW1" (n_h1, n_x), "db1" (n_h1, 1), ..., overwritten
    grads_term -- the regularizer's dict "dW1" (n_h1, n_x), ..., or None without a regularizer
    scale -- the factor dZ[L] was scaled with (the regularizer's term gets it too)
    """

    def __init__(self, grads, grads_term, scale):
        self.grads, self.grads_term, self.scale = grads, grads_term, scale

    def __call__(self, l, dZ, A_prev, W, bias):
        dW = self.grads[f"dW{l}"]
        matmul_into(dW, dZ, A_prev.T, None)
        np.sum(dZ, axis=1, keepdims=True, out=self.grads[f"db{l}"])
        if self.grads_term is not None:
            term = self.grads_term[f"dW{l}"]
            dW += term if self.scale == 1 else term * self.scale


class FusedSGDUpdate:
    """A backward pass's layer update that applies the SGD step in place, with the gradients never stored:
    W[l] -= learning_rate * grads_term["dW<l>"] (one axpy), W[l] -= dZ A_prev.T (one gemm with beta = 1: there is
    no dW array) and b[l] -= dZ 1 (one gemv). dZ[L] must already be multiplied by the learning rate.

    learning_rate -- the step size (for the regularizer's term)
    grads_term -- the regularizer's dict "dW1" (n_h1, n_x), ..., or None without a regularizer
    ones -- (b,) ones of the workspace
    blas -- the triple of blas_functions (not None)
    """

    def __init__(self, learning_rate, grads_term, ones, blas):
        self.learning_rate, self.grads_term, self.ones, self.blas = learning_rate, grads_term, ones, blas

    def __call__(self, l, dZ, A_prev, W, bias):
        if self.grads_term is not None:
            term = np.ascontiguousarray(self.grads_term[f"dW{l}"], dtype=W.dtype)
            if term.shape == W.shape:
                axpy_into(W, term, -self.learning_rate, self.blas)
            else:  # a grads_term that broadcasts (not what the assignment asks for, but += accepted it)
                W -= self.learning_rate * term
        matmul_into(W, dZ, A_prev.T, self.blas, alpha=-1.0, beta=1.0)  # W -= dZ A_prev.T, in place
        matvec_into(bias, dZ, self.ones, self.blas, alpha=-1.0, beta=1.0)  # b -= dZ 1, in place


def sgd_step(X, labels, parameters, ws, config, blas, grads=None):
    """One SGD step on a mini-batch, applied to `parameters` in place.

    Arguments:
    X -- (n_x, b) inputs of the mini-batch;  labels -- (b,) integer labels
    parameters -- dict of W1..WL, b1..bL, updated in place
    ws -- Workspace for batch size b
    config -- TrainingConfig: learning_rate, lambd and regularizer, keep_prob and the dropout functions
    blas -- the triple of blas_functions: the fused update (FusedSGDUpdate); None: the gradients are stored into
            `grads` (already multiplied by the learning rate, scaled once at dZ[L]) and then subtracted, one pass
            over each parameter
    grads -- without blas, dict of preallocated "dW1" (n_h1, n_x), "db1" (n_h1, 1), ...

    The fused step does the same arithmetic as parameters[k] -= learning_rate * grads[k] with the grads of
    mlp_loss_and_grads: regularizer(parameters, lambd, b) is called first, on the parameters of this step (before
    any update); dZ[L] comes out of the softmax already multiplied by the learning rate; dA[l-1] is computed with
    the old W[l].
    """
    if blas is None:
        loss_and_gradients(X, labels, parameters, ws, grads, config, scale=config.learning_rate)
        for key, value in parameters.items():
            value -= grads[f"d{key}"]
        return
    _, grads_term = regularizer_terms(parameters, config, X.shape[1])
    logits, cache = forward_pass(X, parameters, ws, blas, config)
    softmax_cross_entropy(logits, labels, ws, gradient=True, scale=config.learning_rate, metrics=False)
    update = FusedSGDUpdate(config.learning_rate, grads_term, ws.ones[:X.shape[1]], blas)
    backward_pass(logits, parameters, cache, ws, update, config, blas)


def loss_and_gradients(X, labels, parameters, ws, grads, config, scale=1.0):
    """Forward, loss and backward of one mini-batch into grads, all multiplied by `scale` (products by np.matmul).

    Arguments:
    X -- (n_x, b) inputs;  labels -- (b,) integer labels
    parameters -- dict of W1..WL, b1..bL
    ws -- Workspace for batch size b
    grads -- dict of preallocated "dW1" (n_h1, n_x), "db1" (n_h1, 1), ..., overwritten
    config -- TrainingConfig: lambd and regularizer, keep_prob and the dropout functions
    scale -- factor of every gradient

    Returns:
    cost -- float, mean cross-entropy + penalty (not scaled)
    """
    penalty, grads_term = regularizer_terms(parameters, config, X.shape[1])
    logits, cache = forward_pass(X, parameters, ws, None, config)
    cost, _ = softmax_cross_entropy(logits, labels, ws, gradient=True, scale=scale)
    backward_pass(logits, parameters, cache, ws, GradientStore(grads, grads_term, scale), config)
    if grads_term is not None:
        cost += float(penalty)
    return cost


def regularizer_terms(parameters, config, m):
    """(penalty, grads_term) = config.regularizer(parameters, config.lambd, m), or (None, None) when lambd is 0."""
    if not config.uses_regularizer:
        return None, None
    return config.regularizer(parameters, config.lambd, m)


def mlp_loss_and_grads(X, Y, parameters, *, lambd=0.0, regularizer=None, keep_prob=1.0, dropout_forward=None,
                       dropout_backward=None):
    """The mini-batch cost and its gradients, exactly as one training step of train_mlp computes them.

    Arguments:
    X -- (n_x, m) inputs of one mini-batch
    Y -- (n_y, m) one-hot or (1, m) integer labels
    parameters -- dict of W1..WL, b1..bL
    lambd, regularizer -- cost += regularizer(parameters, lambd, m)[0] and dW += its grads_term when lambd > 0
    keep_prob, dropout_forward, dropout_backward -- dropout on the hidden layers when keep_prob < 1

    Returns:
    cost -- float: mean cross-entropy + penalty
    grads -- dict "dW1" (n_h1, n_x), "db1" (n_h1, 1), ..., new arrays
    """
    layer_dims = layer_dims_of(parameters)
    dtype = parameters["W1"].dtype
    X = checked_X(X, layer_dims[0], "X", dtype)
    labels = labels_of(Y, layer_dims[-1], X.shape[1], "Y")
    config = TrainingConfig(lambd=lambd, regularizer=regularizer, keep_prob=keep_prob,
                            dropout_forward=dropout_forward, dropout_backward=dropout_backward)
    grads = {f"d{k}": np.empty_like(v) for k, v in parameters.items()}
    cost = loss_and_gradients(X, labels, parameters, Workspace(layer_dims, X.shape[1], dtype), grads, config)
    return cost, grads
