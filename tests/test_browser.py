"""The course as its users meet it: JupyterLab 4 and nbgrader's lab extension in a real browser (the system's
Chromium, driven by Playwright).

One JupyterLab server for the whole module, on a copy of the course, and one browser:
- the student, for every assignment: the release, run with Run > Run All Cells, stops at the first cell that calls
  an unfinished exercise and shows why; the release with the reference answers passes every check; nbgrader's
  Validate button fails the release and passes the solved copy;
- the instructor: the formgrader lists every assignment and the scores of a small demo class, graded (sandboxed,
  by the course's own grading command) into the course copy while the student side is being tested.

The server's kernels run with NBGRADER_EXECUTION set (a kernel spec of the server's own, see
tests.browser_helpers.JupyterLab), as they do when nbgrader validates or grades: the notebooks then train briefly
(otherwise the deep notebook trains every network for 30 epochs on every image, minutes on two cores), and nothing
the checks look at depends on the training.

A screenshot of every step goes to tests/.browser-screenshots/ (ignored by git; the path is printed at the end).
The module skips when no Chromium is found, and says how to install one.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pytest
from playwright.sync_api import expect, sync_playwright

from course.assignment import COURSE
from course.assignments import all_assignments
from course.nbgrader_course import copy_course, make_submission
from tests.browser_helpers import (CHROMIUM_ARGS, CLASS_SIZE, INSTALL_HINT, JupyterLab, close_dialog, find_chromium,
                                   menu, open_notebook, run_all, stack_images, start_grading, stop_process_group,
                                   validate)

CHROMIUM = find_chromium()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=f"no Chromium found: {INSTALL_HINT}")

ASSIGNMENTS = all_assignments()
SCREENSHOTS = Path(__file__).resolve().parent / ".browser-screenshots"
#: How long the instructor's tests wait for the demo classes' grading (started with the server) to end.
GRADING_TIMEOUT = 300
#: An output area showing an error (JupyterLab renders tracebacks with the stderr MIME type).
ERROR_OUTPUT = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def release_copy(assignment):
    """Where the server shows the release as a student fetched it (its path under the server's root)."""
    return f"student/{assignment.name}/{assignment.notebook}"


def solved_copy(assignment):
    """Where the server shows the release with the reference answers filled in (the notebook keeps its name)."""
    return f"solved/{assignment.name}/{assignment.notebook}"


def code_cell_roles(assignment):
    """For each code cell of the release, in order: "answer", "check" (a graded test cell) or "" (anything else)."""
    nb = nbformat.read(assignment.release_path, as_version=4)
    roles = []
    for cell in nb.cells:
        if cell.cell_type == "code":
            meta = cell.metadata.get("nbgrader", {})
            roles.append("answer" if meta.get("solution") else "check" if meta.get("grade") else "")
    return roles


@pytest.fixture(scope="module", params=ASSIGNMENTS, ids=lambda a: a.name)
def assignment(request):
    return request.param


@pytest.fixture(scope="module")
def shots(request):
    """The screenshot folder, emptied; its path is printed when the module is done."""
    shutil.rmtree(SCREENSHOTS, ignore_errors=True)
    SCREENSHOTS.mkdir()

    def say_where():
        # past pytest's output capture, which would otherwise swallow a line written during teardown
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is not None and capture is not None:
            with capture.global_and_fixture_disabled():
                reporter.write_line(f"\nbrowser screenshots: {SCREENSHOTS}")

    request.addfinalizer(say_where)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A folder holding lab/, what the server shows: a copy of the course (lab/course, the server's working
    directory, where nbgrader's extensions read its configuration) and the student's notebooks beside it (the
    grading regenerates the course's release folder); the server's own state and the grading's log and scores
    go beside lab/, out of the browser's sight."""
    top = tmp_path_factory.mktemp("browser")
    copy_course(top / "lab" / "course", COURSE)
    for a in ASSIGNMENTS:
        for path, nb in ((release_copy(a), nbformat.read(a.release_path, as_version=4)),
                         (solved_copy(a), make_submission(a.release_path, a.answer_sources()))):
            (top / "lab" / path).parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, top / "lab" / path)
    return top


@pytest.fixture(scope="module")
def grading(workspace):
    """The demo classes being graded into the course copy, in the background (tests.browser_helpers)."""
    process = start_grading(workspace / "lab" / "course", workspace / "scores.json", workspace / "grading.log")
    yield process
    stop_process_group(process)


@pytest.fixture(scope="module")
def lab(workspace, grading):
    """The JupyterLab server (it asks for `grading` so that the class is graded while the student is tested)."""
    server = JupyterLab(workspace / "lab", workspace / "lab" / "course", workspace / "server",
                        kernel_env={"NBGRADER_EXECUTION": "validate"})
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=list(CHROMIUM_ARGS))
        try:
            context = chromium.new_context(viewport={"width": 1400, "height": 900})
            context.set_default_timeout(60_000)
            yield context
        finally:
            chromium.close()


class Student:
    """The student's browser tab: it shows one notebook at a time, run once with Run All Cells, however many tests
    look at it."""

    def __init__(self, page, lab):
        self.page, self.lab = page, lab
        self.shown, self.panel = None, None

    def run(self, path):
        """Open the notebook at `path` and run all its cells (unless it is the one already shown); return its
        panel."""
        if self.shown != path:
            self.lab.end_sessions()  # the previous notebook's kernel gives its CPU back
            self.panel = open_notebook(self.page, self.lab, path)
            run_all(self.page, self.panel)
            self.shown = path
        return self.panel


@pytest.fixture(scope="module")
def student(browser, lab):
    page = browser.new_page()
    page.on("dialog", lambda dialog: dialog.accept())  # "leave the page?" when a run notebook is left
    yield Student(page, lab)
    page.close()


@pytest.fixture(scope="module")
def scores(grading, workspace):
    """{assignment: {student: {"total", "max"}}} of the graded demo classes (waits for the grading to end)."""
    try:
        grading.wait(GRADING_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the demo classes were not graded within {GRADING_TIMEOUT} s")
    log = (workspace / "grading.log").read_text(errors="replace")
    assert grading.returncode == 0, f"grading the demo classes failed:\n{log[-3000:]}"
    return json.loads((workspace / "scores.json").read_text())


@pytest.fixture(scope="module")
def formgrader(browser, lab, scores):
    """The instructor's tab: JupyterLab (a workspace of its own) with Nbgrader > Formgrader open; returns (page, the
    formgrader's frame)."""
    lab.end_sessions()
    page = browser.new_page()
    page.goto(lab.url(f"lab/workspaces/instructor?reset&token={lab.token}"))
    page.locator(".jp-LauncherCard, .jp-Launcher").first.wait_for()
    menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator("iframe[src*='formgrader']")
    yield page, frame
    page.close()


# ---------------------------------------------------------------------------------------------------------------
# The student

def test_running_the_release_stops_at_the_first_exercise_and_says_it_is_not_done(assignment, student, shots):
    roles = code_cell_roles(assignment)
    first_call = roles.index("answer") + 1  # the cell after the first exercise calls its function
    panel = student.run(release_copy(assignment))
    cells = panel.locator(".jp-CodeCell")
    error = cells.nth(first_call).locator(ERROR_OUTPUT)
    expect(error).to_be_visible()
    expect(error).to_contain_text("NotImplementedError")
    if roles[first_call] == "check":  # a check says what is wrong in its own words
        expect(error).to_contain_text(f"CheckFailed: {assignment.function_names[0]} raised NotImplementedError")
        expect(error).to_contain_text("Hint: the exercise is not done yet")
    prompts = cells.locator(".jp-InputPrompt").all_text_contents()
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts[:first_call + 1]), prompts
    assert all(p == "[ ]:" for p in prompts[first_call + 1:]), f"Run All went on after the error: {prompts}"
    error.scroll_into_view_if_needed()
    student.page.screenshot(path=shots / f"{assignment.name}-1-release-run-all.png")


def test_validate_fails_the_release(assignment, student, shots):
    panel = student.run(release_copy(assignment))
    dialog = validate(student.page, panel)
    expect(dialog).to_have_class(re.compile(r"\bnbgrader-ErrorDialog\b"))
    expect(dialog.locator("#validation-message")).to_have_class(re.compile(r"\bvalidation-failed\b"))
    # every check fails, the first with the message its cell shows when run
    expect(dialog.get_by_text("The following cell failed:", exact=True)).to_have_count(
        len(assignment.function_names))
    first_error = dialog.locator("#validation-message > .jp-RenderedText").nth(1)
    expect(first_error).to_contain_text(f"{assignment.function_names[0]} raised NotImplementedError")
    first_error.evaluate("node => node.scrollIntoView({block: 'end'})")  # the message ends the traceback
    student.page.screenshot(path=shots / f"{assignment.name}-2-release-validate.png")
    close_dialog(student.page, dialog)


def test_the_reference_answers_pass_every_check_in_the_browser(assignment, student, shots):
    roles = code_cell_roles(assignment)
    panel = student.run(solved_copy(assignment))
    cells = panel.locator(".jp-CodeCell")
    prompts = cells.locator(".jp-InputPrompt").all_text_contents()
    assert all(re.fullmatch(r"\[\d+\]:", p) for p in prompts), f"not every cell ran: {prompts}"
    parts = []
    for index in (i for i, role in enumerate(roles) if role == "check"):
        outputs = cells.nth(index).locator(".jp-OutputArea")
        expect(outputs).to_contain_text("All tests passed")
        expect(outputs.locator(ERROR_OUTPUT)).to_have_count(0)
        cells.nth(index).scroll_into_view_if_needed()
        parts.append(shots / f"part-{index}.png")
        cells.nth(index).screenshot(path=parts[-1])
    assert len(parts) == len(assignment.function_names)
    stack_images(parts, shots / f"{assignment.name}-3-solved-checks.png")  # every check cell, one below the other


def test_validate_passes_the_solved_copy(assignment, student, shots):
    panel = student.run(solved_copy(assignment))
    dialog = validate(student.page, panel)
    expect(dialog).to_have_class(re.compile(r"\bnbgrader-SuccessDialog\b"))
    expect(dialog.locator("#validation-message")).to_have_class(re.compile(r"\bvalidation-success\b"))
    expect(dialog).to_contain_text("Success! Your notebook passes all the tests.")
    student.page.screenshot(path=shots / f"{assignment.name}-4-solved-validate.png")
    close_dialog(student.page, dialog)


# ---------------------------------------------------------------------------------------------------------------
# The instructor

def test_the_formgrader_lists_every_assignment_with_its_submissions(formgrader, scores, shots):
    page, frame = formgrader
    expect(frame.locator("tbody tr", has=frame.locator("td.name"))).to_have_count(len(ASSIGNMENTS))
    for a in ASSIGNMENTS:
        assert len(scores[a.name]) == CLASS_SIZE
        expect(_assignment_row(frame, a).locator("td.num-submissions")).to_have_text(str(CLASS_SIZE))
    page.screenshot(path=shots / "formgrader-1-assignments.png")


# Parametrized here, not through the module's `assignment` fixture: pytest would otherwise move these tests among
# the student's, and wait for the grading before the student side is done.
@pytest.mark.parametrize("assignment", ASSIGNMENTS, ids=lambda a: a.name)
def test_the_formgrader_shows_each_submissions_score(assignment, formgrader, scores, shots):
    page, frame = formgrader
    frame.get_by_role("link", name="Manage Assignments", exact=True).click()
    _assignment_row(frame, assignment).locator("td.num-submissions a").click()  # the number of submissions
    expect(frame.locator("ol.breadcrumb li.active")).to_have_text(assignment.name)
    graded = scores[assignment.name]
    expect(frame.locator("tbody tr", has=frame.locator("td.student-id"))).to_have_count(len(graded))
    for student, score in graded.items():
        row = frame.locator("tbody tr", has=frame.locator("td.student-id", has_text=_whole(student)))
        expect(row.locator("td.score")).to_have_text(f"{score['total']:g} / {score['max']:g}")
    page.screenshot(path=shots / f"formgrader-2-{assignment.name}-submissions.png")


def _whole(text):
    """A pattern matching exactly `text` (has_text alone matches any text containing it)."""
    return re.compile(rf"^{re.escape(text)}$")


def _assignment_row(frame, assignment):
    """The formgrader's row of an assignment in Manage Assignments."""
    return frame.locator("tbody tr", has=frame.locator("td.name", has_text=_whole(assignment.name)))
