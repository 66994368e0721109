"""The trainer of the deep assignment: ``train_mlp``, mini-batch SGD on an MLP with the student's regularization.

Who uses it: students call ``train_mlp`` in the DeepRegularization notebook (``from reg_utils import train_mlp``);
the instructor's benchmark ``benchmarks/bench_mlp.py`` times it; CI tests it in ``tests/test_mlp.py``. This module
is also the one import point of the whole MLP: ``from reg_utils.mlp import ...`` gives the model's
(``reg_utils.mlp_model``), the evaluation's (``reg_utils.mlp_evaluation``) and the settings' (``TrainingConfig``,
``reg_utils.mlp_config``) public names too.

Regularization is not built in: ``train_mlp`` calls the functions it is given (the ones you write in the
assignment), so your code is what runs:

- ``regularizer(parameters, lambd, m) -> (penalty, grads_term)``, e.g. ``l2_regularization``; each mini-batch of
  ``m`` examples minimizes ``cross-entropy + penalty`` and adds ``grads_term["dW1"]``, ... to the weight gradients;
- ``dropout_forward(A, keep_prob) -> (A_out, mask)`` after every hidden ReLU, and
  ``dropout_backward(dA, mask, keep_prob) -> dA_out`` on the way back. Evaluation never applies dropout.

Through ``config=TrainingConfig(...)`` only (the third assignment's methods; see ``reg_utils.mlp_config``):

- ``augment(X_batch, rng) -> X_batch`` on every training mini-batch (``augment_batch``), with a generator spawned
  from the run's, so that initialization and shuffling are the same with and without it;
- ``max_norm(W, c) -> W`` on every weight matrix after every step (``max_norm``), with ``c = max_norm_c``;
- ``early_stopping.step(val_loss, parameters) -> stop`` after every epoch (an ``EarlyStopping``), and its
  ``best_parameters`` returned at the end.

Speed: every activation buffer is preallocated once per batch size and the steps work in place; for float32 and
float64 every product goes through SciPy's BLAS (``reg_utils.blas``) and each SGD step is fused (the weight
gradients are never stored; see ``reg_utils.mlp_model``). Two BLAS threads are the fastest setting for
mini-batches; ``dtype=np.float32`` halves the memory traffic and roughly doubles the matrix-product rate.
"""

import os
from contextlib import contextmanager
from dataclasses import fields

import numpy as np
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from .blas import blas_functions
from .mlp_config import TrainingConfig
from .mlp_evaluation import evaluate_mlp, evaluate_rows, mlp_forward, predict_mlp
from .mlp_model import (checked_layer_dims, checked_X, initialize_mlp, labels_of, mlp_loss_and_grads, sgd_step,
                        workspace_for)

__all__ = ["TrainingConfig", "train_mlp", "initialize_mlp", "mlp_loss_and_grads", "mlp_forward", "predict_mlp",
           "evaluate_mlp"]


def train_mlp(X, Y, layer_dims, *, X_val=None, Y_val=None, epochs=20, batch_size=64, learning_rate=0.1, lambd=0.0,
              regularizer=None, keep_prob=1.0, dropout_forward=None, dropout_backward=None, dtype=np.float64,
              random_state=0, print_cost=True, blas_threads=2, config=None):
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
    blas_threads -- threads the BLAS may use during training (None: its default; see TrainingConfig)
    config -- a TrainingConfig holding all of the settings above instead (epochs to blas_threads): give either
              config or those keywords, not both (a keyword left at its default is not counted as given)

    Returns:
    parameters -- dict "W1" (n_h1, n_x), "b1" (n_h1, 1), ..., of the given dtype (with config.early_stopping:
                  its best_parameters, the best epoch's)
    history -- dict of lists with one entry per epoch trained: "train_loss", "train_accuracy", "val_loss",
               "val_accuracy" (the val lists are empty without a validation set); losses are the mean
               cross-entropy without the penalty, so runs with different lambd compare directly
    """
    config = _config_of(config, dict(
        epochs=epochs, batch_size=batch_size, learning_rate=learning_rate, lambd=lambd, regularizer=regularizer,
        keep_prob=keep_prob, dropout_forward=dropout_forward, dropout_backward=dropout_backward, dtype=dtype,
        random_state=random_state, print_cost=print_cost, blas_threads=blas_threads))
    trainer = _Trainer(_TrainingSets(X, Y, X_val, Y_val, checked_layer_dims(layer_dims), config.dtype), config)
    if config.early_stopping is not None and trainer.sets.X_val_rows is None:
        raise ValueError("config.early_stopping needs X_val and Y_val: it watches the validation loss")
    with _global_seed_and_blas_threads(config, trainer.rng):
        trainer.run()
    return trainer.parameters, trainer.history


def _config_of(config, keywords):
    """The run's TrainingConfig: `config`, or one made of the keywords; ValueError when both are given."""
    if config is None:
        return TrainingConfig(**keywords)
    if not isinstance(config, TrainingConfig):
        raise ValueError(f"config must be a TrainingConfig, got {type(config).__name__}")
    defaults = {field.name: field.default for field in fields(TrainingConfig)}
    given = [name for name, value in keywords.items() if not _is_default(value, defaults[name])]
    if given:
        raise ValueError(f"give the training settings either as config=... or as keywords, not both: got config "
                         f"and {', '.join(given)}")
    return config


def _is_default(value, default):
    """True if a keyword's value is its default (by identity, or equal for numbers and dtypes)."""
    if value is default:
        return True
    try:
        return bool(value == default)
    except (TypeError, ValueError):  # e.g. an array seed, whose == is elementwise
        return False


class _TrainingSets:
    """The training and optional validation sets, checked, with one example per row.

    X_rows -- (m, n_x) C-contiguous: a mini-batch is a fast gather of rows into the workspace's (b, n_x) buffer,
              whose transpose is the (n_x, b) X of the step, a contiguous block for the BLAS, still in the cache
              when the weight update reads it again
    labels -- (m,) integer labels
    X_val_rows -- (m_val, n_x) C-contiguous, or None;  labels_val -- (m_val,) integer labels, or None
    layer_dims -- [n_x, n_h1, ..., n_y]
    """

    def __init__(self, X, Y, X_val, Y_val, layer_dims, dtype):
        X = checked_X(X, layer_dims[0], "X", dtype)
        self.labels = labels_of(Y, layer_dims[-1], X.shape[1], "Y")
        if (X_val is None) != (Y_val is None):
            raise ValueError("give both X_val and Y_val, or neither")
        self.X_val_rows = self.labels_val = None
        if X_val is not None:
            X_val = checked_X(X_val, layer_dims[0], "X_val", dtype)
            self.labels_val = labels_of(Y_val, layer_dims[-1], X_val.shape[1], "Y_val")
            self.X_val_rows = np.ascontiguousarray(X_val.T)
        self.X_rows = np.ascontiguousarray(X.T)
        self.layer_dims = layer_dims


class _Trainer:
    """The state of one run: the parameters, the run's generator, the workspaces and the history."""

    def __init__(self, sets, config):
        self.sets, self.config = sets, config
        self.rng = np.random.default_rng(config.random_state)
        self.parameters = initialize_mlp(sets.layer_dims, dtype=config.dtype, random_state=self.rng)
        # Loaded before the BLAS threads are limited: threadpoolctl limits only the libraries already loaded.
        self.blas = blas_functions(config.dtype)  # fused in-place SGD steps; None: the NumPy path with grads
        self.grads = ({f"d{k}": np.empty_like(v) for k, v in self.parameters.items()} if self.blas is None
                      else None)
        self.workspaces, self.eval_workspaces = {}, {}
        self.history = {"train_loss": [], "train_accuracy": [], "val_loss": [], "val_accuracy": []}
        self.labels_shuffled = np.empty_like(sets.labels)
        # spawn() draws nothing from self.rng: with augmentation, initialization and shuffling stay the same
        self.augment_rng = self.rng.spawn(1)[0] if config.augment is not None else None

    def run(self):
        """All the epochs (until config.early_stopping says stop), with a progress bar when config.print_cost."""
        stopper = self.config.early_stopping
        bar = tqdm(range(int(self.config.epochs)), desc="epochs", disable=not self.config.print_cost, leave=True)
        for _ in bar:
            self.train_epoch()
            bar.set_postfix(self.record_epoch())
            if stopper is not None and stopper.step(self.history["val_loss"][-1], self.parameters):
                break
        bar.close()
        if stopper is not None and getattr(stopper, "best_parameters", None) is not None:
            for key, value in self.parameters.items():
                value[...] = stopper.best_parameters[key]

    def train_epoch(self):
        """One shuffled pass over the training set, one SGD step per mini-batch."""
        sets, config = self.sets, self.config
        m = sets.X_rows.shape[0]
        order = self.rng.permutation(m)
        # mode="clip": the indices are valid, and the default mode="raise" buffers every take into `out`
        np.take(sets.labels, order, out=self.labels_shuffled, mode="clip")
        for start in range(0, m, config.batch_size):
            batch = order[start:start + config.batch_size]
            b = batch.shape[0]
            ws = workspace_for(self.workspaces, sets.layer_dims, b, config.dtype)
            np.take(sets.X_rows, batch, axis=0, out=ws.X_rows, mode="clip")
            if config.augment is not None:
                self.augment_into(ws.X_rows)
            sgd_step(ws.X_rows.T, self.labels_shuffled[start:start + b], self.parameters, ws, config, self.blas,
                     self.grads)
            if config.max_norm is not None:
                self.apply_max_norm()

    def augment_into(self, X_rows):
        """Replace the mini-batch X_rows -- (b, n_x) by config.augment(X_rows.T, rng), checked, in place."""
        X_batch = X_rows.T
        augmented = np.asarray(self.config.augment(X_batch, self.augment_rng))
        if augmented.shape != X_batch.shape:
            raise ValueError(f"config.augment returned shape {augmented.shape} for a mini-batch of shape "
                             f"{X_batch.shape}: it must return the batch's shape, one example per column")
        np.copyto(X_batch, augmented, casting="same_kind")

    def apply_max_norm(self):
        """W[l] = config.max_norm(W[l], config.max_norm_c) for every layer, written back in place."""
        for l in range(1, len(self.sets.layer_dims)):
            W = self.parameters[f"W{l}"]
            capped = np.asarray(self.config.max_norm(W, self.config.max_norm_c))
            if capped.shape != W.shape:
                raise ValueError(f"config.max_norm returned shape {capped.shape} for W{l} of shape {W.shape}")
            np.copyto(W, capped, casting="same_kind")

    def record_epoch(self):
        """Evaluate on the training set and the validation set into the history; the progress bar's postfix."""
        sets, history = self.sets, self.history
        loss, accuracy = evaluate_rows(sets.X_rows, sets.labels, self.parameters, sets.layer_dims,
                                       self.eval_workspaces)
        history["train_loss"].append(loss)
        history["train_accuracy"].append(accuracy)
        postfix = {"loss": f"{loss:.4f}", "acc": f"{accuracy:.3f}"}
        if sets.X_val_rows is not None:
            val_loss, val_accuracy = evaluate_rows(sets.X_val_rows, sets.labels_val, self.parameters,
                                                   sets.layer_dims, self.eval_workspaces)
            history["val_loss"].append(val_loss)
            history["val_accuracy"].append(val_accuracy)
            postfix.update(val_loss=f"{val_loss:.4f}", val_acc=f"{val_accuracy:.3f}")
        return postfix


#: Environment variables that cap BLAS threads (the grader sets them to its share of the cores per kernel).
THREAD_CAP_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def blas_threads_allowed(wanted):
    """The BLAS threads a training run uses: `wanted` (None: the BLAS's own default), never more than the smallest
    positive cap in THREAD_CAP_VARIABLES, so that a run respects an environment that asked for fewer threads."""
    caps = [int(v) for v in (os.environ.get(name, "") for name in THREAD_CAP_VARIABLES) if v.strip().isdigit()]
    caps = [c for c in caps if c > 0]
    if not caps:
        return wanted
    return min(caps) if wanted is None else min(wanted, min(caps))


@contextmanager
def _global_seed_and_blas_threads(config, rng):
    """Seed NumPy's global generator from the run's (restored afterwards) and limit the BLAS threads, meanwhile.

    Your dropout_forward may draw from NumPy's global generator (np.random.rand): it is seeded from this run's
    generator so that the run is reproducible, and the caller gets the global state back afterwards.
    """
    saved_state = np.random.get_state() if config.uses_dropout else None
    if saved_state is not None:
        np.random.seed(int(rng.integers(2**32)))
    threads = blas_threads_allowed(config.blas_threads)
    limits = threadpool_limits(threads, user_api="blas") if threads is not None else None
    try:
        yield
    finally:
        if limits is not None:
            limits.restore_original_limits()
        if saved_state is not None:
            np.random.set_state(saved_state)
