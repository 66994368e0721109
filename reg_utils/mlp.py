"""A deep multilayer perceptron for digit classification, trained with mini-batch SGD.

The network is ``[LINEAR -> RELU] x (L - 1) -> LINEAR -> SOFTMAX`` for any ``layer_dims = [n_x, n_h1, ..., n_y]``,
with He initialization and the cross-entropy loss. Examples are columns: ``X -- (n_x, m)``, ``A[l] -- (n_l, m)``,
``W[l] -- (n_l, n_{l-1})``, ``b[l] -- (n_l, 1)``.

Regularization is not built in: ``train_mlp`` calls the functions it is given (the ones you write in the
assignment), so your code is what runs:

- ``regularizer(parameters, lambd, m) -> (penalty, grads_term)``, e.g. ``l2_regularization``; each mini-batch of
  ``m`` examples minimizes ``cross-entropy + penalty`` and adds ``grads_term["dW1"]``, ... to the weight gradients;
- ``dropout_forward(A, keep_prob) -> (A_out, mask)`` after every hidden ReLU, and
  ``dropout_backward(dA, mask, keep_prob) -> dA_out`` on the way back. Evaluation never applies dropout.

Speed: the training loop preallocates every activation buffer once per batch size and works in place. For
float32 and float64 every matrix product goes through SciPy's BLAS, writing into those buffers, and each SGD step
is fused: the weight gradients are never stored, gemm adds ``-dZ A.T`` straight into ``W`` (beta = 1) and one axpy
adds the regularizer's term, so that each large weight matrix is read and written as few times as possible.
Keeping every product in ONE BLAS library matters: NumPy and SciPy wheels each bundle their own OpenBLAS, and with
two threads each, their idle workers spin against each other (training was 4 to 7 times slower). With one library,
two BLAS threads are the fastest setting for mini-batches. ``dtype=np.float32`` halves the memory traffic and
roughly doubles the matrix-product rate.
"""

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

#: Examples per chunk when evaluating a whole set (bounds the memory of the activations).
EVAL_CHUNK = 2048


def initialize_mlp(layer_dims, *, dtype=np.float64, random_state=None):
    """He initialization: ``W[l] ~ N(0, 2 / n_{l-1})``, ``b[l] = 0``.

    Arguments:
    layer_dims -- [n_x, n_h1, ..., n_y], at least two positive integers
    dtype -- float dtype of the parameters
    random_state -- None, int or np.random.Generator

    Returns:
    parameters -- dict "W1" (n_h1, n_x), "b1" (n_h1, 1), ..., "WL" (n_y, n_h(L-1)), "bL" (n_y, 1)
    """
    layer_dims = _checked_layer_dims(layer_dims)
    rng = np.random.default_rng(random_state)
    parameters = {}
    for l in range(1, len(layer_dims)):
        n_l, n_prev = layer_dims[l], layer_dims[l - 1]
        parameters[f"W{l}"] = (rng.standard_normal((n_l, n_prev)) * np.sqrt(2.0 / n_prev)).astype(dtype)
        parameters[f"b{l}"] = np.zeros((n_l, 1), dtype=dtype)
    return parameters


def _checked_layer_dims(layer_dims):
    """layer_dims as a list of ints; ValueError naming the argument otherwise."""
    layer_dims = list(layer_dims)
    if len(layer_dims) < 2 or any(int(n) != n or n < 1 for n in layer_dims):
        raise ValueError(f"layer_dims must list at least two positive integer sizes, got {layer_dims!r}")
    return [int(n) for n in layer_dims]


def _n_layers(parameters):
    """L, the number of weight layers in parameters."""
    return sum(1 for key in parameters if key.startswith("W"))


class _Workspace:
    """Preallocated buffers for one batch size: the loop runs without allocating large arrays.

    Z[l] -- (n_l, b): the pre-activation of layer l, turned into A[l] = relu(Z[l]) in place (hidden layers) or
            into softmax probabilities and then dZ[L] in place (output layer)
    dA[l] -- (n_l, b) for hidden layers: the gradient flowing back, turned into dZ[l] in place
    positive[l] -- (n_l, b) bool: where A[l] > 0 (the ReLU derivative)
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


def _matmul_into(out, A, B, blas, alpha=1.0, beta=0.0):
    """out[...] = alpha * A @ B + beta * out, with SciPy's gemm when blas is given (so that every product uses one
    BLAS library); without blas, only alpha = 1, beta = 0 (np.matmul).

    out is C-contiguous, so out.T is Fortran-contiguous and gemm can write out.T = B.T @ A.T in place.
    """
    if blas is None:
        np.matmul(A, B, out=out)
        return
    b, trans_b = _fortran(B.T)
    a, trans_a = _fortran(A.T)
    if not _same_memory(blas[0](alpha, b, a, beta=beta, c=out.T, trans_a=trans_b, trans_b=trans_a,
                                overwrite_c=True), out):
        raise RuntimeError("BLAS gemm did not write the product in place")


def _forward(X, parameters, L, ws, keep_prob=1.0, dropout_forward=None, blas=None):
    """Forward pass into the workspace.

    Arguments:
    X -- (n_x, b) inputs
    parameters -- dict of W1..WL, b1..bL
    L -- number of layers
    ws -- _Workspace for batch size b
    keep_prob, dropout_forward -- dropout after each hidden ReLU when dropout_forward is given and keep_prob < 1

    Returns:
    logits -- (n_y, b) ws.Z[L], the output pre-activation
    cache -- list [X, A1_out, ..., A(L-1)_out, masks]: what each layer passed on (after dropout), and the masks
    """
    dtype = ws.Z[1].dtype
    A_prev = X
    activations = [X]
    masks = {}
    for l in range(1, L + 1):
        Z = ws.Z[l]
        _matmul_into(Z, parameters[f"W{l}"], A_prev, blas)
        Z += parameters[f"b{l}"]
        if l == L:
            break
        np.maximum(Z, 0, out=Z)
        A_prev = Z
        if dropout_forward is not None:
            A_prev, masks[l] = dropout_forward(Z, keep_prob)
            if A_prev.dtype != dtype:  # a float64 mask must not turn a float32 network into a float64 one
                A_prev = A_prev.astype(dtype)
        activations.append(A_prev)
    activations.append(masks)
    return ws.Z[L], activations


def _softmax_cross_entropy(logits, labels, ws, gradient, scale=1.0, metrics=True):
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


def _backward(dZ, parameters, activations, L, ws, grads, keep_prob=1.0, dropout_backward=None):
    """Backward pass: fill grads["dW1"], grads["db1"], ... in place from dZ[L].

    Arguments:
    dZ -- (n_y, b) gradient of the mean loss with respect to Z[L]
    parameters -- dict of W1..WL, b1..bL
    activations -- the cache of _forward
    L -- number of layers
    ws -- the workspace of the forward pass
    grads -- dict of preallocated "dW1" (n_h1, n_x), "db1" (n_h1, 1), ...
    keep_prob, dropout_backward -- apply dropout's backward step with the forward pass's masks
    """
    masks = activations[-1]
    for l in range(L, 0, -1):
        A_prev = activations[l - 1]
        np.matmul(dZ, A_prev.T, out=grads[f"dW{l}"])
        np.sum(dZ, axis=1, keepdims=True, out=grads[f"db{l}"])
        if l == 1:
            break
        dA = ws.dA[l - 1]
        np.matmul(parameters[f"W{l}"].T, dZ, out=dA)
        if dropout_backward is not None:
            dA = dropout_backward(dA, masks[l - 1], keep_prob)
        # relu'(Z) = 1 where A > 0; A_prev after dropout is 0 where the unit was dropped, and dA is 0 there too.
        positive = ws.positive[l - 1]
        np.greater(A_prev, 0, out=positive)
        np.multiply(dA, positive, out=ws.dA[l - 1])
        dZ = ws.dA[l - 1]


def _blas_functions(dtype):
    """(gemm, gemv, axpy) of SciPy's BLAS for float32 or float64, or None for other dtypes (NumPy fallback)."""
    if dtype not in (np.float32, np.float64):
        return None
    from scipy.linalg import blas  # imported here: loading SciPy's BLAS is only worth it for training

    return blas.get_blas_funcs(("gemm", "gemv", "axpy"), dtype=dtype)


def _fortran(M):
    """(array, transposed) with array Fortran-contiguous and M == array.T if transposed else array.

    SciPy's BLAS wrappers copy any operand that is not Fortran-contiguous; a C-contiguous M is passed as M.T with
    the transpose flag instead, so that no operand is ever copied.
    """
    if M.flags.f_contiguous:
        return M, 0
    if M.flags.c_contiguous:
        return M.T, 1
    return np.asfortranarray(M), 0


def _same_memory(result, array):
    """True if a BLAS wrapper wrote its result into `array` itself (it does for contiguous arrays)."""
    return result.ctypes.data == array.ctypes.data and result.size == array.size


def _sgd_step(X, labels, parameters, L, ws, learning_rate, lambd, regularizer, keep_prob, dropout_forward,
              dropout_backward, blas):
    """One SGD step on a mini-batch, applied to `parameters` in place, with the gradients never stored.

    The same arithmetic as parameters[k] -= learning_rate * grads[k] with the grads of mlp_loss_and_grads, but
    fused, so that each weight matrix is read and written as few times as possible (for the 784 x 256 first layer,
    memory traffic costs as much as the products):
    - regularizer(parameters, lambd, m) is called first, on the parameters of this step (before any update);
    - dZ[L] comes out of the softmax already multiplied by the learning rate;
    - layer by layer from L down, dA[l-1] = W[l].T dZ[l] is computed with the old W[l]; then
      W[l] -= learning_rate * grads_term["dW<l>"] (one BLAS axpy, no temporary array),
      W[l] -= dZ[l] A[l-1].T (one BLAS gemm that adds the product into W[l]: there is no dW array), and
      b[l] -= dZ[l] 1 (one gemv).
    """
    _, gemv, axpy = blas
    use_dropout = keep_prob < 1
    b = X.shape[1]
    grads_term = regularizer(parameters, lambd, b)[1] if lambd > 0 else None
    logits, activations = _forward(X, parameters, L, ws, keep_prob, dropout_forward if use_dropout else None,
                                   blas)
    _softmax_cross_entropy(logits, labels, ws, gradient=True, scale=learning_rate, metrics=False)
    masks = activations[-1]
    ones = ws.ones[:b]
    dZ = logits
    for l in range(L, 0, -1):
        W, bias = parameters[f"W{l}"], parameters[f"b{l}"]
        A_prev = activations[l - 1]
        if l > 1:
            dA = ws.dA[l - 1]
            _matmul_into(dA, W.T, dZ, blas)  # with W[l] before its update
        if grads_term is not None:
            term = np.ascontiguousarray(grads_term[f"dW{l}"], dtype=W.dtype)
            if term.shape == W.shape:
                if not _same_memory(axpy(term.reshape(-1), W.reshape(-1), a=-learning_rate), W):
                    raise RuntimeError("BLAS axpy did not update the weights in place")
            else:  # a grads_term that broadcasts (not what the assignment asks for, but += accepted it)
                W -= learning_rate * term
        _matmul_into(W, dZ, A_prev.T, blas, alpha=-1.0, beta=1.0)  # W -= dZ A_prev.T, in place
        dZ_F, trans = _fortran(dZ)
        if not _same_memory(gemv(-1.0, dZ_F, ones, beta=1.0, y=bias.reshape(-1), trans=trans, overwrite_y=True),
                            bias):
            raise RuntimeError("BLAS gemv did not update the biases in place")
        if l == 1:
            break
        if use_dropout:
            dA = dropout_backward(dA, masks[l - 1], keep_prob)
        # relu'(Z) = 1 where A > 0; A_prev after dropout is 0 where the unit was dropped, and dA is 0 there too.
        positive = ws.positive[l - 1]
        np.greater(A_prev, 0, out=positive)
        np.multiply(dA, positive, out=ws.dA[l - 1])
        dZ = ws.dA[l - 1]


def _labels_of(Y, n_y, m, name):
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


def _checked_X(X, n_x, name, dtype):
    """X as a float array (n_x, m) of the given dtype; ValueError naming the argument otherwise."""
    X = np.asarray(X, dtype=dtype)
    if X.ndim != 2 or X.shape[0] != n_x:
        raise ValueError(f"{name} has shape {X.shape}, expected ({n_x}, m): one example per column")
    return X


def mlp_forward(X, parameters):
    """Class probabilities of the network, without dropout.

    Arguments:
    X -- (n_x, m) inputs
    parameters -- dict "W1" (n_h1, n_x), "b1" (n_h1, 1), ..., "WL" (n_y, n_h(L-1)), "bL" (n_y, 1)

    Returns:
    AL -- (n_y, m) softmax probabilities; every column sums to 1
    """
    L = _n_layers(parameters)
    X = _checked_X(X, parameters["W1"].shape[1], "X", parameters["W1"].dtype)
    layer_dims = [X.shape[0]] + [parameters[f"W{l}"].shape[0] for l in range(1, L + 1)]
    X_rows = np.ascontiguousarray(X.T)
    blas = _blas_functions(X.dtype)
    AL = np.empty((layer_dims[-1], X.shape[1]), dtype=X.dtype)
    for start in range(0, X.shape[1], EVAL_CHUNK):
        X_chunk = X_rows[start:start + EVAL_CHUNK].T
        logits, _ = _forward(X_chunk, parameters, L, _Workspace(layer_dims, X_chunk.shape[1], X.dtype), blas=blas)
        logits -= logits.max(axis=0, keepdims=True)
        np.exp(logits, out=logits)
        AL[:, start:start + EVAL_CHUNK] = logits / logits.sum(axis=0)
    return AL


def predict_mlp(X, parameters):
    """Predicted digit of each example (the most probable class).

    Arguments:
    X -- (n_x, m) inputs
    parameters -- the trained network's parameters

    Returns:
    predictions -- (1, m) integer labels
    """
    return mlp_forward(X, parameters).argmax(axis=0).reshape(1, -1)


def evaluate_mlp(X, Y, parameters):
    """Mean cross-entropy (without any penalty) and accuracy of the network on a set, without dropout.

    Arguments:
    X -- (n_x, m) inputs
    Y -- (n_y, m) one-hot labels or (1, m) integer labels
    parameters -- the network's parameters

    Returns:
    loss -- float
    accuracy -- float in [0, 1]
    """
    L = _n_layers(parameters)
    dtype = parameters["W1"].dtype
    X = _checked_X(X, parameters["W1"].shape[1], "X", dtype)
    layer_dims = [X.shape[0]] + [parameters[f"W{l}"].shape[0] for l in range(1, L + 1)]
    labels = _labels_of(Y, layer_dims[-1], X.shape[1], "Y")
    return _evaluate(np.ascontiguousarray(X.T), labels, parameters, layer_dims, {})


def _evaluate(X_rows, labels, parameters, layer_dims, workspaces):
    """Loss and accuracy on a set in chunks, reusing the workspaces (dict by chunk size).

    X_rows -- (m, n_x) C-contiguous, one example per row: every chunk X_rows[i:j].T is then an (n_x, b) block that
              the BLAS reads in place, without a copy
    """
    L = len(layer_dims) - 1
    m = X_rows.shape[0]
    blas = _blas_functions(X_rows.dtype)
    total_loss, total_correct = 0.0, 0
    for start in range(0, m, EVAL_CHUNK):
        X_chunk = X_rows[start:start + EVAL_CHUNK].T
        b = X_chunk.shape[1]
        ws = workspaces.get(b) or workspaces.setdefault(b, _Workspace(layer_dims, b, X_rows.dtype))
        logits, _ = _forward(X_chunk, parameters, L, ws, blas=blas)
        loss, correct = _softmax_cross_entropy(logits, labels[start:start + b], ws, gradient=False)
        total_loss += loss * b
        total_correct += correct
    return total_loss / m, total_correct / m


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
    L = _n_layers(parameters)
    dtype = parameters["W1"].dtype
    X = _checked_X(X, parameters["W1"].shape[1], "X", dtype)
    layer_dims = [X.shape[0]] + [parameters[f"W{l}"].shape[0] for l in range(1, L + 1)]
    labels = _labels_of(Y, layer_dims[-1], X.shape[1], "Y")
    _check_regularization(lambd, regularizer, keep_prob, dropout_forward, dropout_backward)
    grads = {f"d{k}": np.empty_like(v) for k, v in parameters.items()}
    cost = _step_gradients(X, labels, parameters, L, _Workspace(layer_dims, X.shape[1], dtype), grads, lambd,
                           regularizer, keep_prob, dropout_forward, dropout_backward)
    return cost, grads


def _check_regularization(lambd, regularizer, keep_prob, dropout_forward, dropout_backward):
    """ValueError naming the argument when the regularization settings do not fit together."""
    if not np.isscalar(lambd) or not lambd >= 0:
        raise ValueError(f"lambd must be a number >= 0, got {lambd!r}")
    if lambd > 0 and regularizer is None:
        raise ValueError("lambd > 0 needs regularizer=..., e.g. regularizer=l2_regularization")
    if not np.isscalar(keep_prob) or not 0 < keep_prob <= 1:
        raise ValueError(f"keep_prob must lie in (0, 1], got {keep_prob!r}")
    if keep_prob < 1 and (dropout_forward is None or dropout_backward is None):
        raise ValueError("keep_prob < 1 needs dropout_forward=... and dropout_backward=...")


def _step_gradients(X, labels, parameters, L, ws, grads, lambd, regularizer, keep_prob, dropout_forward,
                    dropout_backward, scale=1.0):
    """Forward, loss and backward of one mini-batch into grads, all multiplied by `scale`.

    Returns:
    cost -- float, mean cross-entropy + penalty (not scaled)
    """
    use_dropout = keep_prob < 1
    logits, activations = _forward(X, parameters, L, ws, keep_prob, dropout_forward if use_dropout else None)
    cost, _ = _softmax_cross_entropy(logits, labels, ws, gradient=True, scale=scale)
    _backward(logits, parameters, activations, L, ws, grads, keep_prob, dropout_backward if use_dropout else None)
    if lambd > 0:
        penalty, grads_term = regularizer(parameters, lambd, X.shape[1])
        cost += float(penalty)
        for l in range(1, L + 1):
            term = grads_term[f"dW{l}"]
            grads[f"dW{l}"] += term if scale == 1 else term * scale
    return cost


def train_mlp(X, Y, layer_dims, *, X_val=None, Y_val=None, epochs=20, batch_size=64, learning_rate=0.1, lambd=0.0,
              regularizer=None, keep_prob=1.0, dropout_forward=None, dropout_backward=None, dtype=np.float64,
              random_state=0, print_cost=True, blas_threads=2):
    """Train the MLP with mini-batch SGD; record loss and accuracy of every epoch.

    Each epoch shuffles the training set (with the run's own generator) and takes one SGD step per mini-batch of
    `batch_size` examples (the last one may be smaller). A mini-batch of m examples minimizes
    ``mean cross-entropy + regularizer(parameters, lambd, m)[0]``. After every epoch the network is evaluated
    WITHOUT dropout on the training set and, if given, on the validation set.

    Arguments:
    X -- (n_x, m) training inputs;  Y -- (n_y, m) one-hot or (1, m) integer labels
    layer_dims -- [n_x, n_h1, ..., n_y]
    X_val, Y_val -- optional validation set, same layout
    epochs -- passes over the training set
    batch_size -- examples per SGD step
    learning_rate -- SGD step size
    lambd -- regularization strength (0: none); needs `regularizer`
    regularizer -- function(parameters, lambd, m) -> (penalty, grads_term), e.g. l2_regularization
    keep_prob -- probability of keeping a hidden unit (1: no dropout); below 1 needs the two dropout functions
    dropout_forward -- function(A, keep_prob) -> (A_out, mask), applied after each hidden ReLU
    dropout_backward -- function(dA, mask, keep_prob) -> dA_out
    dtype -- np.float64 (default) or np.float32 (faster)
    random_state -- None, int or np.random.Generator: fixes initialization, shuffling and the dropout masks
    print_cost -- if True, show a progress bar with the losses; if False, print nothing
    blas_threads -- threads the BLAS may use during training (None: its default, often one per core). Two
                    were fastest in our measurements: a product of a (256, 784) by a (784, 64) matrix gains from a
                    second core, and is too small to share among many.

    Returns:
    parameters -- dict "W1" (n_h1, n_x), "b1" (n_h1, 1), ..., of the given dtype
    history -- dict of lists with one entry per epoch: "train_loss", "train_accuracy", "val_loss",
               "val_accuracy" (the val lists are empty without a validation set); losses are the mean
               cross-entropy without the penalty, so runs with different lambd compare directly
    """
    layer_dims = _checked_layer_dims(layer_dims)
    L = len(layer_dims) - 1
    dtype = np.dtype(dtype)
    if dtype.kind != "f":
        raise ValueError(f"dtype must be a float dtype, got {dtype}")
    X = _checked_X(X, layer_dims[0], "X", dtype)
    m = X.shape[1]
    labels = _labels_of(Y, layer_dims[-1], m, "Y")
    if (X_val is None) != (Y_val is None):
        raise ValueError("give both X_val and Y_val, or neither")
    if X_val is not None:
        X_val = _checked_X(X_val, layer_dims[0], "X_val", dtype)
        labels_val = _labels_of(Y_val, layer_dims[-1], X_val.shape[1], "Y_val")
        X_val_rows = np.ascontiguousarray(X_val.T)
    if int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}")
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs!r}")
    _check_regularization(lambd, regularizer, keep_prob, dropout_forward, dropout_backward)

    rng = np.random.default_rng(random_state)
    parameters = initialize_mlp(layer_dims, dtype=dtype, random_state=rng)
    blas = _blas_functions(dtype)  # fused in-place SGD steps; None: the NumPy path with a grads buffer
    grads = {f"d{k}": np.empty_like(v) for k, v in parameters.items()} if blas is None else None
    workspaces = {}
    eval_workspaces = {}
    history = {"train_loss": [], "train_accuracy": [], "val_loss": [], "val_accuracy": []}
    # One row per example, contiguous, so that a mini-batch is a fast gather of rows into the workspace's
    # (b, n_x) buffer, whose transpose is the (n_x, b) X_batch: a contiguous block for the BLAS, still in the cache
    # when the weight update reads it again.
    X_rows = np.ascontiguousarray(X.T)
    labels_shuffled = np.empty_like(labels)

    # Your dropout_forward may draw from NumPy's global generator (np.random.rand): seed it from this run's
    # generator so that the run is reproducible, and give the caller back the global state afterwards.
    saved_state = np.random.get_state() if keep_prob < 1 else None
    if saved_state is not None:
        np.random.seed(int(rng.integers(2**32)))
    limits = threadpool_limits(blas_threads, user_api="blas") if blas_threads is not None else None
    try:
        bar = tqdm(range(int(epochs)), desc="epochs", disable=not print_cost, leave=True)
        for _ in bar:
            order = rng.permutation(m)
            # mode="clip": the indices are valid, and the default mode="raise" buffers every take into `out`
            np.take(labels, order, out=labels_shuffled, mode="clip")
            for start in range(0, m, batch_size):
                batch = order[start:start + batch_size]
                b = batch.shape[0]
                ws = workspaces.get(b) or workspaces.setdefault(b, _Workspace(layer_dims, b, dtype))
                np.take(X_rows, batch, axis=0, out=ws.X_rows, mode="clip")
                X_batch = ws.X_rows.T
                if blas is not None:
                    _sgd_step(X_batch, labels_shuffled[start:start + b], parameters, L, ws, learning_rate, lambd,
                              regularizer, keep_prob, dropout_forward, dropout_backward, blas)
                    continue
                # Other float dtypes: the gradients come out multiplied by the learning rate (scaled once, at
                # dZ[L]), so that the update is one pass over each parameter.
                _step_gradients(X_batch, labels_shuffled[start:start + b], parameters, L, ws, grads, lambd,
                                regularizer, keep_prob, dropout_forward, dropout_backward, scale=learning_rate)
                for key, value in parameters.items():
                    value -= grads[f"d{key}"]
            loss, accuracy = _evaluate(X_rows, labels, parameters, layer_dims, eval_workspaces)
            history["train_loss"].append(loss)
            history["train_accuracy"].append(accuracy)
            postfix = {"loss": f"{loss:.4f}", "acc": f"{accuracy:.3f}"}
            if X_val is not None:
                val_loss, val_accuracy = _evaluate(X_val_rows, labels_val, parameters, layer_dims, eval_workspaces)
                history["val_loss"].append(val_loss)
                history["val_accuracy"].append(val_accuracy)
                postfix.update(val_loss=f"{val_loss:.4f}", val_acc=f"{val_accuracy:.3f}")
            bar.set_postfix(postfix)
        bar.close()
    finally:
        if limits is not None:
            limits.restore_original_limits()
        if saved_state is not None:
            np.random.set_state(saved_state)
    return parameters, history
