"""What tests/test_browser.py needs to drive the course in a real browser: Debian's Chromium, a JupyterLab 4 server
on a free loopback port, and the few JupyterLab and nbgrader screens the tests click through.

Playwright drives the browser, but never downloads one: the tests use the Chromium the system provides (Debian's
package ``chromium``; .ci/run installs it).
"""

import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

#: Where to look for Chromium: $CHROMIUM first, then the names Debian and other distributions give it.
CHROMIUM_NAMES = ("chromium", "chromium-browser")
#: How to get one, said by the skip.
INSTALL_HINT = ("install Debian's package: apt-get install -y chromium (as root; .ci/run does it), or set CHROMIUM "
                "to a Chromium executable")

#: Chromium's flags: root needs --no-sandbox; the rest stop its calls home, which this machine's closed network
#: refuses (and which would otherwise slow every page).
CHROMIUM_ARGS = ("--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-dev-shm-usage")

#: JupyterLab user settings for the tests: every cell stays in the page (no windowing, so an output far down the
#: notebook can be read without scrolling to it first), and no news or update check reaches for the network.
LAB_SETTINGS = {
    "@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {"fetchNews": "false",
                                                                       "checkForUpdates": False},
}


def find_chromium():
    """The path of a Chromium executable, or None."""
    if os.environ.get("CHROMIUM"):
        return shutil.which(os.environ["CHROMIUM"])
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


class JupyterLab:
    """A JupyterLab server of this venv, started with a token on a free loopback port (port 0: the OS picks one, the
    server writes it to its runtime file), in a private Jupyter configuration under `state`.

    root_dir -- the folder the server shows
    cwd -- where it runs: nbgrader's server extensions read the course's nbgrader_config.py from there
    state -- a folder for its configuration, settings, runtime files and log
    kernel_env -- environment variables for its kernels only. They go into a kernel spec of its own, named python3
                  as the notebooks ask, not into the server's environment: nbgrader's Validate runs in the server
                  process and deletes NBGRADER_EXECUTION from that environment when it is done (nbgrader 0.9.6's
                  utils.setenv looks the previous value up under the new value's name, finds none, and deletes the
                  variable), so every kernel started after a validation would lose it.
    """

    def __init__(self, root_dir, cwd, state, kernel_env=()):
        self.root_dir, self.cwd, self.state = Path(root_dir), Path(cwd), Path(state)
        self.token = secrets.token_hex(16)
        self.kernel_env = dict(kernel_env)
        self.process = None
        self.port = None
        self.log_path = self.state / "server.log"

    def environment(self):
        """The server's environment: this venv's bin/ first on PATH (kernels start `python`), Agg for matplotlib,
        and every Jupyter folder under `state` (nothing read from or written to the user's own); no JUPYTER_* or
        NBGRADER_* variable of the caller's."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JUPYTER", "NBGRADER"))}
        env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
        env["MPLBACKEND"] = "Agg"
        for name in ("config", "data", "runtime", "settings", "workspaces", "ipython"):
            (self.state / name).mkdir(parents=True, exist_ok=True)
        env.update(JUPYTER_CONFIG_DIR=str(self.state / "config"), JUPYTER_DATA_DIR=str(self.state / "data"),
                   JUPYTER_RUNTIME_DIR=str(self.state / "runtime"), IPYTHONDIR=str(self.state / "ipython"),
                   JUPYTERLAB_SETTINGS_DIR=str(self.state / "settings"),
                   JUPYTERLAB_WORKSPACES_DIR=str(self.state / "workspaces"), JUPYTER_PLATFORM_DIRS="1",
                   # the data folder under `state` before the venv's: its python3 kernel spec is the one used
                   JUPYTER_PREFER_ENV_PATH="0")
        return env

    def write_kernel_spec(self):
        """The python3 kernel spec of this server: this venv's Python, with kernel_env (found before the venv's own
        spec: JUPYTER_PREFER_ENV_PATH=0 puts the data folder first on Jupyter's path)."""
        folder = self.state / "data" / "kernels" / "python3"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "kernel.json").write_text(json.dumps({
            "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": "Python 3 (ipykernel)", "language": "python", "env": self.kernel_env,
            "metadata": {"debugger": True}}))

    def start(self, timeout=60):
        """Start the server and wait until its API answers."""
        for name, settings in LAB_SETTINGS.items():
            path = self.state / "settings" / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(settings))
        env = self.environment()
        self.write_kernel_spec()
        jupyter = Path(sys.executable).parent / "jupyter"
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(
            [str(jupyter), "lab", "--no-browser", "--ServerApp.ip=127.0.0.1", "--ServerApp.port=0",
             f"--ServerApp.token={self.token}", f"--ServerApp.root_dir={self.root_dir}",
             "--ServerApp.allow_root=True", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            cwd=self.cwd, env=env, stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True,
            preexec_fn=end_with_parent)
        runtime = Path(env["JUPYTER_RUNTIME_DIR"])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"jupyter lab exited with {self.process.returncode}:\n{self.log_tail()}")
            info = runtime / f"jpserver-{self.process.pid}.json"
            if self.port is None and info.is_file():
                try:
                    self.port = json.loads(info.read_text())["port"]
                except (ValueError, KeyError):
                    pass  # written but not yet complete
            if self.port is not None:
                try:
                    self.api("status")
                except OSError:
                    pass
                else:
                    self._check_kernel_spec()
                    return self
            time.sleep(0.2)
        raise RuntimeError(f"jupyter lab did not answer within {timeout} s:\n{self.log_tail()}")

    def _check_kernel_spec(self):
        """Fail unless the server launches its kernels from this server's own python3 spec (with kernel_env)."""
        spec = self.api("kernelspecs")["kernelspecs"]["python3"]["spec"]
        if spec.get("env", {}) != self.kernel_env:
            self.stop()
            raise RuntimeError(f"the server's python3 kernel spec is not its own (env {spec.get('env')}, expected "
                               f"{self.kernel_env}): another kernel spec comes first on Jupyter's path")

    def stop(self):
        """Stop the server (and its kernels): SIGTERM to its process group, SIGKILL after 10 s."""
        if self.process is None:
            return
        stop_process_group(self.process)
        self.log.close()
        self.process = None

    def log_tail(self, lines=40):
        """The last lines of the server's log (for error messages)."""
        return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])

    def url(self, path=""):
        """The address of a page of the server (the token goes in the first page's address: JupyterLab then keeps
        it in a cookie)."""
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def api(self, path, method="GET"):
        """Call the server's REST API; return the decoded JSON (None for an empty answer)."""
        request = urllib.request.Request(self.url(f"api/{path}"), method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read()
        return json.loads(body) if body else None

    def end_sessions(self):
        """End every notebook's session and stop its kernel (a notebook that is done with frees its CPU)."""
        for session in self.api("sessions"):
            self.api(f"sessions/{session['id']}", method="DELETE")


# ---------------------------------------------------------------------------------------------------------------
# JupyterLab's and nbgrader's screens. Selectors are JupyterLab 4's own class names and the labels users read.

#: The notebook panel on show.
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"


def menu(page, *labels):
    """Click through the main menu bar: menu(page, "Run", "Run All Cells").

    Each item is hovered until the menu marks it active before it is clicked: Lumino's menus trigger the active
    item on mouse-up, and a click that lands before the menu has seen the pointer move onto an item does nothing."""
    page.locator(".lm-MenuBar-item", has=page.get_by_text(labels[0], exact=True)).first.click()
    for label in labels[1:]:
        item = page.locator(".lm-Menu-item", has=page.locator(".lm-Menu-itemLabel").get_by_text(label, exact=True))
        item.hover()
        page.locator(".lm-Menu-item.lm-mod-active", has=page.locator(".lm-Menu-itemLabel").get_by_text(
            label, exact=True)).wait_for(timeout=5_000)
        item.click()


def open_notebook(page, lab, path, timeout=60_000):
    """Open a notebook in a fresh JupyterLab workspace (`?reset`: no tab of an earlier step is restored) and wait
    until its kernel is idle; return the notebook panel."""
    page.goto(lab.url(f"lab/tree/{path}?reset&token={lab.token}"))
    panel = page.locator(PANEL)
    panel.locator(".jp-Cell").first.wait_for(timeout=timeout)
    wait_kernel_idle(page, timeout)
    return panel


def wait_kernel_idle(page, timeout=60_000):
    """Wait until the status bar says the kernel is idle (it says Starting, Connecting or Busy before), and so does
    the notebook's own indicator."""
    page.locator(".jp-StatusBar-Widget").get_by_text(re.compile(r"\| Idle$")).wait_for(timeout=timeout)
    page.locator(f"{PANEL} .jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=timeout)


def run_all(page, panel, timeout=300_000):
    """Run > Run All Cells, then wait until the run is over: the first code cell has been numbered, no cell is
    running or queued (`[*]`), and the kernel is idle."""
    menu(page, "Run", "Run All Cells")
    try:
        page.wait_for_function(
            """(panelSelector) => {
                const panel = document.querySelector(panelSelector);
                const prompts = [...panel.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent);
                const indicator = panel.querySelector('.jp-Notebook-ExecutionIndicator');
                return prompts.length > 0 && /\\[\\d+\\]/.test(prompts[0]) && !prompts.some(p => p.includes('*'))
                    && indicator !== null && indicator.dataset.status === 'idle';
            }""", arg=PANEL, timeout=timeout, polling=250)
    except PlaywrightTimeoutError:
        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_text_contents()
        status = page.locator(".jp-StatusBar-Widget").all_text_contents()
        raise AssertionError(f"Run All Cells did not finish within {timeout / 1000:.0f} s; prompts {prompts}, "
                             f"status bar {status}") from None


def validate(page, panel, timeout=120_000):
    """Press nbgrader's Validate button in the notebook's toolbar; return the results dialog once it is shown."""
    panel.locator(".jp-Toolbar-item").get_by_text("Validate", exact=True).click()
    dialog = page.locator(".jp-Dialog", has=page.locator("#validation-message"))
    dialog.wait_for(timeout=timeout)
    return dialog


def close_dialog(page, dialog):
    """Press the dialog's Ok button and wait until it is gone."""
    dialog.get_by_role("button", name="Ok").click()
    dialog.wait_for(state="detached")


def stack_images(parts, path, gap=8):
    """Write the PNGs `parts` one below the other into one PNG at `path` (a step that spans more than one screen,
    e.g. every check cell of a notebook, in one picture)."""
    from PIL import Image

    images = [Image.open(p) for p in parts]
    out = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images) + gap * (len(images) - 1)),
                    "white")
    y = 0
    for image in images:
        out.paste(image, (0, y))
        y += image.height + gap
    out.save(path)
    for p in parts:
        Path(p).unlink()


# ---------------------------------------------------------------------------------------------------------------
# The demo class the formgrader shows, graded in a process of its own so that it can run while the student side is
# tested in the browser: `python -m tests.browser_helpers grade COURSE_ROOT SCORES_JSON`.

#: How many submissions of the demo's class (course.classroom.demo_class) are graded per assignment.
CLASS_SIZE = 3


def grade_demo_classes(course_root):
    """Grade the first CLASS_SIZE submissions of each assignment's demo class into course_root (course.pipeline,
    two workers, sandboxed); return {assignment: {student: {"total": .., "max": ..}}}."""
    from course.assignments import all_assignments
    from course.classroom import demo_class
    from course.pipeline import grade_class

    scores = {}
    for assignment in all_assignments():
        graded = grade_class(course_root, demo_class(assignment, attempts=False)[:CLASS_SIZE], assignment, jobs=2)
        scores[assignment.name] = {student: {"total": s["total"], "max": s["max"]} for student, s in graded.items()}
    return scores


def start_grading(course_root, scores_path, log_path):
    """Start grading the demo classes in the background (a process group of its own, so that it can be stopped
    whole); it writes the scores to scores_path as JSON.

    The grading runs at the lowest CPU priority (nice 19, which its workers and sandboxed kernels inherit): it
    uses the time the browser and the student's kernels leave idle, so that the waits of the student's tests do
    not grow with it."""
    root = Path(__file__).resolve().parents[1]
    log = open(log_path, "w")
    try:
        return subprocess.Popen([sys.executable, "-m", "tests.browser_helpers", "grade", str(course_root),
                                 str(scores_path)], cwd=root, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True, preexec_fn=_low_priority_child)
    finally:
        log.close()


def end_with_parent():
    """In a child before it runs its program (preexec_fn): have the kernel send it SIGTERM when the test process
    dies, however it dies (Linux's PR_SET_PDEATHSIG): a server or a grading started in a session of its own is
    otherwise left running by a test run that is killed before its fixtures are torn down."""
    import ctypes

    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # 1: PR_SET_PDEATHSIG


def _low_priority_child():
    os.nice(19)
    end_with_parent()


def stop_process_group(process, grace=10):
    """Stop a process started in a session of its own and everything left in its process group: SIGTERM, then
    SIGKILL after `grace` seconds (also for what outlives a leader that has already ended)."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            break  # nothing of the group is left
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            pass
    process.wait(grace)


if __name__ == "__main__" and sys.argv[1:2] == ["grade"]:
    # SIGTERM (from stop_process_group, or when the test process dies) ends the whole grading, workers included
    signal.signal(signal.SIGTERM, lambda *_: os.killpg(0, signal.SIGKILL))
    Path(sys.argv[3]).write_text(json.dumps(grade_demo_classes(Path(sys.argv[2]))))
