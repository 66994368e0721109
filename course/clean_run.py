"""The clean process of the verification pass: run ONE graded function from a submission, and nothing else.

A plain script, run inside the sandbox (course.sandbox binds this file read-only at ``/opt/grader/clean_run.py``)
as ``python -I clean_run.py WORKDIR``; it imports only the standard library, NumPy and ``reg_utils``, never the
instructor package. It reads ``WORKDIR/spec.json`` (the answer cell's source and the calls to make) and
``WORKDIR/inputs.npz``, and writes ``WORKDIR/outputs.npz`` (plain float64 arrays) and ``WORKDIR/status.json``.
Whatever the student's code does here (patch NumPy, subclass ndarray, exit, loop) stays in this process: the
grading process only reads numbers back, with ``allow_pickle=False``, and judges them itself.
"""

import contextlib
import io
import json
import resource
import sys
from pathlib import Path

MEMORY_LIMIT = 2 * 1024 ** 3  # bytes of address space: a runaway allocation fails here, not on the machine


def _resolve(value, arrays):
    """Turn the JSON description of an argument into the object to pass."""
    if isinstance(value, str) and value.startswith("@"):
        return arrays[value[1:]].copy()
    if isinstance(value, dict) and "@dict" in value:
        return {k: _resolve(v, arrays) for k, v in value["@dict"].items()}
    if isinstance(value, dict) and "@tuple" in value:
        return tuple(_resolve(v, arrays) for v in value["@tuple"])
    return value


def _flatten(result):
    """{name: float64 array} from what the function returned; raises TypeError when it cannot be read."""
    import numpy as np

    def as_array(v):
        # subok=False drops any ndarray subclass: only the numbers travel back
        return np.array(v, dtype=np.float64, subok=False, copy=True)

    if isinstance(result, dict):
        return {str(k): as_array(v) for k, v in result.items() if isinstance(k, str)}
    if isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], (tuple, list)):
        out = {"A3": as_array(result[0])}
        out.update({f"cache_{i}": as_array(v) for i, v in enumerate(result[1])})
        return out
    return {"value": as_array(result)}


def main(workdir):
    """Run the calls of WORKDIR/spec.json and write the outputs."""
    workdir = Path(workdir)
    # Never above the limit the sandbox already set: a soft limit cannot exceed the hard one.
    hard = resource.getrlimit(resource.RLIMIT_AS)[1]
    limit = MEMORY_LIMIT if hard == resource.RLIM_INFINITY else min(MEMORY_LIMIT, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    spec = json.loads((workdir / "spec.json").read_text())
    import numpy as np

    import reg_utils

    with np.load(workdir / "inputs.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    namespace = {"np": np, "__name__": "__submission__"}
    namespace.update({name: getattr(reg_utils, name) for name in reg_utils.__all__})
    statuses, outputs = [], {}
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            exec(compile(spec["source"], "<answer cell>", "exec"), namespace)
            function = namespace[spec["function"]]
        except BaseException as exc:  # noqa: BLE001 -- anything the cell does is reported, never propagated
            statuses.append({"ok": False, "error": f"the answer cell failed: {type(exc).__name__}: {exc}"})
            function = None
        for i, call in enumerate(spec["calls"] if function else []):
            sink.seek(0)
            sink.truncate()
            try:
                if call.get("seed") is not None:
                    np.random.seed(call["seed"])
                args = [_resolve(a, arrays) for a in call["args"]]
                kwargs = {k: _resolve(v, arrays) for k, v in call.get("kwargs", {}).items()}
                flat = _flatten(function(*args, **kwargs))
                outputs.update({f"c{i}__{k}": v for k, v in flat.items()})
                statuses.append({"ok": True, "keys": sorted(flat)})
            except BaseException as exc:  # noqa: BLE001
                statuses.append({"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
    np.savez(workdir / "outputs.npz", **outputs)
    (workdir / "status.json").write_text(json.dumps(statuses))


if __name__ == "__main__":
    main(sys.argv[1])
