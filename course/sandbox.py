"""The OS sandbox every process that runs student code goes through; the grader uses it, nothing else does.

Two kinds of process run a student's code: the Jupyter kernel in which nbgrader's autograde executes a submitted
notebook, and the clean verification children (``course/clean_run.py``) that run one graded function each on given
inputs. Both run inside bubblewrap (``bwrap``), isolated by Linux namespaces:

- ``run_sandboxed(argv, files=..., collect=...)`` runs one command in a new sandbox and gives back its exit status,
  its output and the files it left in its scratch folder, as bytes (a function verified alone);
- ``course.sandbox_host.sandboxed_kernels(config, files=...)`` makes nbgrader (or nbclient) start its kernels
  inside the grading slot's long-lived sandbox, built from this module's pieces, reset for every kernel, which
  also runs the verification pass of a submission;
- ``ensure_available()`` and ``python -m course.sandbox check`` say whether the sandbox works on this machine.

What a sandboxed process sees: /usr (and the /bin, /lib, /lib64, /sbin links), the interpreter, the virtual
environment and the student helper packages (``reg_utils``, ``testCases``), all read-only and at their own paths, as
are three /etc entries (ETC_PATHS: fontconfig's configuration, the loader's cache, the time zone); a fresh /proc, a
minimal /dev, and three small size-limited tmpfs folders: /scratch (its working directory, holding copies of the
files it was given), /tmp and /dev/shm (a kernel's /tmp/matplotlib starts with the grader's font list:
``matplotlib_font_cache``). Nothing else of the host: not the instructor package, the course folder, the
gradebook, any home directory or other students' files. It has no network (a network namespace of its own, holding
only loopback), runs as uid 65534 inside, as an unprivileged host uid of its own when the grader is root
(``HOST_UID_BASE + slot``), with no capabilities and no_new_privs, in a session, pid, IPC and UTS namespace of its
own, with limits on CPU time, address space, processes, open files and file size; and nothing it starts outlives it.

How a kernel talks to nbgrader without any network: its ZeroMQ channels use the IPC transport, Unix sockets that
the kernel creates in a tmpfs of its own sandbox; nbgrader connects to them through symbolic links, in a folder
only the grader can write to, that point to those very sockets, held open by the grader itself
(``/proc/GRADER/fd/N``, ``_pin_sockets``). The sandbox has no writable host path at all.
"""

import contextlib
import dataclasses
import fcntl
import json
import os
import resource
import shutil
import stat
import subprocess
import sys
import threading

#: The bubblewrap executable. Tests (and machines with bwrap elsewhere) change it; COURSE_SANDBOX_BWRAP sets it.
BWRAP = os.environ.get("COURSE_SANDBOX_BWRAP") or shutil.which("bwrap") or "/usr/bin/bwrap"
#: The uid (and gid) a sandboxed process has inside its sandbox: nobody.
SANDBOX_UID = 65534
#: When the grader runs as root, slot N's sandboxes run as host uid/gid HOST_UID_BASE + N: a real unprivileged
#: user, so that the process limit holds (root is exempt from it), one per grading slot, so that parallel workers
#: never share a process quota. No account may exist with these uids.
HOST_UID_BASE = 64000
MAX_SLOTS = 1000
#: Where grading workers claim their slots, one lock file a slot, shared by every grader on this machine (slots are
#: host uids, which are machine-wide): two grading runs at once never share a process quota.
SLOT_LOCKS = "/tmp/course-sandbox-slots"
#: The sandboxed process's working directory: a tmpfs holding copies of the files it was given.
SCRATCH = "/scratch"
#: Where every one-shot sandbox sees the verification runner course/clean_run.py (read-only).
CLEAN_RUN = "/opt/grader/clean_run.py"
#: Packages a student's code may import from this repository; their folders are bound read-only.
STUDENT_PACKAGES = ("reg_utils", "testCases")
#: The host's /etc files a sandbox sees (read-only, when they exist): fontconfig's configuration, without which
#: matplotlib's font search prints an error on stderr (a graded cell with stderr output scores 0), the loader's
#: cache and the time zone.
ETC_PATHS = ("/etc/fonts", "/etc/ld.so.cache", "/etc/localtime")
#: Variables every sandbox takes from the grader's environment, by name or by prefix (ending in "_"): thread
#: counts and the machine's BLAS tuning (OPENBLAS_CORETYPE can make OpenBLAS twice as fast), the flag nbgrader
#: sets while it autogrades, the matplotlib backend and the hash seed. Nothing else of that environment gets in.
PASS_ENV = ("OMP_", "OPENBLAS_", "MKL_", "NBGRADER_EXECUTION", "MPLBACKEND", "PYTHONHASHSEED")

_MiB = 1024 ** 2
_THIS_FILE = os.path.abspath(__file__)
_PACKAGE_DIR = os.path.dirname(_THIS_FILE)
_CHANNEL_TMPFS_BYTES = _MiB  # holds the kernel's five sockets and its connection file


class SandboxUnavailable(RuntimeError):
    """bubblewrap is missing or cannot create its namespaces here; the message says what to install or enable."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """What one sandbox may use. Tighten with ``dataclasses.replace(Limits(), cpu_seconds=10)``.

    cpu_seconds -- CPU time of each process (RLIMIT_CPU; SIGXCPU, then SIGKILL one second later)
    address_space -- bytes of virtual memory of each process (RLIMIT_AS)
    processes -- processes and threads the sandbox's host uid may have (RLIMIT_NPROC)
    open_files -- file descriptors per process (RLIMIT_NOFILE)
    file_size -- bytes of the largest file a process may write (RLIMIT_FSIZE)
    scratch_size -- bytes of the /scratch tmpfs
    tmp_size -- bytes of each of the /tmp and /dev/shm tmpfs
    output_size -- bytes the caller reads back of stdout, of stderr, and of the collected files together
    """

    cpu_seconds: int = 120
    address_space: int = 3 * 1024 ** 3
    processes: int = 64
    open_files: int = 256
    file_size: int = 64 * _MiB
    scratch_size: int = 128 * _MiB
    tmp_size: int = 64 * _MiB
    output_size: int = 64 * _MiB

    def __post_init__(self):
        for field in dataclasses.fields(self):
            value = getattr(self, field.name)
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"Limits.{field.name} must be a positive integer, got {value!r}")


# ---------------------------------------------------------------------------------------------------------------
# What the sandbox binds, and the bwrap command line.

def _package_folder(name):
    """The folder a top-level package is imported from on the host (without importing it), or None."""
    import importlib.util

    spec = importlib.util.find_spec(name)
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return os.path.abspath(list(spec.submodule_search_locations)[0])
    return os.path.dirname(os.path.abspath(spec.origin))


def _inside(path, folder):
    """Whether path is folder or lies below it."""
    return os.path.commonpath([path, folder]) == folder


def readonly_paths():
    """The host folders every sandbox sees read-only, at the same paths, outermost first."""
    wanted = ["/usr", sys.base_prefix, sys.prefix] + [_package_folder(name) for name in STUDENT_PACKAGES]
    kept = []
    for path in sorted({os.path.abspath(p) for p in wanted if p}):
        if not any(_inside(path, outer) for outer in kept):
            kept.append(path)
    return kept


def masked_paths(readonly, instructor_folders):
    """The instructor package folders a read-only bind would expose (an empty tmpfs covers each).

    With the editable install the instructor package lives outside every bound folder and nothing needs covering;
    a regular install puts it in site-packages, inside the bound virtual environment.
    """
    return sorted({f for f in instructor_folders if f and any(_inside(f, outer) for outer in readonly)})


def host_view():
    """{"readonly": folders bound read-only, "masks": folders covered by an empty tmpfs}: what the host shows every
    sandbox. Computed by the grader (it needs the import system), then handed to the launchers."""
    readonly = readonly_paths()
    return {"readonly": readonly, "masks": masked_paths(readonly, [_PACKAGE_DIR, _package_folder("course")])}


def _root_links():
    """bwrap arguments for /bin, /lib, /lib64, /sbin: the same symbolic link as on the host, or a read-only bind."""
    args = []
    for path in ("/bin", "/lib", "/lib32", "/lib64", "/libx32", "/sbin"):
        if os.path.islink(path):
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    return args


def _passed_env():
    """The PASS_ENV variables of this process's environment."""
    return {key: value for key, value in os.environ.items()
            if any(key.startswith(p) if p.endswith("_") else key == p for p in PASS_ENV)}


#: matplotlib's configuration and cache folder in every sandbox (a writable folder of its /tmp).
MPLCONFIGDIR = "/tmp/matplotlib"


def _environment(extra):
    """The whole environment of a sandboxed process: a minimal one, plus the caller's variables."""
    env = {"PATH": f"{sys.prefix}/bin:/usr/local/bin:/usr/bin:/bin", "HOME": "/tmp", "TMPDIR": "/tmp",
           "MPLCONFIGDIR": MPLCONFIGDIR, "LANG": "C.UTF-8"}
    for key, value in (extra or {}).items():
        if not isinstance(key, str) or not key or "=" in key or not isinstance(value, str):
            raise ValueError(f"env must map variable names to strings, got {key!r}: {value!r}")
        env[key] = value
    return env


def _bwrap_command(argv, *, view, limits, env, files=(), readonly_files=(), tmpfs=(), info_fd=None):
    """The bwrap command line that runs argv in a new sandbox.

    view -- as host_view() returns
    files -- (fd, absolute destination) pairs: bwrap copies each fd's content to a new file in the sandbox
    readonly_files -- (host path, destination) pairs bound read-only
    tmpfs -- (destination, bytes) pairs: extra small tmpfs folders
    """
    args = [BWRAP, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--new-session",
            "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL", "--hostname", "sandbox",
            "--clearenv"]
    for key, value in _environment(env).items():
        args += ["--setenv", key, value]
    # The writable tmpfs folders first: a read-only folder that lives under one of them (a venv or a repository
    # cloned under /tmp) is then bound on top of it instead of being hidden by it.
    args += ["--proc", "/proc", "--dev", "/dev",
             "--size", str(limits.tmp_size), "--tmpfs", "/dev/shm",
             "--size", str(limits.tmp_size), "--tmpfs", "/tmp",
             "--size", str(limits.scratch_size), "--tmpfs", SCRATCH]
    for path in view["readonly"]:
        args += ["--ro-bind", path, path]
    args += _root_links()
    for path in ETC_PATHS:
        args += ["--ro-bind-try", path, path]
    for path in view["masks"]:
        args += ["--size", "4096", "--tmpfs", path, "--remount-ro", path]
    for source, dest in readonly_files:
        args += ["--ro-bind", str(source), dest]
    for dest, size in tmpfs:
        args += ["--size", str(size), "--tmpfs", dest]
    for fd, dest in files:
        args += ["--file", str(fd), dest]
    # bwrap builds the new root and /dev as tmpfs folders the sandbox user owns: read-only, or they would be
    # unlimited writable memory.
    args += ["--remount-ro", "/dev", "--remount-ro", "/", "--chdir", SCRATCH]
    if info_fd is not None:
        args += ["--info-fd", str(info_fd)]
    return args + ["--", *argv]


_FONT_CACHE_LOCK = threading.Lock()
_FONT_CACHE = {}


def matplotlib_font_cache(view):
    """(file name, bytes) of the font list matplotlib would build in a sandbox with this view, or None.

    A sandbox's matplotlib cache folder starts empty, so its first `import matplotlib.pyplot` scans the fonts and
    asks fontconfig for more (a seventh of a second, in every kernel). The grader builds that list once, with its
    own matplotlib, and every kernel's sandbox finds it in MPLCONFIGDIR. Only when every font it lists lies in a
    folder the sandbox sees: otherwise the sandbox builds its own, as before. None also when matplotlib is absent.
    """
    key = json.dumps(view, sort_keys=True)
    with _FONT_CACHE_LOCK:
        if key not in _FONT_CACHE:
            _FONT_CACHE[key] = _build_font_cache(view["readonly"])
        return _FONT_CACHE[key]


def _build_font_cache(readonly):
    import tempfile

    try:
        from matplotlib import font_manager
    except ImportError:
        return None
    manager = font_manager.fontManager
    fonts = [os.path.abspath(entry.fname) for entry in manager.ttflist + manager.afmlist]
    if not all(any(_inside(font, folder) for folder in readonly) for font in fonts):
        return None
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "fontlist.json")
        font_manager.json_dump(manager, path)
        with open(path, "rb") as f:
            data = f.read()
    return f"fontlist-v{font_manager.FontManager.__version__}.json", data


def _scratch_destination(name):
    """The absolute path in the sandbox of a file given by its name relative to /scratch."""
    parts = name.split("/") if isinstance(name, str) else []
    if not parts or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise ValueError(f"files must be named by relative paths inside the scratch folder, got {name!r}")
    return f"{SCRATCH}/{name}"


# ---------------------------------------------------------------------------------------------------------------
# Who the sandbox runs as, and its limits: decided by the grader, applied by the launcher before it runs bwrap.

_CLAIMED = {}


def claim_slot():
    """A grading slot that no other live process on this machine holds, the same on every call in this process.

    The first slot from 1 whose lock file (in SLOT_LOCKS) this process can lock. The kernel releases the lock when
    the process ends, however it ends, so a killed worker's slot is free again at once. Slot 0, the default of
    one-off sandboxed runs, and the last slot are never claimed. A forked child claims a slot of its own.
    """
    if _CLAIMED.get("pid") == os.getpid():
        return _CLAIMED["slot"]
    os.makedirs(SLOT_LOCKS, exist_ok=True)
    with contextlib.suppress(OSError):
        os.chmod(SLOT_LOCKS, 0o1777)  # graders of other accounts claim slots here too
    for slot in range(1, MAX_SLOTS - 1):
        fd = os.open(os.path.join(SLOT_LOCKS, f"slot-{slot}.lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # held by another grader (or a lock file of another account's)
            os.close(fd)
            continue
        _CLAIMED.update(pid=os.getpid(), slot=slot, fd=fd)
        return slot
    raise SandboxUnavailable(f"every grading slot in {SLOT_LOCKS} is held by another process")


def _host_identity(slot):
    """(uid, gid) the sandbox runs as on the host when the grader is root, else None (it runs as the grader)."""
    if isinstance(slot, bool) or not isinstance(slot, int) or not 0 <= slot < MAX_SLOTS:
        raise ValueError(f"slot must be an integer in [0, {MAX_SLOTS}), got {slot!r}")
    if os.geteuid() != 0:
        return None
    import pwd

    uid = HOST_UID_BASE + slot
    try:
        account = pwd.getpwuid(uid).pw_name
    except KeyError:
        return uid, uid
    raise SandboxUnavailable(f"host uid {uid} (sandbox slot {slot}) belongs to the account {account!r}: sandboxes "
                             f"need uids no account uses; change course.sandbox.HOST_UID_BASE")


def _tasks_of(uid):
    """How many processes and threads uid has now (the process limit counts them all)."""
    count = 0
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/status") as f:
                    fields = dict(line.split(":", 1) for line in f if ":" in line)
            except OSError:
                continue
            if int(fields.get("Uid", "-1").split()[0]) == uid:
                count += int(fields.get("Threads", "1"))
    return count


def _rlimits(limits, identity):
    """[(resource name, soft, hard)] the launcher sets before it runs bwrap (every sandboxed process inherits them)."""
    processes = limits.processes
    if identity is None:
        # Without root the sandbox runs as the grader's own uid, whose processes all count towards the limit.
        processes += _tasks_of(os.getuid())
    return [("RLIMIT_CPU", limits.cpu_seconds, limits.cpu_seconds + 1),
            ("RLIMIT_AS", limits.address_space, limits.address_space),
            ("RLIMIT_NPROC", processes, processes),
            ("RLIMIT_NOFILE", limits.open_files, limits.open_files),
            ("RLIMIT_FSIZE", limits.file_size, limits.file_size),
            ("RLIMIT_CORE", 0, 0)]


def _unreachable(paths):
    """{folder: [paths below it]} for paths an unprivileged uid cannot reach: folder is the outermost ancestor
    without search permission for others (like /root, mode 700, above this machine's interpreter)."""
    blocked = {}
    for path in paths:
        parts = os.path.abspath(path).split("/")[1:]
        for i in range(1, len(parts)):
            ancestor = "/" + "/".join(parts[:i])
            if not os.stat(ancestor).st_mode & stat.S_IXOTH:
                blocked.setdefault(ancestor, []).append(path)
                break
    return blocked


def _plan(argv, *, view, limits, slot, env, files=(), readonly_files=(), tmpfs=(), info_fd=None):
    """Everything the launcher needs to start one sandbox, as JSON-ready data."""
    identity = _host_identity(slot)
    command = _bwrap_command(argv, view=view, limits=limits, env=env, files=files,
                             readonly_files=readonly_files, tmpfs=tmpfs, info_fd=info_fd)
    reach = {}
    if identity is not None:
        reach = _unreachable(view["readonly"] + [str(source) for source, _ in readonly_files])
    return {"command": command, "identity": identity, "rlimits": _rlimits(limits, identity), "reach": reach}


def _libc_call(function, *args):
    import ctypes

    if function(*args) != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{function.__name__}{args[:2]}: {os.strerror(errno)}")


def _make_reachable(reach):
    """Give this process a private mount namespace in which the dropped uid can reach the folders it must bind.

    bwrap, running unprivileged, resolves every path it binds with the caller's permissions, and cannot cross a
    folder like /root (mode 700) to reach the interpreter below it. Here (still root) an empty tmpfs covers each
    such folder and only the paths needed are bound back, at the same places. The host's mounts are untouched.
    """
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    MS_NOSUID, MS_NODEV, MS_BIND, MS_REC, MS_PRIVATE = 2, 4, 4096, 16384, 1 << 18
    _libc_call(libc.unshare, 0x00020000)  # CLONE_NEWNS
    _libc_call(libc.mount, b"none", b"/", None, MS_REC | MS_PRIVATE, None)
    for folder, paths in reach.items():
        if folder == "/":
            raise SandboxUnavailable("the root folder is not searchable by other users")
        handles = [(path, os.open(path, os.O_PATH)) for path in paths]  # before the tmpfs hides them
        _libc_call(libc.mount, b"tmpfs", folder.encode(), b"tmpfs", MS_NOSUID | MS_NODEV, b"mode=0755,size=65536")
        for path, fd in handles:
            if stat.S_ISDIR(os.fstat(fd).st_mode):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                open(path, "x").close()
            _libc_call(libc.mount, f"/proc/self/fd/{fd}".encode(), path.encode(), None, MS_BIND | MS_REC, None)
            os.close(fd)


def _enter(plan):
    """In the launcher, just before bwrap runs: reach the bound folders, set the limits, drop root."""
    identity = plan["identity"]
    if identity is not None and plan["reach"]:
        _make_reachable(plan["reach"])
    for name, soft, hard in plan["rlimits"]:
        which = getattr(resource, name)
        current = resource.getrlimit(which)[1]
        if current != resource.RLIM_INFINITY:  # an unprivileged process can only lower its hard limits
            soft, hard = min(soft, current), min(hard, current)
        resource.setrlimit(which, (soft, hard))
    if identity is not None:
        uid, gid = identity
        os.setgroups([])
        os.setresgid(gid, gid, gid)
        os.setresuid(uid, uid, uid)
        if os.getuid() == 0 or os.geteuid() == 0:
            raise SandboxUnavailable("could not drop root before starting bwrap")


def _launch_cli(plan_json):
    """`python -I -S course/sandbox.py launch PLAN`: the launcher of every sandbox (one-shot or host); it becomes bwrap."""
    plan = json.loads(plan_json)
    _enter(plan)
    command = plan["command"]
    os.execve(command[0], command, {})


# ---------------------------------------------------------------------------------------------------------------
# One-shot processes.

class SandboxResult(subprocess.CompletedProcess):
    """A finished sandboxed command: args, returncode, stdout, stderr (bytes, each cut at Limits.output_size),
    and files {name: bytes}, the collected files the command left in /scratch (absent when missing, not a regular
    file, or beyond Limits.output_size). returncode is the command's exit status, 128 + N when signal N killed it."""

    def __init__(self, args, returncode, stdout, stderr, files):
        super().__init__(args, returncode, stdout, stderr)
        self.files = files


# Runs as the sandbox's main process when files are collected: starts the command, waits for it, then sends
# the named scratch files, as plain bytes, down the outbox pipe. Only -S -I standard library.
_COLLECTOR = r"""
import json, os, stat, sys
outbox, names, argv = int(sys.argv[1]), json.loads(sys.argv[2]), sys.argv[4:]
os.set_inheritable(outbox, False)
try:
    pid = os.posix_spawnp(argv[0], argv, os.environ)
except OSError as exc:
    print(f"cannot run {argv[0]}: {exc}", file=sys.stderr)
    sys.exit(127)
code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])
with os.fdopen(outbox, "wb") as out:
    for name in names:
        try:
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        with os.fdopen(fd, "rb") as f:
            if stat.S_ISREG(os.fstat(fd).st_mode):
                data = f.read()
                out.write(json.dumps([name, len(data)]).encode() + b"\n" + data)
sys.exit(code if code >= 0 else 128 - code)
"""


def _parse_outbox(data, names):
    """{name: bytes} from the collector's stream; a truncated or unexpected record ends it."""
    files = {}
    while data:
        line, newline, rest = data.partition(b"\n")
        try:
            name, size = json.loads(line)
        except ValueError:
            break
        if not newline or name not in names or not isinstance(size, int) or len(rest) < size:
            break
        files[name], data = rest[:size], rest[size:]
    return files


def _memfd(name, data):
    """A file descriptor holding data, read from the start (bwrap --file copies it into the sandbox)."""
    fd = os.memfd_create(name, 0)  # not close-on-exec: the launcher and bwrap inherit it
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]
    os.lseek(fd, 0, os.SEEK_SET)
    return fd


def _read_all(streams, cap, deadline):
    """Read every stream until EOF or the deadline (time.monotonic); keep at most cap bytes of each."""
    import selectors
    import time

    chunks = {key: [] for key in streams}
    sizes = dict.fromkeys(streams, 0)
    with selectors.DefaultSelector() as selector:
        for key, stream in streams.items():
            selector.register(stream, selectors.EVENT_READ, key)
        while selector.get_map():
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return chunks, True
            for selected, _ in selector.select(remaining):
                data = os.read(selected.fd, 1 << 16)
                if not data:
                    selector.unregister(selected.fileobj)
                    continue
                key = selected.data
                if sizes[key] < cap:  # beyond the cap: keep draining so the writer never blocks, keep nothing
                    chunks[key].append(data[:cap - sizes[key]])
                sizes[key] += len(data)
    return chunks, False


def run_sandboxed(argv, *, files=None, collect=(), limits=None, slot=0, env=None, timeout=None):
    """Run one command in a new sandbox and wait for it.

    Arguments:
    argv -- the command, as seen inside (e.g. [sys.executable, "-I", CLEAN_RUN, "/scratch"])
    files -- {name relative to /scratch: bytes}: copied into the scratch folder before the command starts
    collect -- names relative to /scratch of the files to bring back once the command has exited
    limits -- Limits (default Limits())
    slot -- the grading slot (0 <= slot < MAX_SLOTS): sandboxes of one slot share a host uid and its process quota
    env -- {name: value} added to the minimal environment and PASS_ENV (e.g. {"OMP_NUM_THREADS": "1"})
    timeout -- seconds of wall-clock time; then the sandbox is killed and subprocess.TimeoutExpired raised

    Returns:
    SandboxResult -- args, returncode, stdout, stderr and files ({name: bytes} of the collected files found)
    """
    for name in [*(files or {}), *collect]:
        _scratch_destination(name)
    ensure_available()
    return _run(argv, files=files, collect=collect, limits=limits, slot=slot, env=env, timeout=timeout)


def _run(argv, *, files=None, collect=(), limits=None, slot=0, env=None, timeout=None):
    import time

    limits = limits or Limits()
    argv = [str(a) for a in argv]
    if not argv:
        raise ValueError("argv must name a command")
    collect = list(collect)
    for name in collect:
        _scratch_destination(name)
    deadline = None if timeout is None else time.monotonic() + timeout
    proc, outbox = _start(argv, files or {}, collect, limits, slot, {**_passed_env(), **(env or {})})
    streams = {"stdout": proc.stdout, "stderr": proc.stderr}
    if outbox is not None:
        streams["outbox"] = os.fdopen(outbox, "rb")
    try:
        chunks, timed_out = _read_all(streams, limits.output_size, deadline)
        if timed_out:
            proc.kill()  # bwrap: --die-with-parent takes the whole sandbox with it
        proc.wait()
    finally:
        for stream in streams.values():
            stream.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    stdout, stderr = b"".join(chunks["stdout"]), b"".join(chunks["stderr"])
    if timed_out:
        raise subprocess.TimeoutExpired(argv, timeout, output=stdout, stderr=stderr)
    collected = _parse_outbox(b"".join(chunks.get("outbox", [])), set(collect))
    return SandboxResult(argv, proc.returncode, stdout, stderr, collected)


def _start(argv, files, collect, limits, slot, env):
    """Start the launcher of one sandbox; return (its Popen, the read end of the outbox pipe or None)."""
    fds, outbox = [], None
    try:
        copies = []
        for name, data in files.items():
            dest = _scratch_destination(name)
            fds.append(_memfd(name.replace("/", "_"), bytes(data)))
            copies.append((fds[-1], dest))
        command = argv
        if collect:
            outbox, outbox_w = os.pipe()
            fds.append(outbox_w)
            command = [sys.executable, "-I", "-S", "-c", _COLLECTOR, str(outbox_w), json.dumps(collect), "--", *argv]
        plan = _plan(command, view=host_view(), limits=limits, slot=slot, env=env, files=copies,
                     readonly_files=[(os.path.join(_PACKAGE_DIR, "clean_run.py"), CLEAN_RUN)])
        # -I -S and this file by path: the launcher needs nothing but the standard library (site's .pth files
        # would cost more than everything else it does).
        proc = subprocess.Popen([sys.executable, "-I", "-S", _THIS_FILE, "launch", json.dumps(plan)],
                                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                pass_fds=fds, cwd="/", env={"PATH": "/usr/bin:/bin"})
    except BaseException:
        if outbox is not None:
            os.close(outbox)
        raise
    finally:
        for fd in fds:
            os.close(fd)
    return proc, outbox


# ---------------------------------------------------------------------------------------------------------------
# Whether it works here.

_AVAILABLE = set()
_AVAILABLE_LOCK = threading.Lock()


def _diagnosis(stderr):
    """Why bwrap failed, and what to do about it, from its error message and the kernel's settings."""
    def setting(path):
        try:
            with open(path) as f:
                return f.read().strip()
        except OSError:
            return None

    message = f"bubblewrap at {BWRAP} could not start a sandbox: {stderr.strip()[-600:] or 'no message'}"
    if "Unknown option" in stderr:
        return message + ". This bubblewrap is too old: version 0.8.0 or newer is needed (apt-get install bubblewrap)."
    hints = []
    if setting("/proc/sys/kernel/unprivileged_userns_clone") == "0":
        hints.append("sysctl -w kernel.unprivileged_userns_clone=1")
    if setting("/proc/sys/user/max_user_namespaces") == "0":
        hints.append("sysctl -w user.max_user_namespaces=15000")
    if setting("/proc/sys/kernel/apparmor_restrict_unprivileged_userns") == "1":
        hints.append("sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (or an AppArmor profile for bwrap)")
    if hints:
        return message + ". Unprivileged user namespaces are disabled; enable them with: " + "; ".join(hints) + "."
    if any(s in stderr for s in ("namespace", "uid map", "Operation not permitted", "Permission denied")):
        return (message + ". Unprivileged user namespaces seem to be blocked: check the sysctls "
                "kernel.unprivileged_userns_clone, user.max_user_namespaces and "
                "kernel.apparmor_restrict_unprivileged_userns; in a container, allow unshare/clone of "
                "namespaces (e.g. docker run --security-opt seccomp=unconfined --security-opt apparmor=unconfined).")
    return message + "."


def ensure_available():
    """Raise SandboxUnavailable unless a trivial sandboxed command runs here (checked once per bwrap and uid)."""
    key = (BWRAP, os.geteuid())
    with _AVAILABLE_LOCK:
        if key in _AVAILABLE:
            return
        if not (os.path.isfile(BWRAP) and os.access(BWRAP, os.X_OK)):
            raise SandboxUnavailable(f"bubblewrap is not installed: there is no executable {BWRAP}. Install it "
                                     f"with `apt-get install bubblewrap` (Debian, Ubuntu), or set "
                                     f"COURSE_SANDBOX_BWRAP to its path.")
        try:
            result = _run([sys.executable, "-I", "-S", "-c", "pass"], timeout=60)
        except subprocess.TimeoutExpired:
            raise SandboxUnavailable(f"bubblewrap at {BWRAP} did not start a sandbox within 60 s") from None
        if result.returncode != 0:
            raise SandboxUnavailable(_diagnosis(result.stderr.decode(errors="replace")))
        _AVAILABLE.add(key)


# ---------------------------------------------------------------------------------------------------------------
# Kernels.

def _new_kernel_folder():
    """A new private folder (for a kernelspec, or a host's channels), short enough for the kernels' socket paths."""
    import tempfile

    folder = tempfile.mkdtemp(prefix="course-sandbox-")
    # A Unix socket path has at most 107 bytes: FOLDER/channels/kernel-12345 must fit.
    if len(folder) > 70:
        os.rmdir(folder)
        folder = tempfile.mkdtemp(prefix="course-sandbox-", dir="/tmp")
    return folder


def _sandbox_pid(info_r):
    """The host pid of the sandbox's init, from bwrap's --info-fd (None if bwrap failed first)."""
    info = b""
    with os.fdopen(info_r, "rb") as stream:
        while True:  # bwrap writes {"child-pid": ...} once the sandbox exists, and keeps the pipe open
            chunk = stream.read1(4096)
            info += chunk
            with contextlib.suppress(ValueError):
                return json.loads(info)["child-pid"]
            if not chunk:
                return None


def _pin_sockets(connection, root_pid, alive, timeout=120):
    """Give the grader a path to each of the kernel's sockets that the sandbox cannot redirect: [(link, fd)] once
    done (close the fds and remove the links when the kernel has ended), None when the kernel died first, or a
    socket's place holds something else.

    The kernel binds ipc://IP-PORT in its sandbox's own tmpfs. This process opens each socket file there as soon
    as it exists (through /proc/ROOT_PID/root, O_PATH, without following a link, checking that it is a socket)
    and keeps it open; IP-PORT in the grader's channel folder becomes a link to /proc/THIS_PID/fd/N, that very
    socket. A kernel that later puts a link in its socket's place cannot send the grader's connections (ZeroMQ
    reconnects by path) anywhere else. Until the links exist nothing reaches the kernel (ZeroMQ retries), so no
    student code runs before.
    """
    import time

    paths = [f"{connection['ip']}-{connection[name + '_port']}" for name in ("shell", "iopub", "stdin", "control",
                                                                                "hb")]
    pinned = {}
    deadline = time.monotonic() + timeout
    try:
        while len(pinned) < len(paths) and time.monotonic() < deadline:
            for path in (p for p in paths if p not in pinned):
                with contextlib.suppress(FileNotFoundError):
                    fd = os.open(f"/proc/{root_pid}/root{path}", os.O_PATH | os.O_NOFOLLOW)
                    if not stat.S_ISSOCK(os.fstat(fd).st_mode):
                        os.close(fd)
                        raise _NotASocket(path)
                    pinned[path] = fd
            if len(pinned) < len(paths):
                if not alive():
                    break
                time.sleep(0.005)
    except _NotASocket:
        pass
    if len(pinned) < len(paths):
        for fd in pinned.values():
            os.close(fd)
        return None
    links = []
    for path, fd in pinned.items():
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        os.symlink(f"/proc/{os.getpid()}/fd/{fd}", path)
        links.append((path, fd))
    return links


class _NotASocket(Exception):
    pass


def main(argv=None):
    """`python -m course.sandbox check`: say whether the sandbox works here (exit 1 with the reason if not)."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["launch"]:
        _launch_cli(argv[1])
    if argv[:1] != ["check"]:
        print("usage: python -m course.sandbox check", file=sys.stderr)
        return 2
    try:
        ensure_available()
    except SandboxUnavailable as exc:
        print(f"sandbox unavailable: {exc}", file=sys.stderr)
        return 1
    as_who = (f"host uid {HOST_UID_BASE}+slot" if os.geteuid() == 0 else f"the grader's uid {os.getuid()}")
    print(f"sandbox works: {BWRAP} runs student code as uid {SANDBOX_UID} inside ({as_who} outside), no network, "
          f"read-only {', '.join(readonly_paths())}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
