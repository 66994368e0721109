"""The clean process of the verification pass: run ONE graded function from a submission, and nothing else.

Run as a plain script, ``python clean_run.py WORKDIR`` (inside the OS sandbox; it imports only the standard
library, NumPy and the student helpers ``reg_utils``, never the instructor package). It reads
``WORKDIR/spec.json`` (the answer cell's source and the calls to make) and ``WORKDIR/inputs.npz``, and writes
``WORKDIR/outputs.npz`` (plain float64 arrays) and ``WORKDIR/status.json``. Whatever the student's code does here
(patch NumPy, subclass ndarray, exit, loop) stays in this process: the grader only reads numbers back, with
``allow_pickle=False``, and judges them itself. The grader also imports this file to run trusted functions (the
reference solution, the catalogued mistakes) on the same calls in the same way.

``python clean_run.py WORKDIR --each`` runs every graded function of a submission in ONE process tree, for the cost
of one interpreter start: WORKDIR/spec.json lists the functions (``{"functions": [{"function", "source",
"calls"}], "time_limit": s}``) with their inputs in ``inputs-J.npz``. The parent imports NumPy and the helpers,
makes itself untraceable (PR_SET_DUMPABLE 0: its children run as the same uid), then forks one child per function,
one at a time. Each child runs one answer cell and sends its results down a pipe only the two of them hold; once
it has exited (or after ``time_limit`` seconds, when it is killed), the child's process group is killed before the
parent reads the pipe and forks the next child. The parent writes ``status-J.json`` and ``outputs-J.npz`` at the
end. That is the unsandboxed opt-out's verification run. In the OS sandbox, the grading sandbox's parent
(course/zygote.py) forks the same children (``_child``) and ends every other process of the sandbox after each
(``_end_others("sandbox", ...)``), which it does only where pid 1 is bubblewrap.
"""

import contextlib
import io
import json
import os
import select
import signal
import sys
import time
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


def read_outputs(workdir, max_bytes=64 * 1024 ** 2, suffix=""):
    """(statuses, outputs) a run left in workdir (status{suffix}.json, outputs{suffix}.npz), read without
    unpickling; (None, {}) when unreadable."""
    import numpy as np

    workdir = Path(workdir)
    try:
        if (workdir / f"outputs{suffix}.npz").stat().st_size > max_bytes:
            return None, {}
        statuses = json.loads((workdir / f"status{suffix}.json").read_text()[:1_000_000])
        with np.load(workdir / f"outputs{suffix}.npz", allow_pickle=False) as npz:
            outputs = {k: np.asarray(npz[k], dtype=np.float64) for k in npz.files}
    except (OSError, ValueError, KeyError, TypeError):
        return None, {}
    if not isinstance(statuses, list) or not all(isinstance(s, dict) for s in statuses):
        return None, {}
    return statuses, outputs


def run_answer(item, arrays):
    """Execute one answer cell (item: {"function", "source", "calls"}) and make its calls: (statuses, outputs)."""
    import numpy as np

    import reg_utils

    namespace = {"np": np, "__name__": "__submission__"}
    namespace.update({name: getattr(reg_utils, name) for name in reg_utils.__all__})
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            exec(compile(item["source"], "<answer cell>", "exec"), namespace)
            function = namespace[item["function"]]
        except BaseException as exc:  # noqa: BLE001 -- anything the cell does is reported, never propagated
            return [{"ok": False, "error": f"the answer cell failed: {type(exc).__name__}: {exc}"}], {}
        return run_calls(function, item["calls"], arrays)


def _load_arrays(path):
    import numpy as np

    with np.load(path, allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def main(workdir):
    """Run the calls of WORKDIR/spec.json and write the outputs."""
    import numpy as np

    workdir = Path(workdir)
    statuses, outputs = run_answer(json.loads((workdir / "spec.json").read_text()),
                                   _load_arrays(workdir / "inputs.npz"))
    np.savez(workdir / "outputs.npz", **outputs)
    (workdir / "status.json").write_text(json.dumps(statuses))


# -- every function of a submission in one sandbox -----------------------------------------------------------------
#: What a function's status says when its child did not finish in time, or left nothing readable.
TIMED_OUT = "the clean run did not finish in time (an endless loop?)"
CRASHED = "the clean run did not finish (it exited or crashed)"
#: Most bytes one child may send back.
MAX_RESULT_BYTES = 64 * 1024 ** 2


def _untraceable():
    """PR_SET_DUMPABLE 0: processes of the same uid (the children) can neither ptrace this one nor read or write
    its memory through /proc."""
    import ctypes

    if ctypes.CDLL(None, use_errno=True).prctl(4, 0, 0, 0, 0) != 0:  # PR_SET_DUMPABLE = 4
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_DUMPABLE, 0) failed")


def _ancestors():
    """This process's ancestors' pids."""
    pids, pid = set(), os.getpid()
    while pid > 1:
        with open(f"/proc/{pid}/stat") as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
        pids.add(pid)
    return pids


def _live_others(keep):
    """Pids in /proc, other than keep, that are not zombies."""
    others = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) not in keep:
            try:
                with open(f"/proc/{entry}/stat") as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
            except (OSError, IndexError):
                continue
            if state not in ("Z", "X"):
                others.append(int(entry))
    return others


def _reap():
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _end_others(mode, child, keep):
    """Kill whatever the last child left running: in the sandbox, every process but keep; else its group."""
    if mode != "sandbox":
        with contextlib.suppress(OSError):
            os.killpg(child, signal.SIGKILL)
        _reap()
        return
    for _ in range(10_000):
        others = _live_others(keep)
        if not others:
            return
        for pid in others:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        _reap()
        time.sleep(0.001)
    raise RuntimeError("processes of a graded function could not be ended")


def _child(item, arrays, out_fd, time_limit):
    """In the forked child: run one answer cell, send `status JSON \n npz bytes` down out_fd, exit."""
    import resource

    import numpy as np

    try:
        os.setpgid(0, 0)
        soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
        limit = int(time_limit) + 1
        resource.setrlimit(resource.RLIMIT_CPU, (limit if hard < 0 else min(limit, hard), hard))
        statuses, outputs = run_answer(item, arrays)
        buffer = io.BytesIO()
        np.savez(buffer, **outputs)
        with os.fdopen(out_fd, "wb") as out:
            out.write(json.dumps(statuses).encode() + b"\n" + buffer.getvalue())
    finally:
        os._exit(0)


def _wait_for(pid, read_fd, time_limit):
    """Read the child's pipe until it exits or time_limit passes (then kill it): (bytes read, timed out)."""
    deadline, chunks, size = time.monotonic() + time_limit, [], 0
    exited = os.pidfd_open(pid)  # readable once the child has exited
    watched = [read_fd, exited]
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                return chunks, True
            ready = select.select(watched, [], [], remaining)[0]
            if exited in ready:
                os.waitpid(pid, 0)
                return chunks, False
            if read_fd in ready:
                chunk = os.read(read_fd, 1 << 16)
                if not chunk:  # end of the pipe: only the child's exit is left to wait for
                    watched = [exited]
                elif size < MAX_RESULT_BYTES:
                    chunks.append(chunk)
                    size += len(chunk)
    finally:
        os.close(exited)


def _run_one(item, arrays, time_limit, mode, keep):
    """Fork a child for one function; (status JSON bytes, npz bytes) of what it sent, or a failure status."""
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read_fd)
        _child(item, arrays, write_fd, time_limit)
    os.close(write_fd)
    chunks, timed_out = _wait_for(pid, read_fd, time_limit)
    _end_others(mode, pid, keep)
    os.set_blocking(read_fd, False)
    with contextlib.suppress(BlockingIOError):  # every writer is gone: the rest of the pipe, then EOF
        while sum(map(len, chunks)) < MAX_RESULT_BYTES and (chunk := os.read(read_fd, 1 << 16)):
            chunks.append(chunk)
    os.close(read_fd)
    return parse_result(b"".join(chunks), timed_out)


def parse_result(data, timed_out):
    """(status JSON bytes, npz bytes) from what a child sent (`status JSON \n npz bytes`), or a failure status
    when it timed out or sent nothing complete."""
    status, newline, npz = data.partition(b"\n")
    if timed_out or not newline:
        return json.dumps([{"ok": False, "error": TIMED_OUT if timed_out else CRASHED}]).encode(), _empty_npz()
    return status, npz


def _empty_npz():
    import numpy as np

    buffer = io.BytesIO()
    np.savez(buffer)
    return buffer.getvalue()


def _write_new(path, data):
    """Write a file that must be new (whatever a child left at that name is removed first, links not followed)."""
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(data)


def main_each(workdir):
    """Run every function of WORKDIR/spec.json in its own forked child, one after the other (module docstring)."""
    import numpy  # noqa: F401 -- imported once here, shared by every child

    import reg_utils  # noqa: F401

    workdir = Path(workdir)
    spec = json.loads((workdir / "spec.json").read_text())
    arrays = [_load_arrays(workdir / f"inputs-{j}.npz") for j in range(len(spec["functions"]))]
    _untraceable()
    keep = {1, os.getpid()} | _ancestors()
    results = [_run_one(item, arrays[j], float(spec.get("time_limit", 10)), "group", keep)
               for j, item in enumerate(spec["functions"])]
    for j, (status, npz) in enumerate(results):
        _write_new(workdir / f"outputs-{j}.npz", npz)
        _write_new(workdir / f"status-{j}.json", status)


if __name__ == "__main__":
    if sys.argv[2:] == ["--each"]:
        main_each(sys.argv[1])
    else:
        main(sys.argv[1])
