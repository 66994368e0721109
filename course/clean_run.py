"""The clean process of the verification pass: run ONE graded function from a submission, and nothing else.

Run as a plain script, ``python clean_run.py WORKDIR`` (inside the OS sandbox; it imports only the standard
library, NumPy and the student helpers ``reg_utils``, never the instructor package). It reads
``WORKDIR/spec.json`` (the answer cell's source and the calls to make) and ``WORKDIR/inputs.npz``, and writes
``WORKDIR/outputs.npz`` (plain float64 arrays) and ``WORKDIR/status.json``. Whatever the student's code does here
(patch NumPy, subclass ndarray, exit, loop) stays in this process: the grader only reads numbers back, with
``allow_pickle=False``, and judges them itself. The grader also imports this file to run trusted functions (the
reference solution, the catalogued mistakes) on the same calls in the same way.
"""

import contextlib
import io
import json
import sys
from pathlib import Path

#: Most leaves one call's result may have, and the deepest nesting read (a result is a few arrays, not a tree).
MAX_LEAVES = 200
MAX_DEPTH = 4


def resolve(value, arrays):
    """Turn the JSON description of an argument into the object to pass (arrays are fresh copies)."""
    if isinstance(value, str) and value.startswith("@"):
        return arrays[value[1:]].copy()
    if isinstance(value, dict) and "@dict" in value:
        return {k: resolve(v, arrays) for k, v in value["@dict"].items()}
    if isinstance(value, dict) and "@tuple" in value:
        return tuple(resolve(v, arrays) for v in value["@tuple"])
    return value


def flatten(result, prefix="", depth=0, out=None):
    """{key: float64 array} of a call's result: a tuple or list of results gives keys "0", "1.dW1", ...; a dict
    its own (string) keys; anything else is one array ("value" at the top). Raises TypeError when unreadable."""
    import numpy as np

    out = {} if out is None else out
    structured = isinstance(result, (tuple, dict)) or (
        isinstance(result, list) and any(isinstance(v, (np.ndarray, dict, tuple, list)) for v in result))
    if structured and depth < MAX_DEPTH:
        items = result.items() if isinstance(result, dict) else enumerate(result)
        for key, value in items:
            if isinstance(key, (str, int)):
                flatten(value, f"{prefix}{key}.", depth + 1, out)
    else:
        # subok=False drops any ndarray subclass: only the numbers travel back
        out[prefix[:-1] or "value"] = np.array(result, dtype=np.float64, subok=False, copy=True)
    if len(out) > MAX_LEAVES:
        raise TypeError(f"the result has more than {MAX_LEAVES} parts")
    return out


def run_calls(function, calls, arrays):
    """Call `function` as the spec says: (statuses, outputs) with one status per call and outputs "c{i}__{key}".

    A call with a "seed" reseeds NumPy's global generator first; an unseeded call continues the stream.
    """
    import numpy as np

    statuses, outputs = [], {}
    for i, call in enumerate(calls):
        try:
            if call.get("seed") is not None:
                np.random.seed(call["seed"])
            args = [resolve(a, arrays) for a in call["args"]]
            kwargs = {k: resolve(v, arrays) for k, v in call.get("kwargs", {}).items()}
            flat = flatten(function(*args, **kwargs))
            outputs.update({f"c{i}__{k}": v for k, v in flat.items()})
            statuses.append({"ok": True, "keys": sorted(flat)})
        except BaseException as exc:  # noqa: BLE001 -- anything the function does is reported, never propagated
            statuses.append({"ok": False, "error": f"{type(exc).__name__}: {str(exc)[:300]}"})
    return statuses, outputs


def read_outputs(workdir, max_bytes=64 * 1024 ** 2):
    """(statuses, outputs) a run left in workdir, read without unpickling; (None, {}) when unreadable."""
    import numpy as np

    workdir = Path(workdir)
    try:
        if (workdir / "outputs.npz").stat().st_size > max_bytes:
            return None, {}
        statuses = json.loads((workdir / "status.json").read_text()[:1_000_000])
        with np.load(workdir / "outputs.npz", allow_pickle=False) as npz:
            outputs = {k: np.asarray(npz[k], dtype=np.float64) for k in npz.files}
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}
    if not isinstance(statuses, list) or not all(isinstance(s, dict) for s in statuses):
        return None, {}
    return statuses, outputs


def main(workdir):
    """Run the calls of WORKDIR/spec.json and write the outputs."""
    import numpy as np

    import reg_utils

    workdir = Path(workdir)
    spec = json.loads((workdir / "spec.json").read_text())
    with np.load(workdir / "inputs.npz", allow_pickle=False) as npz:
        arrays = {k: npz[k] for k in npz.files}
    namespace = {"np": np, "__name__": "__submission__"}
    namespace.update({name: getattr(reg_utils, name) for name in reg_utils.__all__})
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            exec(compile(spec["source"], "<answer cell>", "exec"), namespace)
            function = namespace[spec["function"]]
        except BaseException as exc:  # noqa: BLE001 -- anything the cell does is reported, never propagated
            statuses, outputs = [{"ok": False, "error": f"the answer cell failed: {type(exc).__name__}: {exc}"}], {}
        else:
            statuses, outputs = run_calls(function, spec["calls"], arrays)
    np.savez(workdir / "outputs.npz", **outputs)
    (workdir / "status.json").write_text(json.dumps(statuses))


if __name__ == "__main__":
    main(sys.argv[1])
