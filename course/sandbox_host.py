"""A grading worker's long-lived sandbox: one bubblewrap sandbox per grading slot, whose pre-imported parent
(course/zygote.py) forks the kernels and the verification children of submission after submission.

Starting a sandbox, a Python interpreter, ipykernel, NumPy and pyplot costs about a second; a submission used to
pay it twice (its kernel, its verification run). A host pays it once for many submissions. What stays per
request, by construction: before every kernel and every verification run the zygote kills every other process of
the sandbox and empties its writable folders, so nothing of one submission is running or written when the next
starts; no submission's bytes pass through the zygote (files are handed on as descriptors, results go from the
child straight to this process), so the memory each child starts from holds nothing of another student; the
zygote cannot be traced or read by its children; and a host that died, failed to reset, or served MAX_USES
requests is replaced by a new sandbox.

- ``host_for(slot, limits, env)``: this process's live host for a slot (started when needed);
- ``SandboxHost.verify(items, time_limit)``: a verification run (course/verify.py);
- ``sandboxed_kernels(config, files=..., slot=...)``: nbgrader's (or nbclient's) kernels started in the slot's
  host, through ``HostProvisioner``, the jupyter_client kernel provisioner that the kernelspecs it writes name
  (registered as an entry point of this package).
"""

import atexit
import contextlib
import dataclasses
import json
import os
import secrets
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time

from jupyter_client.provisioning import LocalProvisioner
from traitlets import Unicode

from course import clean_run, sandbox

#: Where every host sees course/zygote.py (read-only); clean_run.py is at sandbox.CLEAN_RUN.
ZYGOTE = "/opt/grader/zygote.py"
#: Requests a host serves before a new one replaces it (its own CPU time counts towards Limits.cpu_seconds).
MAX_USES = 200
#: Seconds a new host may take to import everything and say it is ready.
START_TIMEOUT = 120
#: Seconds a host may take to answer a request that runs no student code (a reset kills and empties first), and
#: to answer a question about a running kernel.
REPLY_TIMEOUT = 30
POLL_TIMEOUT = 5
PROVISIONER = "course-sandbox-host"

_THIS_DIR = os.path.dirname(os.path.abspath(__file__))


class HostDied(RuntimeError):
    """The host's sandbox ended (a student's process killed it, or it could not reset): start a new one."""


class SandboxHost:
    """One long-lived sandbox and its zygote. Use it under its lock: one request at a time."""

    def __init__(self, slot, limits, env):
        self.slot, self.limits, self.env = slot, limits, env
        self.id = secrets.token_hex(6)
        self.lock = threading.RLock()
        self.uses = 0
        self.folder = sandbox._new_kernel_folder()
        self.channel_dir = os.path.join(self.folder, "channels")
        os.mkdir(self.channel_dir, 0o700)
        self.stderr_path = os.path.join(self.folder, "zygote-stderr.log")
        self.sock, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        info_r, info_w = os.pipe()
        view = sandbox.host_view()
        font_cache = sandbox.matplotlib_font_cache(view)
        self.font_cache = None if font_cache is None else (f"{sandbox.MPLCONFIGDIR}/{font_cache[0]}", font_cache[1])
        argv = [sys.executable, "-I", ZYGOTE, str(theirs.fileno()), sandbox.CLEAN_RUN, self.channel_dir]
        plan = sandbox._plan(argv, view=view, limits=limits, slot=slot,
                             env={**sandbox._passed_env(), **env},
                             readonly_files=[(os.path.join(_THIS_DIR, "clean_run.py"), sandbox.CLEAN_RUN),
                                             (os.path.join(_THIS_DIR, "zygote.py"), ZYGOTE)],
                             tmpfs=[(self.channel_dir, sandbox._CHANNEL_TMPFS_BYTES)], info_fd=info_w)
        try:
            with open(self.stderr_path, "wb") as stderr:
                self.proc = _in_lasting_thread(lambda: subprocess.Popen(
                    [sys.executable, "-I", "-S", sandbox._THIS_FILE, "launch", json.dumps(plan)],
                    stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=stderr,
                    pass_fds=[theirs.fileno(), info_w], cwd="/", env={"PATH": "/usr/bin:/bin"}))
        finally:
            theirs.close()
            os.close(info_w)
        self.root_pid = sandbox._sandbox_pid(info_r)
        try:
            ready = self._receive(START_TIMEOUT)[0] if self.root_pid is not None else None
        except HostDied:
            ready = None
        if not ready or not ready.get("ready"):
            self.stop()
            raise sandbox.SandboxUnavailable(f"the grading sandbox's zygote did not start: {self.stderr()}")

    # -- messages --------------------------------------------------------------------------------------------
    def stderr(self):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-2000:].decode(errors="replace").strip() or "no message"
        except OSError:
            return "no message"

    def alive(self):
        return self.proc.poll() is None

    def _receive(self, timeout):
        if not select.select([self.sock], [], [], timeout)[0]:
            raise HostDied(f"the grading sandbox did not answer within {timeout} s")
        try:
            data, fds, _, _ = socket.recv_fds(self.sock, 1 << 16, 4)
        except OSError as exc:
            raise HostDied(f"the grading sandbox's channel failed: {exc}") from None
        if not data:
            raise HostDied(f"the grading sandbox ended: {self.stderr()}")
        return json.loads(data), fds

    def request(self, message, fds=(), timeout=REPLY_TIMEOUT):
        """Send one request; return its reply. When the host is gone or silent (a student's process may have
        stopped it), the sandbox is ended, so that host_for replaces it, and HostDied raised."""
        try:
            try:
                socket.send_fds(self.sock, [json.dumps(message).encode()], list(fds))
            except OSError as exc:
                raise HostDied(f"the grading sandbox's channel failed: {exc}") from None
            reply, extra = self._receive(timeout)
        except HostDied:
            self.stop()
            raise
        for fd in extra:
            os.close(fd)
        return reply

    def stop(self):
        """End the sandbox (bwrap takes every process in it along) and remove the host's folder."""
        with contextlib.suppress(OSError):
            self.sock.close()
        if self.proc.poll() is None:
            self.proc.kill()
        with contextlib.suppress(Exception):
            self.proc.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)

    # -- what the grader asks -----------------------------------------------------------------------------------
    def start_kernel(self, connection_bytes, files):
        """Reset the sandbox and fork a kernel there; its pid inside the sandbox.

        connection_bytes -- the kernel's connection file (copied to /tmp/kernel-connection.json inside)
        files -- {plain name: bytes} copied into /scratch
        """
        self.uses += 1
        copies = {"/tmp/kernel-connection.json": bytes(connection_bytes)}
        copies.update({sandbox._scratch_destination(name): bytes(data) for name, data in files.items()})
        if self.font_cache is not None:
            copies[self.font_cache[0]] = self.font_cache[1]
        fds = [sandbox._memfd(os.path.basename(path), data) for path, data in copies.items()]
        try:
            env = sandbox._environment({**sandbox._passed_env(), **self.env})
            reply = self.request({"op": "kernel", "files": list(copies), "env": env}, fds)
        finally:
            for fd in fds:
                os.close(fd)
        if "pid" not in reply:
            raise HostDied(f"the grading sandbox refused to start a kernel: {reply}")
        return int(reply["pid"])

    def poll(self, pid):
        if not self.alive():
            return -1
        try:
            return self.request({"op": "poll", "pid": pid}, timeout=POLL_TIMEOUT)["exit"]
        except HostDied:
            return -1

    def signal(self, pid, signum):
        with contextlib.suppress(HostDied):
            if self.alive():
                self.request({"op": "signal", "pid": pid, "signal": int(signum)}, timeout=POLL_TIMEOUT)

    def verify(self, items, time_limit):
        """Run verification children, one per item, one after the other: [(bytes the child sent, timed out)] for
        the items it reported on (fewer when the host died or the run as a whole took too long).

        items -- [(spec JSON bytes: {"function", "source", "calls"}, inputs .npz bytes)]
        """
        self.uses += 1
        fds = [sandbox._memfd(name, data) for spec, inputs in items for name, data in (("spec", spec),
                                                                                       ("inputs", inputs))]
        try:
            socket.send_fds(self.sock, [json.dumps({"op": "verify", "count": len(items),
                                                    "time_limit": time_limit}).encode()], fds)
        except OSError as exc:
            raise HostDied(f"the grading sandbox's channel failed: {exc}") from None
        finally:
            for fd in fds:
                os.close(fd)
        results, pipe, chunks, size = [], None, [], 0
        deadline = time.monotonic() + (time_limit + REPLY_TIMEOUT) * max(1, len(items))
        try:
            while True:
                watched = [self.sock] + ([pipe] if pipe is not None else [])
                ready = select.select(watched, [], [], max(0.0, deadline - time.monotonic()))[0]
                if not ready:
                    raise HostDied("the grading sandbox's verification run did not end in time")
                if pipe is not None and pipe in ready:
                    chunk = os.read(pipe, 1 << 16)
                    if chunk and size < clean_run.MAX_RESULT_BYTES:
                        chunks.append(chunk)
                        size += len(chunk)
                    elif not chunk:
                        os.close(pipe)
                        pipe = None
                    continue
                message, extra = self._receive(REPLY_TIMEOUT)
                if "started" in message and extra:
                    pipe, chunks, size = extra[0], [], 0
                    for fd in extra[1:]:
                        os.close(fd)
                elif "ended" in message:
                    if pipe is not None:  # every writer is dead: the rest of the pipe, then its end
                        while size < clean_run.MAX_RESULT_BYTES and (chunk := os.read(pipe, 1 << 16)):
                            chunks.append(chunk)
                            size += len(chunk)
                        os.close(pipe)
                        pipe = None
                    results.append((b"".join(chunks), bool(message.get("timed_out"))))
                elif message.get("done"):
                    return results
                else:
                    raise HostDied(f"the grading sandbox answered {message}")
        except HostDied:
            if pipe is not None:
                os.close(pipe)
            self.stop()
            return results


_HOSTS = {}
_HOSTS_LOCK = threading.Lock()
_STARTER = {}
_STARTER_LOCK = threading.Lock()


def _in_lasting_thread(start):
    """start() run in a thread that lives as long as this process, and its result. bwrap's --die-with-parent
    ends a sandbox when the thread that started it ends: a host started from a short-lived thread (a Dask task's,
    say) would die with it."""
    import concurrent.futures

    with _STARTER_LOCK:
        if "executor" not in _STARTER:
            _STARTER["executor"] = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="sandbox-host")
    return _STARTER["executor"].submit(start).result()


def _forget_inherited_hosts():
    """In a forked child (a process pool's worker): the parent's hosts are the parent's. Close this process's
    copies of their channels, without ending them, and start afresh (the starter thread did not survive the fork,
    and a lock another thread held stays held in the child)."""
    global _HOSTS_LOCK, _STARTER_LOCK
    _HOSTS_LOCK, _STARTER_LOCK = threading.Lock(), threading.Lock()
    for host, _ in _HOSTS.values():
        with contextlib.suppress(OSError):
            host.sock.close()
    _HOSTS.clear()
    _BY_ID.clear()
    _STARTER.clear()


os.register_at_fork(after_in_child=_forget_inherited_hosts)


def host_for(slot, limits=None, env=None):
    """This process's live host for slot, with these limits and this environment (besides sandbox.PASS_ENV
    taken from this process's): the current one, or a new one when there is none, it died, it has served
    MAX_USES requests, or it was started with other settings. Raises sandbox.SandboxUnavailable."""
    sandbox.ensure_available()
    limits = limits or sandbox.Limits()
    env = dict(env or {})
    key = (limits, json.dumps({**sandbox._passed_env(), **env}, sort_keys=True), json.dumps(sandbox.host_view()))
    with _HOSTS_LOCK:
        current = _HOSTS.get(slot)
        if current is not None:
            host, host_key = current
            if host_key == key and host.alive() and host.uses < MAX_USES:
                return host
            with host.lock:
                host.stop()
            del _HOSTS[slot]
            _BY_ID.pop(host.id, None)
        host = SandboxHost(slot, limits, env)
        _HOSTS[slot] = (host, key)
        _BY_ID[host.id] = host
        return host


def stop_hosts():
    """End every host of this process (also run at exit)."""
    with _HOSTS_LOCK:
        for host, _ in _HOSTS.values():
            host.stop()
        _HOSTS.clear()
        _BY_ID.clear()


atexit.register(stop_hosts)

#: Hosts by id, and the files each sandboxed_kernels context gives its kernels, for the provisioner.
_BY_ID = {}
_CONTEXT_FILES = {}


def register_context_files(files):
    """An id under which the provisioner finds {name: bytes} for the kernels of one sandboxed_kernels context."""
    context = secrets.token_hex(6)
    _CONTEXT_FILES[context] = dict(files)
    return context


def forget_context_files(context):
    _CONTEXT_FILES.pop(context, None)


# ---------------------------------------------------------------------------------------------------------------
# Kernels: nbgrader's (or nbclient's) kernels started in the host.

@dataclasses.dataclass
class KernelSandbox:
    """What sandboxed_kernels set up: the kernel name nbclient must use, and the folders it made."""

    kernel_name: str
    folder: str          # holds kernels/KERNEL_NAME/kernel.json (removed when the context ends)
    channel_dir: str     # the host's: the grader reaches the kernels' IPC sockets here (links it holds open)


@contextlib.contextmanager
def sandboxed_kernels(config, *, files=None, slot=0, limits=None, env=None):
    """Make the kernels nbgrader (or any nbclient NotebookClient) starts with this config run in a sandbox.

    Arguments:
    config -- the traitlets Config the NbGraderAPI (or NotebookClient) is built with; changed in place for the
              duration: NotebookClient.kernel_name names a kernelspec made here, KernelManager.transport is "ipc"
    files -- {plain file name: bytes}, e.g. {notebook name: the submitted notebook's bytes}: every kernel started
             finds a fresh copy of each in its working directory, /scratch
    slot, limits -- as for sandbox.run_sandboxed
    env -- {name: value} for the kernel's environment, besides sandbox.PASS_ENV taken from the grader's

    Yields:
    KernelSandbox

    Kernels start in this process's long-lived sandbox of the slot (host_for), held for the
    duration: each one in a sandbox reset for it, forked from a parent that has imported ipykernel, NumPy and
    pyplot. The kernelspec's folder goes first on JUPYTER_PATH (process-wide; each context adds and removes its
    own entry, so contexts in parallel threads each find their own kernel). A kernel name nobody else has means
    that a kernel that cannot be found fails to start instead of starting unsandboxed.
    """
    sandbox.ensure_available()
    limits = limits or sandbox.Limits()
    sandbox._host_identity(slot)
    sandbox._environment(env)
    for name in files or {}:
        if "/" in sandbox._scratch_destination(name)[len(sandbox.SCRATCH) + 1:]:
            raise ValueError(f"kernel files are plain names in the scratch folder, got {name!r}")
    host = host_for(slot, limits, env)
    context = register_context_files(files or {})
    folder = sandbox._new_kernel_folder()
    try:
        with host.lock:
            kernels = _write_kernelspec(folder, host=host, context=context, slot=slot)
            with _on_jupyter_path(folder), _kernel_config(config, kernels):
                yield kernels
    finally:
        forget_context_files(context)
        shutil.rmtree(folder, ignore_errors=True)


def _write_kernelspec(folder, *, host, context, slot):
    """Write a kernelspec whose provisioner starts the kernel in the host (course.sandbox_host.HostProvisioner)."""
    kernels = KernelSandbox(f"course-sandbox-{slot}-{secrets.token_hex(4)}", folder, host.channel_dir)
    spec_dir = os.path.join(folder, "kernels", kernels.kernel_name)
    os.makedirs(spec_dir)
    # interrupt_mode "message": bwrap's --new-session keeps signals from the grader's terminal session away, and
    # nbgrader interrupts a cell that runs too long; the kernel then interrupts itself. The argv is what the
    # zygote runs in the forked child (jupyter_client needs one to format).
    spec = {"argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (sandboxed)", "language": "python", "interrupt_mode": "message",
            "metadata": {"debugger": False, "kernel_provisioner": {
                "provisioner_name": PROVISIONER, "config": {"host_id": host.id, "context": context}}}}
    with open(os.path.join(spec_dir, "kernel.json"), "w") as f:
        json.dump(spec, f, indent=1)
    return kernels


_ENV_LOCK = threading.Lock()


@contextlib.contextmanager
def _on_jupyter_path(folder):
    """folder first on JUPYTER_PATH for the duration (jupyter_client's KernelSpecManager reads no config)."""
    with _ENV_LOCK:
        old = os.environ.get("JUPYTER_PATH")
        os.environ["JUPYTER_PATH"] = os.pathsep.join([folder] + ([old] if old else []))
    try:
        yield
    finally:
        with _ENV_LOCK:
            entries = [p for p in os.environ.get("JUPYTER_PATH", "").split(os.pathsep) if p and p != folder]
            if entries:
                os.environ["JUPYTER_PATH"] = os.pathsep.join(entries)
            else:
                os.environ.pop("JUPYTER_PATH", None)


@contextlib.contextmanager
def _kernel_config(config, kernels):
    """The config's kernel name and kernel manager transport set for the sandboxed kernels, then restored.

    nbgrader's Execute preprocessor is a NotebookClient built from the converter's config, which is NbGraderAPI's;
    NotebookClient builds its (Async)KernelManager with config=self.config, so both settings reach it.
    """
    settings = {("NotebookClient", "kernel_name"): kernels.kernel_name, ("KernelManager", "transport"): "ipc",
                ("KernelManager", "ip"): os.path.join(kernels.channel_dir, "kernel")}
    saved = {(section, key): config[section][key] for section, key in settings
             if section in config and key in config[section]}
    for (section, key), value in settings.items():
        config[section][key] = value
    try:
        yield
    finally:
        for section, key in settings:
            config[section].pop(key, None)
        for (section, key), value in saved.items():
            config[section][key] = value



class HostProvisioner(LocalProvisioner):
    """Starts a kernel in a SandboxHost instead of a new process: the kernelspec's provisioner config names the
    host and the files context. The connection file is written by jupyter_client as for a local kernel (IPC
    transport in the host's channel folder); the kernel's sockets are pinned as course/sandbox.py describes."""

    host_id = Unicode(config=True)
    context = Unicode(config=True)

    host = None
    kernel_pid = None
    pinned = ()

    @property
    def has_process(self):
        return self.kernel_pid is not None

    async def launch_kernel(self, cmd, **kwargs):
        self.host = _BY_ID.get(self.host_id)
        if self.host is None or not self.host.alive():
            raise RuntimeError("the grading sandbox of this kernel is gone")
        with open(self.parent.connection_file, "rb") as f:
            connection_bytes = f.read()
        self.kernel_pid = self.host.start_kernel(connection_bytes, _CONTEXT_FILES.get(self.context, {}))
        self.pid = self.kernel_pid
        alive = lambda: self.host.alive() and self.host.poll(self.kernel_pid) is None  # noqa: E731
        self.pinned = sandbox._pin_sockets(json.loads(connection_bytes), self.host.root_pid, alive)
        if self.pinned is None:
            self.pinned = ()
            await self.kill()
        return self.connection_info

    async def poll(self):
        if self.kernel_pid is None:
            return 0
        code = self.host.poll(self.kernel_pid)
        return code

    async def wait(self):
        import asyncio

        if self.kernel_pid is None:
            return 0
        while (code := await self.poll()) is None:
            await asyncio.sleep(0.02)
        self.kernel_pid = None
        return code

    async def send_signal(self, signum):
        if self.kernel_pid is not None:
            self.host.signal(self.kernel_pid, signum)

    async def kill(self, restart=False):
        await self.send_signal(signal.SIGKILL)

    async def terminate(self, restart=False):
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart=False):
        for link, fd in self.pinned:
            with contextlib.suppress(OSError):
                os.unlink(link)
            with contextlib.suppress(OSError):
                os.close(fd)
        self.pinned = ()
        await super().cleanup(restart)
