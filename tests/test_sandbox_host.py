"""A grading worker's long-lived sandbox (course/sandbox_host.py, course/zygote.py) serves submission after
submission, and nothing of one reaches the next: no process, no file, no byte of its notebook in the memory the
next kernel starts from; a student who kills or stops the sandbox's parent loses only that kernel, and the next
one runs in a new sandbox.

Every test runs real kernels in a real sandbox, and skips, saying why, where bubblewrap cannot run.
"""

import os
import secrets
import signal
import time

import nbformat
import pytest
from nbclient import NotebookClient
from traitlets.config import Config

from course import sandbox, sandbox_host, worker
from course.notebooks import stream_text
from course.sandbox_host import sandboxed_kernels
from reg_utils.mlp import THREAD_CAP_VARIABLES

pytestmark = pytest.mark.usefixtures("sandbox_available")

#: A slot of these tests' own: their hosts never meet another test's.
SLOT = 7


def run_cells(*sources, files=None, slot=SLOT, timeout=20):
    """Execute cells in one sandboxed kernel of the slot's host; (outputs per cell, the host it ran in)."""
    config = Config()
    nb = nbformat.v4.new_notebook()
    nb.metadata.kernelspec = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    with sandboxed_kernels(config, files=files or {}, slot=slot):
        host = sandbox_host.host_for(slot)
        client = NotebookClient(nb, config=config, timeout=timeout, allow_errors=True)
        try:
            client.execute()
        except Exception as exc:  # noqa: BLE001 -- a dead kernel is an outcome these tests look at
            return [repr(exc)], host
    return ["".join(o.get("text", "") for o in cell.outputs if o.output_type == "stream").strip()
            for cell in nb.cells], host


def test_kernels_of_one_host_start_from_the_same_pre_imported_parent():
    first, host = run_cells("import os; print(os.getppid())", "import sys; print('numpy' in sys.modules)")
    second, same = run_cells("import os; print(os.getppid())")
    assert same is host and first[0] == second[0] and first[1] == "True"


def test_a_kernel_starts_with_matplotlib_warmed_up_and_no_figure_of_its_parent():
    """The zygote built one figure before forking (contourpy, matplotlib's contour generator, is imported only by
    a first contour plot), outside pyplot: a kernel's first figure is still number 1, as in JupyterLab."""
    out, _ = run_cells("import sys, matplotlib.pyplot as plt\n"
                       "print(plt.get_fignums(), 'contourpy' in sys.modules)",
                       "print(plt.figure().number)")
    assert out == ["[] True", "1"]


@pytest.mark.parametrize("threads", [1, 2])
def test_a_kernels_blas_uses_the_threads_its_worker_was_given(threads, monkeypatch):
    """The zygote imports NumPy before it forks, so the BLAS threads of every kernel are fixed when its host starts,
    from the worker's environment (course.worker sets it from the run's Context.blas_threads)."""
    for name in THREAD_CAP_VARIABLES:
        monkeypatch.setenv(name, str(threads))
    out, _ = run_cells("import numpy, threadpoolctl\n"
                       "print(sorted({p['num_threads'] for p in threadpoolctl.threadpool_info()\n"
                       "              if p['internal_api'] == 'openblas'}))")
    assert out == [str([threads])]


def test_every_backend_gives_a_kernel_the_same_share_of_the_cores():
    """The process pool and a LocalCluster share this machine's cores among their workers alike; a remote Dask
    worker gets one thread, as its nanny would give it."""
    assert worker.blas_threads_per_kernel(1, None, cores=2) == worker.blas_threads_per_kernel(1, "local", cores=2) == 2
    assert worker.blas_threads_per_kernel(2, None, cores=2) == worker.blas_threads_per_kernel(2, "local", cores=2) == 1
    assert worker.blas_threads_per_kernel(3, None, cores=2) == 1  # more workers than cores: still one each
    assert worker.blas_threads_per_kernel(2, None, cores=8) == 4
    assert worker.blas_threads_per_kernel(1, "tcp://scheduler:8786", cores=8) == 1


LEAVES_TRACES = r"""
import os, subprocess, time
subprocess.Popen(["sleep", "1000"], start_new_session=True)
if os.fork() == 0:
    os.setsid()
    while True:
        time.sleep(0.01)
for folder in ("/scratch", "/tmp", "/dev/shm"):
    with open(folder + "/left-behind", "w") as f:
        f.write("x")
os.makedirs("/tmp/locked/inner")
open("/tmp/locked/inner/file", "w").close()
os.chmod("/tmp/locked/inner", 0)
os.chmod("/tmp/locked", 0)
with open("/tmp/matplotlib/matplotlibrc", "w") as f:
    f.write("figure.dpi: 1\n")
print("left")
"""

LOOKS_FOR_TRACES = r"""
import os
mine = {os.getpid(), os.getppid(), 1}
others = sorted(int(p) for p in os.listdir("/proc") if p.isdigit() and int(p) not in mine)
found = [f for f in ("/scratch/left-behind", "/tmp/left-behind", "/dev/shm/left-behind", "/tmp/locked",
                     "/tmp/matplotlib/matplotlibrc") if os.path.lexists(f)]
print(others, found, sorted(os.listdir("/scratch")))
"""


def test_nothing_a_kernel_leaves_running_or_written_reaches_the_next_kernel():
    left, host = run_cells(LEAVES_TRACES)
    assert left == ["left"]
    seen, same = run_cells(LOOKS_FOR_TRACES, files={"Next.ipynb": b"{}"})
    assert same is host
    assert seen == ["[] [] ['Next.ipynb']"]


def _memory_holds(pid, needle):
    """Whether the memory of host process pid holds needle (its writable private mappings)."""
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", buffering=0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if fields[1].startswith("rw") and end - start < 1 << 30:
                try:
                    mem.seek(start)
                    if needle in mem.read(end - start):
                        return True
                except OSError:
                    continue
    return False


def _host_pids(host):
    """{pid inside the sandbox: pid on this machine} of the host's processes."""
    pids = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status") as f:
                ns = next(line.split()[1:] for line in f if line.startswith("NSpid:"))
        except (OSError, StopIteration):
            continue
        if len(ns) > 1 and _in_sandbox(int(entry), host.root_pid):
            pids[int(ns[-1])] = int(entry)
    return pids


def _in_sandbox(pid, root_pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/pid") == os.readlink(f"/proc/{root_pid}/ns/pid_for_children")
    except OSError:
        return False


def test_no_byte_of_a_notebook_stays_in_the_memory_the_next_kernel_starts_from():
    if os.geteuid() != 0:
        pytest.skip("reading the sandbox's memory from outside needs root here")
    secret = f"classmate-{secrets.token_hex(16)}".encode()
    notebook = b'{"solution": "' + secret + b'"}'
    reads, host = run_cells("import os\nprint(len(open('Secret.ipynb', 'rb').read()), os.getppid())",
                            files={"Secret.ipynb": notebook})
    size, zygote_inside = reads[0].split()
    assert size == str(len(notebook))
    # The kernel has ended; the zygote every later kernel is forked from is as it was:
    assert not _memory_holds(_host_pids(host)[int(zygote_inside)], secret), \
        "the zygote holds a student's notebook: every later kernel would start with it"


def test_the_zygotes_memory_does_hold_what_it_was_asked_to_keep():
    """The memory check above can see: a kernel that read the secret holds it while it runs."""
    if os.geteuid() != 0:
        pytest.skip("reading the sandbox's memory from outside needs root here")
    secret = f"own-{secrets.token_hex(16)}".encode()
    config = Config()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("import os; data = open('Secret.ipynb', 'rb').read(); print(os.getpid())")]
    with sandboxed_kernels(config, files={"Secret.ipynb": secret}, slot=SLOT):
        host = sandbox_host.host_for(SLOT)
        client = NotebookClient(nb, config=config, timeout=20)
        with client.setup_kernel():
            client.execute_cell(nb.cells[0], 0)
            inside = int(stream_text(nb.cells[0]).strip())
            assert _memory_holds(_host_pids(host)[inside], secret)


@pytest.mark.parametrize("attack", ["SIGKILL", "SIGSTOP"])
def test_a_kernel_that_kills_or_stops_the_zygote_loses_only_itself(attack, monkeypatch):
    monkeypatch.setattr(sandbox_host, "POLL_TIMEOUT", 2)
    monkeypatch.setattr(sandbox_host, "REPLY_TIMEOUT", 4)
    _, host = run_cells("print('warm')")
    outcome, same = run_cells(f"import os, signal, time\nos.kill(os.getppid(), signal.{attack})\ntime.sleep(3)",
                              "print('after')", timeout=8)
    assert same is host and "after" not in outcome
    deadline = time.monotonic() + 30
    while host.alive() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not host.alive(), "a stopped or killed zygote's sandbox must be ended"
    again, new = run_cells("print('fine')")
    assert new is not host and again == ["fine"]


def test_a_host_is_replaced_after_max_uses(monkeypatch):
    monkeypatch.setattr(sandbox_host, "MAX_USES", 1)
    _, first = run_cells("pass")
    _, second = run_cells("pass")
    assert second is not first and not first.alive()


def test_a_forked_process_leaves_its_parents_host_alone():
    """A process pool forks its workers from the grader: a worker starts a host of its own, and the parent's
    keeps working (the worker neither uses nor ends it)."""
    _, host = run_cells("print(1)")
    pid = os.fork()
    if pid == 0:
        code = 3
        try:
            inherited = bool(sandbox_host._HOSTS)
            own = sandbox_host.host_for(SLOT)
            code = 1 if inherited else 2 if own is host else 0
            own.stop()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    again, same = run_cells("print('still')")
    assert same is host and again == ["still"]


def test_the_zygote_refuses_to_run_outside_a_sandbox():
    import subprocess
    import sys

    zygote = os.path.join(os.path.dirname(sandbox.__file__), "zygote.py")
    result = subprocess.run([sys.executable, "-I", zygote, "0", "clean_run.py", "/tmp"], capture_output=True,
                            text=True, timeout=60)
    assert result.returncode != 0 and "refused" in result.stderr


def teardown_module():
    with sandbox_host._HOSTS_LOCK:
        current = sandbox_host._HOSTS.pop(SLOT, None)
    if current is not None:
        current[0].stop()
    signal.getsignal(signal.SIGINT)  # nothing else to restore
