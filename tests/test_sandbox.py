"""The OS sandbox (course.sandbox): what student code can and cannot reach, in one-shot processes and in kernels.

Every test runs real sandboxes; they skip, saying why, only where bubblewrap cannot run.
"""

import dataclasses
import fcntl
import io
import json
import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

import reg_utils
import testCases
from course import sandbox
from course.sandbox import Limits, SandboxUnavailable, run_sandboxed
from course.sandbox_host import sandboxed_kernels

ROOT = Path(__file__).resolve().parents[1]
#: The fork bomb gets a slot of its own: it exhausts its slot's process quota for a moment.
FORK_BOMB_SLOT = sandbox.MAX_SLOTS - 1


#: Tests that run real sandboxes; the others (arguments, messages, the missing-bwrap path) run everywhere.
needs_sandbox = pytest.mark.usefixtures("sandbox_available")


def inside(code, **kwargs):
    """Run Python code in a new sandbox; return its stdout (it must exit with 0)."""
    result = run_sandboxed([sys.executable, "-c", textwrap.dedent(code)], **kwargs)
    assert result.returncode == 0, result.stderr.decode(errors="replace")
    return result.stdout.decode()


@needs_sandbox
def test_instructor_package_cannot_be_imported_inside():
    assert "course" in sys.modules  # outside, it is
    out = inside("""
        try:
            import course
            print("imported", course.__file__)
        except ImportError as exc:
            print(type(exc).__name__)
    """)
    assert out.strip() == "ModuleNotFoundError"


@needs_sandbox
def test_student_helper_packages_are_importable_inside():
    out = inside("import reg_utils, testCases; print(reg_utils.__file__, testCases.__file__)")
    assert out.split() == [reg_utils.__file__, testCases.__file__]


@needs_sandbox
def test_repository_shows_only_the_helper_packages_and_the_venv():
    out = inside(f"import os; print(sorted(os.listdir({str(ROOT)!r})))")
    assert set(eval(out)) <= {"reg_utils", "testCases", ".venv"}


@needs_sandbox
def test_source_notebooks_and_repository_files_cannot_be_read():
    targets = [p for p in ROOT.iterdir() if p.name not in ("reg_utils", "testCases", ".venv", ".git")]
    targets += [ROOT / ".git" / "HEAD", ROOT / "course" / "verify.py"]
    targets += list((ROOT / "notebooks" / "source").rglob("*.ipynb"))
    assert any(p.suffix == ".ipynb" for p in targets) and (ROOT / "README.md") in targets
    derived = [os.path.join(os.path.dirname(reg_utils.__file__), "..", os.path.relpath(p, ROOT)) for p in targets]
    relative = [os.path.relpath(p, sandbox.SCRATCH) for p in targets]
    paths = [str(p) for p in targets] + derived + relative
    out = inside(f"""
        import os
        readable = []
        for path in {paths!r}:
            try:
                with open(path, "rb") as f:
                    f.read(1)
                readable.append(path)
            except OSError:
                pass
        print(repr(readable))
    """)
    assert eval(out) == []


@needs_sandbox
def test_site_packages_and_helper_packages_are_read_only():
    site = next(p for p in sys.path if p.endswith("site-packages"))
    out = inside(f"""
        import errno
        for folder in ({site!r}, {os.path.dirname(reg_utils.__file__)!r}):
            try:
                open(folder + "/planted.pth", "w").write("import os")
                print("written")
            except OSError as exc:
                print(errno.errorcode[exc.errno])
    """)
    assert out.split() == ["EROFS", "EROFS"]


@needs_sandbox
def test_root_and_dev_of_the_sandbox_are_read_only():
    out = inside("""
        import errno
        for path in ("/planted", "/dev/planted", "/work/planted"):
            try:
                open(path, "w")
                print("written")
            except OSError as exc:
                print(errno.errorcode[exc.errno])
    """)
    assert set(out.split()) <= {"EROFS", "ENOENT", "EACCES"}


@needs_sandbox
def test_scratch_holds_writable_copies_of_the_given_files():
    result = run_sandboxed([sys.executable, "-c", textwrap.dedent("""
        import os
        data = open("data/in.txt").read()
        open("data/in.txt", "a").write(" again")
        open("out.txt", "w").write(os.getcwd() + ":" + data)
    """)], files={"data/in.txt": b"hello"}, collect=["out.txt", "data/in.txt"])
    assert result.returncode == 0, result.stderr
    assert result.files == {"out.txt": b"/scratch:hello", "data/in.txt": b"hello again"}


@needs_sandbox
def test_collected_files_are_only_regular_files():
    result = run_sandboxed([sys.executable, "-c", "import os; os.symlink('/usr/lib/os-release', 'link'); "
                            "os.mkfifo('fifo')"], collect=["link", "fifo", "missing"])
    assert result.returncode == 0 and result.files == {}


@needs_sandbox
def test_a_1_gib_file_cannot_be_written():
    out = inside("""
        import errno
        block = bytes(1 << 20)
        written = 0
        try:
            with open("big", "wb") as f:
                for _ in range(1024):
                    written += f.write(block)
                    f.flush()
        except OSError as exc:
            print(errno.errorcode[exc.errno], written >> 20)
    """)
    code, mib = out.split()
    assert code == "EFBIG" and int(mib) <= Limits().file_size >> 20


@needs_sandbox
def test_scratch_is_size_limited():
    limits = Limits(scratch_size=8 * 1024 ** 2)
    out = inside("""
        import errno
        try:
            for i in range(4):
                open(f"part{i}", "wb").write(bytes(3 << 20))
        except OSError as exc:
            print(errno.errorcode[exc.errno], i)
    """, limits=limits)
    assert out.split() == ["ENOSPC", "2"]


@needs_sandbox
def test_no_tcp_connection_to_a_host_loopback_listener():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        listener.setblocking(False)
        port = listener.getsockname()[1]
        out = inside(f"""
            import socket
            try:
                socket.create_connection(("127.0.0.1", {port}), timeout=2)
                print("connected")
            except OSError as exc:
                print(type(exc).__name__)
        """)
        with pytest.raises(BlockingIOError):
            listener.accept()
    assert out.strip() in ("ConnectionRefusedError", "TimeoutError", "OSError")


@needs_sandbox
def test_host_unix_sockets_are_not_visible():
    out = inside("import os; print(os.path.exists('/var/run/postgresql'), os.path.exists('/run'), "
                 "os.path.exists('/var'))")
    assert out.split() == ["False", "False", "False"]


@needs_sandbox
def test_runs_unprivileged_without_capabilities():
    out = inside("""
        import os
        status = dict(line.split(":", 1) for line in open("/proc/self/status"))
        print(os.getuid(), os.getgid(), int(status["CapEff"], 16), int(status["CapBnd"], 16),
              status["NoNewPrivs"].strip())
    """)
    assert out.split() == ["65534", "65534", "0", "0", "1"]


@needs_sandbox
def test_no_new_user_namespace_can_be_made_inside():
    out = inside("""
        import ctypes, errno
        libc = ctypes.CDLL(None, use_errno=True)
        print(libc.unshare(0x10000000), errno.errorcode[ctypes.get_errno()])  # CLONE_NEWUSER
    """)
    assert out.split()[0] == "-1"


def _processes_with(marker):
    """{pid: /proc/pid/status text} of the host's processes whose command line holds marker."""
    found = {}
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and marker.encode() in Path(f"/proc/{entry}/cmdline").read_bytes():
                found[entry] = Path(f"/proc/{entry}/status").read_text()
        except OSError:
            pass
    return found


@needs_sandbox
def test_runs_as_the_slot_uid_on_the_host():
    import threading

    marker = f"0.5{uuid.uuid4().int % 10 ** 9}"
    slot = 3
    runner = threading.Thread(target=run_sandboxed, args=(["sleep", marker],), kwargs={"slot": slot})
    runner.start()
    sleeping = {}
    for _ in range(100):
        sleeping = {pid: s for pid, s in _processes_with(marker).items() if s.startswith("Name:\tsleep\n")}
        if sleeping:
            break
        time.sleep(0.02)
    runner.join()
    uids = {status.split("Uid:")[1].split()[0] for status in sleeping.values()}
    assert uids == {str(sandbox.HOST_UID_BASE + slot if os.geteuid() == 0 else os.getuid())}


@needs_sandbox
def test_a_fork_bomb_is_stopped_by_the_process_limit():
    limits = Limits(processes=32)
    out = inside("""
        import os, time
        main = os.getpid()
        refused = 0
        end = time.monotonic() + 1.5
        while time.monotonic() < end:
            try:
                os.fork()
            except OSError:
                refused += 1
                time.sleep(0.01)
        if os.getpid() == main:
            print(refused > 0, sum(entry.isdigit() for entry in os.listdir("/proc")), flush=True)
        os._exit(0)
    """, limits=limits, slot=FORK_BOMB_SLOT)
    refused, processes = out.split()
    assert refused == "True" and int(processes) <= limits.processes
    assert subprocess.run(["true"]).returncode == 0  # and the grader can still start processes


def _left_after_a_moment(marker, seconds=2.5):
    """The processes whose command line holds marker, once they are gone or the seconds have passed."""
    deadline = time.monotonic() + seconds
    while _processes_with(marker) and time.monotonic() < deadline:
        time.sleep(0.05)
    return _processes_with(marker)


@needs_sandbox
def test_a_background_process_dies_with_the_sandbox():
    marker = f"1000.{uuid.uuid4().int % 10 ** 9}"
    out = inside(f"""
        import subprocess, time
        child = subprocess.Popen(["sleep", {marker!r}], start_new_session=True)
        time.sleep(0.2)
        print(open(f"/proc/{{child.pid}}/cmdline").read().split("\\0")[1])
    """)
    assert out.strip() == marker  # it was running when the main process exited

    assert _left_after_a_moment(marker) == {}


@needs_sandbox
def test_a_timeout_kills_the_sandbox():
    marker = f"30.{uuid.uuid4().int % 10 ** 9}"
    start = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired):
        run_sandboxed(["sleep", marker], timeout=1)
    assert time.monotonic() - start < 5
    assert _left_after_a_moment(marker) == {}


@needs_sandbox
def test_the_verification_runner_reads_spec_and_inputs_and_returns_outputs():
    spec = {"function": "double", "source": "def double(x):\n    print('noise')\n    return 2 * x\n",
            "calls": [{"args": ["@x"]}]}
    inputs = _npz(x=np.arange(3.0))
    result = run_sandboxed([sys.executable, "-I", sandbox.CLEAN_RUN, sandbox.SCRATCH],
                           files={"spec.json": json.dumps(spec).encode(), "inputs.npz": inputs},
                           collect=["outputs.npz", "status.json"], limits=Limits(cpu_seconds=10),
                           env={"OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}, timeout=30)
    assert result.returncode == 0, result.stderr.decode()
    assert json.loads(result.files["status.json"]) == [{"ok": True, "keys": ["value"]}]
    with np.load(io.BytesIO(result.files["outputs.npz"]), allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["c0__value"], [0.0, 2.0, 4.0])


def test_file_names_must_stay_inside_the_scratch_folder():
    for name in ("../escape", "/etc/passwd", "a/../../b", ""):
        with pytest.raises(ValueError, match="relative paths inside the scratch folder"):
            run_sandboxed(["true"], files={name: b""})


def test_limits_name_the_bad_value():
    with pytest.raises(ValueError, match="Limits.processes must be a positive integer"):
        Limits(processes=0)
    assert dataclasses.replace(Limits(), cpu_seconds=10).cpu_seconds == 10


def test_an_installed_instructor_package_would_be_covered():
    venv = "/opt/venv"
    assert sandbox.masked_paths([venv, "/usr"], [f"{venv}/lib/python3.11/site-packages/course"]) == \
        [f"{venv}/lib/python3.11/site-packages/course"]
    assert sandbox.masked_paths([venv, "/usr"], [str(ROOT / "course")]) == []


def test_ensure_available_says_how_to_install_a_missing_bwrap(monkeypatch):
    monkeypatch.setattr(sandbox, "BWRAP", "/nonexistent/bwrap")
    with pytest.raises(SandboxUnavailable, match=r"no executable /nonexistent/bwrap.*apt-get install bubblewrap"):
        sandbox.ensure_available()


def test_ensure_available_explains_blocked_user_namespaces(monkeypatch):
    import stat
    import tempfile

    folder = tempfile.mkdtemp()  # a bwrap that fails as on a machine without unprivileged user namespaces
    try:
        fake = Path(folder) / "bwrap"
        fake.write_text("#!/bin/sh\necho 'bwrap: No permissions to create new namespace' >&2\nexit 1\n")
        fake.chmod(stat.S_IRWXU | stat.S_IRGRP | stat.S_IXGRP | stat.S_IROTH | stat.S_IXOTH)
        os.chmod(folder, 0o755)
        monkeypatch.setattr(sandbox, "BWRAP", str(fake))
        with pytest.raises(SandboxUnavailable, match=r"No permissions to create new namespace.*user namespaces.*"
                                                     r"kernel\.unprivileged_userns_clone"):
            sandbox.ensure_available()
    finally:
        fake.unlink()
        os.rmdir(folder)


def test_check_command_reports_a_missing_bwrap():
    env = dict(os.environ, COURSE_SANDBOX_BWRAP="/nonexistent/bwrap")
    result = subprocess.run([sys.executable, "-m", "course.sandbox", "check"], env=env, capture_output=True,
                            text=True)
    assert result.returncode == 1 and "apt-get install bubblewrap" in result.stderr


@needs_sandbox
def test_check_command_reports_a_working_sandbox():
    result = subprocess.run([sys.executable, "-m", "course.sandbox", "check"], capture_output=True, text=True)
    assert result.returncode == 0 and result.stdout.startswith("sandbox works"), result.stderr


# ---------------------------------------------------------------------------------------------------------------
# Kernels: one notebook, executed once by nbclient through sandboxed_kernels, read by the tests below.

CELLS = {
    "uid": "import os; print(os.getuid())",
    "host_file": f"""
try:
    open({__file__!r}).read()
    print("read")
except OSError as exc:
    print(type(exc).__name__)""",
    "scratch": "import os; print(os.getcwd(), sorted(os.listdir('.')))",
    "fonts": """
import io, logging
log = io.StringIO()
logger = logging.getLogger("matplotlib.font_manager")
logger.addHandler(logging.StreamHandler(log))
logger.setLevel(logging.INFO)
import matplotlib.pyplot
print("rebuilt" if "generated new fontManager" in log.getvalue() else "read from the cache")""",
    "channel": "",  # writes into the channel folder; filled in with its path
    "redirect": "",  # puts links to a host socket in place of the kernel's sockets; filled in
    "loop": "while True:\n    pass",
    "after": "print('still alive')",
}


@pytest.fixture(scope="module")
def kernel_run(sandbox_available, tmp_path_factory):
    config = Config()
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    decoy_path = str(tmp_path_factory.mktemp("decoy") / "decoy.sock")
    with sandboxed_kernels(config, files={"Tiny.ipynb": b"{}"}) as kernels, \
            socket.socket(socket.AF_UNIX) as decoy:
        decoy.bind(decoy_path)
        decoy.listen()
        decoy.setblocking(False)
        channel = kernels.channel_dir
        cells = dict(CELLS, channel=f"open({channel + '/planted'!r}, 'w').write('x'); print('written')",
                     redirect=f"import os\nfor name in os.listdir({channel!r}):\n    if name.startswith('kernel-'):\n"
                              f"        os.unlink({channel!r} + '/' + name)\n"
                              f"        os.symlink({decoy_path!r}, {channel!r} + '/' + name)")
        nb.cells = [nbformat.v4.new_code_cell(source) for source in cells.values()]
        # nbgrader's Execute preprocessor builds its NotebookClient from the same config, with these two options
        client = NotebookClient(nb, config=config, timeout=3, interrupt_on_timeout=True, allow_errors=True)
        with client.setup_kernel():
            for index, cell in enumerate(nb.cells):
                client.execute_cell(cell, index)
            links = sorted(Path(channel).glob("kernel-*"))
            reconnects = [_connects(link) for link in links]
            try:
                decoy.accept()[0].close()
                decoy_reached = True
            except BlockingIOError:
                decoy_reached = False
        planted = os.path.exists(os.path.join(channel, "planted"))
        settings = (config.NotebookClient.kernel_name, config.KernelManager.transport, os.environ["JUPYTER_PATH"])
    outputs = {name: cell.outputs for name, cell in zip(cells, nb.cells)}
    return {"outputs": outputs, "planted": planted, "kernels": kernels, "settings": settings, "config": config,
            "reconnects": reconnects, "decoy_reached": decoy_reached}


def _connects(path):
    """Whether a new Unix-socket connection to path succeeds."""
    with socket.socket(socket.AF_UNIX) as probe:
        try:
            probe.connect(str(path))
            return True
        except OSError:
            return False


def _text(outputs):
    return "".join(o.get("text", "") for o in outputs if o.output_type == "stream")


def test_kernel_runs_as_the_sandbox_user(kernel_run):
    assert _text(kernel_run["outputs"]["uid"]).strip() == str(sandbox.SANDBOX_UID)


def test_kernel_cannot_read_a_host_file(kernel_run):
    assert _text(kernel_run["outputs"]["host_file"]).strip() == "FileNotFoundError"


def test_kernel_works_in_scratch_with_the_given_files(kernel_run):
    assert _text(kernel_run["outputs"]["scratch"]).strip() == "/scratch ['Tiny.ipynb']"


def test_kernel_finds_the_graders_font_list_and_builds_none(kernel_run):
    # A sandbox's matplotlib cache starts empty: without the grader's font list, the first pyplot import in every
    # kernel would scan the fonts again (sandbox.matplotlib_font_cache).
    assert sandbox.matplotlib_font_cache(sandbox.host_view()) is not None
    assert _text(kernel_run["outputs"]["fonts"]).strip() == "read from the cache"


def test_kernel_cannot_write_to_the_host_channel_folder(kernel_run):
    # Inside, the channel folder is a tmpfs of the sandbox's own: the write succeeds there and never reaches here.
    assert _text(kernel_run["outputs"]["channel"]).strip() == "written"
    assert not kernel_run["planted"]


def test_kernel_cannot_redirect_the_graders_connections(kernel_run):
    # The kernel replaced its five socket files with links to a host socket (the decoy, which saw no connection):
    # new connections still reach the kernel's own sockets.
    assert kernel_run["reconnects"] == [True] * 5 and not kernel_run["decoy_reached"]


def test_a_cell_that_loops_forever_is_interrupted_by_message(kernel_run):
    errors = [o.ename for o in kernel_run["outputs"]["loop"] if o.output_type == "error"]
    assert errors == ["KeyboardInterrupt"]
    assert _text(kernel_run["outputs"]["after"]).strip() == "still alive"


def test_sandboxed_kernels_sets_the_config_and_undoes_it(kernel_run):
    kernel_name, transport, jupyter_path = kernel_run["settings"]
    assert kernel_name == kernel_run["kernels"].kernel_name and transport == "ipc"
    assert jupyter_path.split(os.pathsep)[0] == kernel_run["kernels"].folder
    config = kernel_run["config"]
    assert "kernel_name" not in config.NotebookClient and "transport" not in config.KernelManager
    assert kernel_run["kernels"].folder not in os.environ.get("JUPYTER_PATH", "")
    assert not os.path.exists(kernel_run["kernels"].folder)


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


@needs_sandbox
def test_nbgrader_autograde_runs_its_kernel_in_the_sandbox(tmp_path, monkeypatch):
    from nbgrader.api import Gradebook
    from nbgrader.apps import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    monkeypatch.setenv("PATH", os.pathsep.join([os.path.dirname(sys.executable), os.environ["PATH"]]))
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    check = nbformat.v4.new_code_cell(
        f"import os\nassert os.getuid() == {sandbox.SANDBOX_UID}\nassert not os.path.exists({str(ROOT)!r} + '/course')")
    check.metadata.nbgrader = {"grade": True, "solution": False, "locked": True, "grade_id": "in_sandbox",
                               "points": 1, "schema_version": 3}
    nb.cells = [check]
    (tmp_path / "source" / "ps1").mkdir(parents=True)
    nbformat.write(nb, tmp_path / "source" / "ps1" / "ps1.ipynb")
    config = Config()
    config.CourseDirectory.root = str(tmp_path)
    config.CourseDirectory.db_url = f"sqlite:///{tmp_path / 'gradebook.db'}"
    api = NbGraderAPI(coursedir=CourseDirectory(config=config), config=config)
    assert api.generate_assignment("ps1", force=True)["success"]
    submitted = tmp_path / "submitted" / "student" / "ps1"
    submitted.mkdir(parents=True)
    notebook = (tmp_path / "release" / "ps1" / "ps1.ipynb").read_bytes()
    (submitted / "ps1.ipynb").write_bytes(notebook)
    with sandboxed_kernels(api.config, files={"ps1.ipynb": notebook}, slot=2):
        outcome = api.autograde("ps1", "student", force=True, create=True)
    assert outcome["success"], outcome.get("error")
    with Gradebook(config.CourseDirectory.db_url) as gb:
        assert gb.find_submission("ps1", "student").score == 1


GRADER = """
import sys
from jupyter_client import KernelManager
from traitlets.config import Config
from course.sandbox_host import sandboxed_kernels

config = Config()
with sandboxed_kernels(config) as kernels:
    print(kernels.folder, flush=True)
    manager = KernelManager(kernel_name=kernels.kernel_name, config=config)
    manager.start_kernel()
    client = manager.blocking_client()
    client.start_channels()
    client.wait_for_ready(timeout=60)
    client.execute_interactive(f"import subprocess; _ = subprocess.Popen(['sleep', {sys.argv[1]!r}])",
                               timeout=30, output_hook=lambda message: None)
    print("ready", flush=True)
    sys.stdin.read()
"""


@needs_sandbox
def test_a_kernel_dies_with_its_grader():
    import signal

    marker = f"1000.{uuid.uuid4().int % 10 ** 9}"
    grader = subprocess.Popen([sys.executable, "-c", GRADER, marker], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, text=True)
    try:
        folder = grader.stdout.readline().strip()
        assert grader.stdout.readline().strip() == "ready"
        assert any(s.startswith("Name:\tsleep\n") for s in _processes_with(marker).values())
        os.kill(grader.pid, signal.SIGKILL)  # no clean-up runs: the launcher notices its parent is gone
        grader.wait()
        for _ in range(60):
            if not _processes_with(marker):
                break
            time.sleep(0.1)
        assert _processes_with(marker) == {}
    finally:
        grader.kill()
        grader.wait()
        if folder.startswith(("/tmp/", os.path.realpath(os.environ.get("TMPDIR", "/tmp")))):
            import shutil

            shutil.rmtree(folder, ignore_errors=True)


def test_read_only_folders_under_tmp_are_bound_on_top_of_the_sandboxes_tmp():
    """A venv or a repository cloned under /tmp stays visible: /tmp's tmpfs is mounted before the binds."""
    args = sandbox._bwrap_command(["true"], view={"readonly": ["/tmp/some-clone/.venv"], "masks": []},
                                  limits=Limits(), env={})
    tmpfs_at = next(i for i, a in enumerate(args) if a == "--tmpfs" and args[i + 1] == "/tmp")
    bind_at = next(i for i, a in enumerate(args) if a == "--ro-bind" and args[i + 1] == "/tmp/some-clone/.venv")
    assert tmpfs_at < bind_at


def test_grading_processes_claim_slots_no_other_live_process_holds_and_a_dead_ones_slot_is_free_again():
    """Slots are host uids, shared by the whole machine: two grading runs at once (two pytest workers, two
    instructors' `make autograde`) must never share one, or their kernels share one process quota."""
    import multiprocessing

    claim = "from course.sandbox import claim_slot; import sys, time; print(claim_slot(), flush=True); time.sleep(60)"
    holders = [subprocess.Popen([sys.executable, "-c", claim], stdout=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        slots = [int(p.stdout.readline()) for p in holders]
        assert len(set(slots)) == 3 and all(0 < s < sandbox.MAX_SLOTS - 1 for s in slots)
        assert sandbox.claim_slot() not in slots and sandbox.claim_slot() == sandbox.claim_slot()
        holders[0].kill()
        holders[0].wait()
        with open(os.path.join(sandbox.SLOT_LOCKS, f"slot-{slots[0]}.lock")) as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # raises BlockingIOError while the slot is held
            fcntl.flock(lock, fcntl.LOCK_UN)
        with multiprocessing.get_context("fork").Pool(1) as pool:  # a forked child does not keep its parent's slot
            assert pool.apply(sandbox.claim_slot) not in {sandbox.claim_slot(), *slots[1:]}
    finally:
        for p in holders:
            p.kill()
            p.wait()
