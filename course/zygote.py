"""The pre-imported parent of a grading worker's long-lived sandbox: it forks the kernels nbgrader runs submissions
in, and the children of the verification pass, from a process that has already imported what they import.

Run as ``python -I zygote.py CONTROL_FD CLEAN_RUN CHANNEL_DIR`` by course/sandbox_host.py, as the main process of a
bubblewrap sandbox (it refuses to run anywhere else), it imports NumPy, matplotlib's pyplot, IPython, ipykernel and
the student helpers once, reads their shipped data (PRELOADED_DATA) and builds one figure of each kind of plot
the notebooks draw (never drawn, outside pyplot), makes itself untraceable (PR_SET_DUMPABLE
0: the processes it forks run as its uid), and then serves requests from the grader on CONTROL_FD, a Unix socket of
SOCK_SEQPACKET messages (JSON, with file descriptors attached):

- {"op": "kernel", "files": [absolute paths], "env": {name: value}} with one descriptor per file: resets the
  sandbox, then forks a child that copies the files into place (the notebook into /scratch, the connection file,
  matplotlib's font list), takes that environment (the grader's at the kernel's start: nbgrader sets
  NBGRADER_EXECUTION while it autogrades) and becomes an ipykernel kernel; replies {"pid": N}.
- {"op": "poll", "pid": N}: {"exit": code or null}; {"op": "signal", "pid": N, "signal": S}: {"ok": true}.
- {"op": "verify", "count": n, "time_limit": s} with two descriptors per function (its spec JSON, its inputs
  .npz): resets the sandbox, then for each function in turn forks a child that reads them and runs the answer cell
  (clean_run._child); the read end of that child's result pipe goes to the grader with {"started": j}, and once
  the child has exited or been killed at the time limit, and every other process of the sandbox is dead,
  {"ended": j, "timed_out": bool} follows; {"done": true} ends the run.

Resetting kills every process of the sandbox's pid namespace but bubblewrap's init and this one, then empties
/scratch, /tmp, /dev/shm and the kernels' channel folder (read-only folders bound below /tmp stay). So one student's
kernel or functions leave nothing, running or written, for the next request. And no student's data passes through
this process: files reach the children as descriptors that it hands on unread, results go from a child straight
to the grader, so the memory every child inherits holds nothing of an earlier request. When it cannot reset, or
the grader goes away, it exits; the grader then starts a new sandbox.
"""

import importlib.util
import json
import os
import select
import signal
import socket
import stat
import sys
import time

#: Folders emptied by every reset (their own mounts stay).
WIPED = ("/scratch", "/tmp", "/dev/shm")
MAX_MESSAGE = 1 << 16
MAX_FDS = 250


#: Functions of the student helpers that read shipped data into memory once per process (module:function): called
#: here, their cached result is inherited by every kernel (the deep assignment's MNIST table: 0.4 s per notebook).
PRELOADED_DATA = ("reg_utils.mnist:mnist_table",)


def _preload():
    """Import what kernels and verification children import, and read the helpers' shipped data: in every child,
    these cost nothing."""
    for name in ("numpy", "matplotlib", "matplotlib.pyplot", "IPython", "ipykernel.kernelapp", "ipykernel.ipkernel",
                 "reg_utils", "testCases", "scipy.linalg", "threadpoolctl",  # these two: the MLP trainer's
                 # what IPython's first traceback imports (a student's error in a cell): 40 ms of each kernel's
                 "IPython.core.ultratb", "stack_data", "pygments.lexers.python", "pygments.formatters.terminal256"):
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 -- a kernel that needs it reports the error itself, in its own cell
            pass
    for target in PRELOADED_DATA:
        module, function = target.split(":")
        try:
            getattr(importlib.import_module(module), function)()
        except Exception:  # noqa: BLE001 -- as above: the notebook that loads it gets the helpers' own error
            pass
    try:
        _warm_up_figures()
    except Exception:  # noqa: BLE001 -- only a warm-up: the kernels' own figures report their own errors
        pass


def _warm_up_figures():
    """Build (never draw) one figure with the kinds of artists the notebooks use, outside pyplot's figure
    list: matplotlib's lazily made parts (contour generators, colormaps, tick machinery) are then ready in every
    kernel."""
    import numpy as np
    from matplotlib.figure import Figure

    figure = Figure()
    axes = figure.subplots(1, 2)
    grid = np.linspace(0.05, 1.0, 20)
    xx, yy = np.meshgrid(grid, grid)
    axes[0].contourf(xx, yy, (xx > yy).astype(float), cmap="Spectral")
    axes[0].scatter(grid, grid, c=grid > 0.5, s=40, cmap="Spectral", edgecolors="k", linewidths=0.3)
    axes[1].imshow(xx, cmap="gray_r", vmin=0, vmax=1)
    axes[1].plot(grid, grid, linestyle="--", label="line")
    axes[1].set_yscale("log")
    axes[1].legend(fontsize=8)
    for ax in axes:
        ax.set_title("title")
        ax.set_xlabel("x")
    figure.suptitle("warm-up")


def _load_clean_run(path):
    spec = importlib.util.spec_from_file_location("clean_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _remove_below(folder, device):
    """Remove everything in folder on its own file system; folders holding a mount point stay (True if empty)."""
    empty = True
    for name in os.listdir(folder):
        path = os.path.join(folder, name)
        info = os.lstat(path)
        if stat.S_ISDIR(info.st_mode):
            if info.st_dev != device:  # a mount point: a read-only bind, or the channel folder's tmpfs
                empty = False
                continue
            os.chmod(path, 0o700)
            if _remove_below(path, device):
                os.rmdir(path)
            else:
                empty = False
        else:
            os.unlink(path)
    return empty


def _wipe(folders, modes):
    for folder in folders:
        os.chmod(folder, modes[folder])
        _remove_below(folder, os.lstat(folder).st_dev)


class Zygote:
    def __init__(self, control, clean_run, channel_dir):
        self.control = control
        self.clean_run = clean_run
        self.wiped = [*WIPED, channel_dir]
        self.modes = {folder: stat.S_IMODE(os.lstat(folder).st_mode) for folder in self.wiped}
        self.keep = {1, os.getpid()} | clean_run._ancestors()
        self.kernels = set()

    # -- messages --------------------------------------------------------------------------------------------
    def send(self, message, fds=()):
        socket.send_fds(self.control, [json.dumps(message).encode()], list(fds))

    def receive(self):
        data, fds, _, _ = socket.recv_fds(self.control, MAX_MESSAGE, MAX_FDS)
        if not data:
            raise SystemExit(0)  # the grader is gone
        return json.loads(data), fds

    def serve(self):
        while True:
            message, fds = self.receive()
            try:
                reply = self.handle(message, fds)
            finally:
                for fd in fds:
                    with _suppress():
                        os.close(fd)
            if reply is not None:
                self.send(reply)

    def handle(self, message, fds):
        op = message.get("op")
        if op == "kernel":
            self.reset()
            return {"pid": self.fork_kernel(message["files"], fds, message.get("env"))}
        if op == "poll":
            return {"exit": self.poll(int(message["pid"]))}
        if op == "signal":
            pid = int(message["pid"])
            if pid in self.kernels:
                with _suppress():
                    os.kill(pid, int(message["signal"]))
            return {"ok": True}
        if op == "verify":
            self.reset()
            self.verify(int(message["count"]), float(message["time_limit"]), fds)
            return {"done": True}
        return {"error": f"unknown request {op!r}"}

    # -- the sandbox between requests -------------------------------------------------------------------------
    def reset(self):
        """Kill every other process of the sandbox and empty its writable folders; exit when that fails."""
        try:
            self.clean_run._end_others("sandbox", None, self.keep)
            self.kernels.clear()
            _wipe(self.wiped, self.modes)
        except Exception as exc:  # noqa: BLE001 -- a sandbox that cannot be cleaned is not used again
            print(f"zygote: cannot reset the sandbox: {exc!r}", file=sys.stderr)
            os._exit(3)

    def poll(self, pid):
        if pid not in self.kernels:
            return -1
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            self.kernels.discard(pid)
            return -1
        if not done:
            return None
        self.kernels.discard(pid)
        return os.waitstatus_to_exitcode(status)

    # -- children ---------------------------------------------------------------------------------------------
    def _in_child(self):
        """What every forked child does first: no control channel, default signals, its own process group."""
        self.control.close()
        for signum in (signal.SIGTERM, signal.SIGCHLD, signal.SIGPIPE):
            signal.signal(signum, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        os.setpgid(0, 0)

    def fork_kernel(self, paths, fds, env):
        if len(paths) != len(fds) or not all(isinstance(p, str) and p.startswith("/") for p in paths):
            raise SystemExit("zygote: a kernel request needs one descriptor per absolute path")
        pid = os.fork()
        if pid:
            self.kernels.add(pid)
            return pid
        try:
            self._in_child()
            for path, fd in zip(paths, fds):
                _place(path, fd)
            connection = paths[[os.path.basename(p) for p in paths].index("kernel-connection.json")]
            os.chdir("/scratch")
            null = os.open(os.devnull, os.O_RDWR)
            for target in (0, 1, 2):
                os.dup2(null, target)
            if isinstance(env, dict):
                os.environ.clear()
                os.environ.update({str(k): str(v) for k, v in env.items()})
            os.environ["JPY_PARENT_PID"] = "1"  # no parent to poll, and no banner (see course/sandbox.py)
            sys.argv = ["ipykernel_launcher", "-f", connection]
            from ipykernel.kernelapp import IPKernelApp

            IPKernelApp.launch_instance(argv=["-f", connection])
        except BaseException:  # noqa: BLE001 -- the kernel's end, however it comes
            pass
        finally:
            os._exit(0)

    def verify(self, count, time_limit, fds):
        if len(fds) != 2 * count:
            raise SystemExit("zygote: a verification request needs two descriptors per function")
        for j in range(count):
            spec_fd, inputs_fd = fds[2 * j], fds[2 * j + 1]
            read_fd, write_fd = os.pipe()
            pid = os.fork()
            if pid == 0:
                self._in_child()
                os.close(read_fd)
                null = os.open(os.devnull, os.O_RDWR)
                for target in (0, 1, 2):
                    os.dup2(null, target)
                item = json.loads(_read_fd(spec_fd))
                arrays = self.clean_run._load_arrays(os.fdopen(inputs_fd, "rb"))
                self.clean_run._child(item, arrays, write_fd, time_limit)  # exits
                os._exit(0)
            os.close(write_fd)
            self.send({"started": j}, [read_fd])
            os.close(read_fd)
            timed_out = _wait_or_kill(pid, time_limit)
            self.clean_run._end_others("sandbox", pid, self.keep)
            self.send({"ended": j, "timed_out": timed_out})


def _suppress():
    import contextlib

    return contextlib.suppress(OSError)


def _read_fd(fd):
    with os.fdopen(fd, "rb") as f:
        return f.read()


def _place(path, fd):
    """Copy fd's content to a new file at path (its folders made; nothing at path is followed or overwritten)."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
    with os.fdopen(out, "wb") as f, os.fdopen(fd, "rb") as source:
        while chunk := source.read(1 << 20):
            f.write(chunk)


def _wait_or_kill(pid, time_limit):
    """Wait for the child to exit, at most time_limit seconds (then kill it); True when it was killed."""
    exited = os.pidfd_open(pid)
    try:
        timed_out = not select.select([exited], [], [], time_limit)[0]
        if timed_out:
            with _suppress():
                os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        return timed_out
    finally:
        os.close(exited)


def main(argv):
    control_fd, clean_run_path, channel_dir = int(argv[0]), argv[1], argv[2]
    with open("/proc/1/comm") as f:
        if f.read().strip() != "bwrap":
            raise SystemExit("zygote.py runs only as the main process of a bubblewrap sandbox: refused")
    control = socket.socket(fileno=control_fd)
    clean_run = _load_clean_run(clean_run_path)
    started = time.monotonic()
    _preload()
    clean_run._untraceable()
    zygote = Zygote(control, clean_run, channel_dir)
    zygote.reset()
    zygote.send({"ready": True, "seconds": round(time.monotonic() - started, 3)})
    zygote.serve()


if __name__ == "__main__":
    main(sys.argv[1:])
