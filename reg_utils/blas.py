"""In-place BLAS kernels of the MLP trainer: products, matrix-vector products and axpy written into given buffers.

Who uses it: the trainer (``reg_utils.mlp``, ``reg_utils.mlp_model``, ``reg_utils.mlp_evaluation``) and the
instructor's benchmark ``benchmarks/bench_mlp.py``, which times the trainer's own products with these same kernels.
Students never call it.

Every kernel takes ``blas``, the ``(gemm, gemv, axpy)`` triple of :func:`blas_functions`, and writes its result into
an existing array instead of allocating one. Keeping every product in ONE BLAS library matters: NumPy and SciPy
wheels each bundle their own OpenBLAS, and with two threads each, their idle workers spin against each other
(training was 4 to 7 times slower). So for float32 and float64 every product of a training run goes through SciPy's
BLAS; other float dtypes have no BLAS (``blas`` is None) and :func:`matmul_into` falls back to ``np.matmul``.
"""

import numpy as np


def blas_functions(dtype):
    """(gemm, gemv, axpy) of SciPy's BLAS for float32 or float64, or None for other dtypes (NumPy fallback).

    Arguments:
    dtype -- the dtype of the arrays the kernels will see

    Returns:
    blas -- tuple of three scipy.linalg.blas functions, or None
    """
    if dtype not in (np.float32, np.float64):
        return None
    from scipy.linalg import blas  # imported here: loading SciPy's BLAS is only worth it for training

    return blas.get_blas_funcs(("gemm", "gemv", "axpy"), dtype=dtype)


def matmul_into(out, A, B, blas, alpha=1.0, beta=0.0):
    """out[...] = alpha * A @ B + beta * out, with SciPy's gemm when blas is given (so that every product uses one
    BLAS library); without blas, only alpha = 1, beta = 0 (np.matmul).

    Arguments:
    out -- (n, m) C-contiguous, overwritten
    A -- (n, k);  B -- (k, m): any layout (a transposed view is passed to gemm with its transpose flag, not copied)
    blas -- the triple of blas_functions, or None
    alpha, beta -- the scale factors of gemm

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


def matvec_into(y, A, x, blas, alpha=1.0, beta=0.0):
    """y[...] = alpha * A @ x + beta * y with SciPy's gemv, in place.

    Arguments:
    y -- (n, 1) or (n,) contiguous, overwritten (a bias column, for instance)
    A -- (n, k) C- or Fortran-contiguous
    x -- (k,)
    blas -- the triple of blas_functions (not None)
    alpha, beta -- the scale factors of gemv
    """
    A_F, trans = _fortran(A)
    if not _same_memory(blas[1](alpha, A_F, x, beta=beta, y=y.reshape(-1), trans=trans, overwrite_y=True), y):
        raise RuntimeError("BLAS gemv did not update the vector in place")


def axpy_into(y, x, a, blas):
    """y[...] += a * x with SciPy's axpy, in place and without a temporary array.

    Arguments:
    y -- (n, k) C-contiguous, updated (a weight matrix, for instance)
    x -- (n, k) C-contiguous, of y's dtype
    a -- the scale factor
    blas -- the triple of blas_functions (not None)
    """
    if not _same_memory(blas[2](x.reshape(-1), y.reshape(-1), a=a), y):
        raise RuntimeError("BLAS axpy did not update the array in place")


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
