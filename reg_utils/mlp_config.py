"""TrainingConfig: the settings of one train_mlp run (everything but the data and the layer sizes).

Who uses it: students and instructors may pass ``train_mlp(..., config=TrainingConfig(...))`` instead of the
keyword arguments (the two are equivalent); the trainer (``reg_utils.mlp``) and the training step
(``reg_utils.mlp_model``) read their settings from it. A later assignment extends training by adding fields here,
not keyword arguments threaded through the trainer's functions: the third assignment (OtherRegularization) adds
``augment``, ``max_norm`` with ``max_norm_c``, and ``early_stopping``, which only this config can set.
"""

from dataclasses import dataclass
from typing import Any, Callable, Optional

import numpy as np


@dataclass(frozen=True)
class TrainingConfig:
    """The settings of one train_mlp run, checked when the config is made (ValueError naming the setting).

    Attributes:
    epochs -- passes over the training set
    batch_size -- examples per SGD step
    learning_rate -- SGD step size
    lambd -- regularization strength (0: none); needs `regularizer`
    regularizer -- function(parameters, lambd, m) -> (penalty, grads_term), e.g. l2_regularization; each mini-batch
                   of m examples minimizes ``mean cross-entropy + penalty`` and adds grads_term["dW1"], ... to
                   the weight gradients
    keep_prob -- probability of KEEPING a hidden unit (1: no dropout); below 1 needs the two dropout functions
    dropout_forward -- function(A, keep_prob) -> (A_out, mask), applied after each hidden ReLU:
                       A -- (n_l, b), A_out -- (n_l, b), mask -- (n_l, b)
    dropout_backward -- function(dA, mask, keep_prob) -> dA_out, all (n_l, b)
    dtype -- np.float64 (default) or np.float32 (faster); stored as an np.dtype
    random_state -- None, int or np.random.Generator: fixes initialization, shuffling and the dropout masks
    print_cost -- if True, show a progress bar with the losses; if False, print nothing
    blas_threads -- threads the BLAS may use during training (None: its default, often one per core). Two
                    were fastest in our measurements: a product of a (256, 784) by a (784, 64) matrix gains from a
                    second core, and is too small to share among many. Never more than OPENBLAS_NUM_THREADS,
                    OMP_NUM_THREADS or MKL_NUM_THREADS allow when set (the grader sets 1 for parallel kernels).
    augment -- function(X_batch, rng) -> X_batch, applied to every training mini-batch before its step (never to
               the evaluation): X_batch -- (n_x, b), the same shape back; rng -- a np.random.Generator of its own,
               spawned from random_state (so that augmenting leaves initialization and shuffling unchanged)
    max_norm -- function(W, c) -> W applied to every weight matrix W -- (n_l, n_{l-1}) after every SGD step (the
                trainer writes the result back into W); needs max_norm_c
    max_norm_c -- the largest L2 norm of a unit's incoming weights that max_norm allows, a number > 0
    early_stopping -- an object with the EarlyStopping contract, or None: after every epoch the trainer calls
                      ``early_stopping.step(val_loss, parameters)`` (it needs a validation set) and stops when it
                      returns True; at the end it copies ``early_stopping.best_parameters`` (when not None) into
                      the parameters it returns. The history still records every epoch that was trained.
    """

    epochs: int = 20
    batch_size: int = 64
    learning_rate: float = 0.1
    lambd: float = 0.0
    regularizer: Optional[Callable] = None
    keep_prob: float = 1.0
    dropout_forward: Optional[Callable] = None
    dropout_backward: Optional[Callable] = None
    dtype: Any = np.float64
    random_state: Any = 0
    print_cost: bool = True
    blas_threads: Optional[int] = 2
    augment: Optional[Callable] = None
    max_norm: Optional[Callable] = None
    max_norm_c: Optional[float] = None
    early_stopping: Any = None

    def __post_init__(self):
        dtype = np.dtype(self.dtype)
        if dtype.kind != "f":
            raise ValueError(f"dtype must be a float dtype, got {dtype}")
        object.__setattr__(self, "dtype", dtype)  # frozen: the documented way to normalize a field
        if int(self.batch_size) != self.batch_size or self.batch_size < 1:
            raise ValueError(f"batch_size must be a positive integer, got {self.batch_size!r}")
        if int(self.epochs) != self.epochs or self.epochs < 0:
            raise ValueError(f"epochs must be a non-negative integer, got {self.epochs!r}")
        self._check_regularization()
        self._check_training_extensions()

    def _check_regularization(self):
        """ValueError naming the argument when the regularization settings do not fit together."""
        lambd, keep_prob = self.lambd, self.keep_prob
        if not np.isscalar(lambd) or not lambd >= 0:
            raise ValueError(f"lambd must be a number >= 0, got {lambd!r}")
        if lambd > 0 and self.regularizer is None:
            raise ValueError("lambd > 0 needs regularizer=..., e.g. regularizer=l2_regularization")
        if not np.isscalar(keep_prob) or not 0 < keep_prob <= 1:
            raise ValueError(f"keep_prob must lie in (0, 1], got {keep_prob!r}")
        if keep_prob < 1 and (self.dropout_forward is None or self.dropout_backward is None):
            raise ValueError("keep_prob < 1 needs dropout_forward=... and dropout_backward=...")

    def _check_training_extensions(self):
        """ValueError naming the setting when augment, max_norm or early_stopping is not usable as documented."""
        if self.augment is not None and not callable(self.augment):
            raise ValueError(f"augment must be a function(X_batch, rng) -> X_batch, got {type(self.augment).__name__}")
        if self.max_norm is not None and not callable(self.max_norm):
            raise ValueError(f"max_norm must be a function(W, c) -> W, got {type(self.max_norm).__name__}")
        if self.max_norm is not None and (not np.isscalar(self.max_norm_c) or not self.max_norm_c > 0):
            raise ValueError(f"max_norm needs max_norm_c, a number > 0, got max_norm_c={self.max_norm_c!r}")
        if self.max_norm is None and self.max_norm_c is not None:
            raise ValueError("max_norm_c is set but max_norm is not: give max_norm=..., e.g. max_norm=max_norm")
        if self.early_stopping is not None and not callable(getattr(self.early_stopping, "step", None)):
            raise ValueError(f"early_stopping must have a method step(val_loss, parameters), got "
                             f"{type(self.early_stopping).__name__}")

    @property
    def uses_dropout(self):
        """True when training applies dropout (keep_prob < 1)."""
        return self.keep_prob < 1

    @property
    def uses_regularizer(self):
        """True when training calls the regularizer (lambd > 0)."""
        return self.lambd > 0
