"""The student kit holds what students need and nothing of the instructor's: it is built, installed into a fresh
venv, run from there, and scanned for solution and hidden-test lines."""

import ast
import importlib.metadata
import io
import json
import os
import re
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import nbformat
import pytest
from jupyter_client import KernelManager
from jupyter_client.kernelspec import KernelSpecManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from course.notebooks import stream_text
from course.reference import cell_source, marked_lines
from course.student_kit import HELPER_REQUIREMENTS, NOTEBOOK_REQUIREMENTS, build, project

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "notebooks" / "release"
RELEASE_NOTEBOOKS = sorted(p.relative_to(RELEASE).as_posix() for p in RELEASE.glob("*/*.ipynb"))
SOURCE_NOTEBOOKS = sorted((ROOT / "notebooks" / "source").glob("*/*.ipynb"))
STUDENT_PACKAGES = ("reg_utils", "testCases")
# The project venv's site-packages: on PYTHONPATH it lends the fresh venv numpy, ipykernel, ... without its .pth
# files being processed, so the editable finder that maps course, reg_utils and testCases to the repo stays off.
SITE_PACKAGES = sysconfig.get_paths()["purelib"]


def _version():
    return project()["project"]["version"]


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    return build(tmp_path_factory.mktemp("dist"))


@pytest.fixture(scope="module")
def unpacked(kit, tmp_path_factory):
    """The kit unzipped outside the repo: its one top-level folder."""
    folder = tmp_path_factory.mktemp("unzipped")
    with zipfile.ZipFile(kit) as archive:
        archive.extractall(folder)
    (top,) = folder.iterdir()
    return top


@pytest.fixture(scope="module")
def members(kit):
    """{name: bytes} of every file in the kit, the wheel's files included as '<wheel name>/<file>'."""
    files = {}
    with zipfile.ZipFile(kit) as archive:
        for name in archive.namelist():
            files[name] = archive.read(name)
    for name in [n for n in files if n.endswith(".whl")]:
        with zipfile.ZipFile(io.BytesIO(files[name])) as wheel:
            files.update({f"{name}/{member}": wheel.read(member) for member in wheel.namelist()})
    return files


def _wheel_files(members):
    """{path inside the wheel: bytes}."""
    (wheel,) = [n for n in members if n.endswith(".whl")]
    return {n.removeprefix(wheel + "/"): data for n, data in members.items() if n.startswith(wheel + "/")}


def _clean_env(**extra):
    """os.environ without what would point a Python at another environment, plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "PYTHONSTARTUP")}
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def student_python(unpacked, tmp_path_factory):
    """The python of a fresh venv into which the kit's wheel alone was installed (no index, no dependencies)."""
    venv = tmp_path_factory.mktemp("student-venv")
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    (wheel,) = unpacked.glob("*.whl")
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-deps",
                    "--no-index", str(wheel)], check=True, cwd=venv, env=_clean_env())
    return python


def _student_env(python, tmp_path):
    """What the fresh venv runs with: its bin/ first on PATH, the dependencies from PYTHONPATH, no display."""
    return _clean_env(PYTHONPATH=SITE_PACKAGES, PATH=f"{python.parent}{os.pathsep}{os.environ['PATH']}",
                      MPLBACKEND="Agg", NBGRADER_EXECUTION="validate", IPYTHONDIR=str(tmp_path / "ipython"))


# (a) What the kit holds

def test_kit_is_named_for_the_project_version(kit):
    assert kit.name == f"regularization-course-student-{_version()}.zip"


def test_kit_holds_the_release_notebooks_the_wheel_requirements_and_readme(kit):
    with zipfile.ZipFile(kit) as archive:
        names = set(archive.namelist())
    top = f"regularization-course-student-{_version()}/"
    release = {f"{top}notebooks/{p.relative_to(RELEASE).as_posix()}" for p in RELEASE.glob("*/**/*")
               if p.is_file() and ".ipynb_checkpoints" not in p.parts and "__pycache__" not in p.parts}
    expected = {*release, f"{top}regularization_course_student-{_version()}-py3-none-any.whl",
                f"{top}requirements.txt", f"{top}README.md"}
    assert RELEASE_NOTEBOOKS and all(f"{top}notebooks/{nb}" in names for nb in RELEASE_NOTEBOOKS)
    assert names == expected, f"missing {sorted(expected - names)}, unexpected {sorted(names - expected)}"


def test_kit_copies_the_release_notebooks_unchanged(unpacked):
    for notebook in RELEASE_NOTEBOOKS:
        assert (unpacked / "notebooks" / notebook).read_bytes() == (RELEASE / notebook).read_bytes(), notebook


def test_kit_holds_no_file_of_the_instructor_package(members):
    in_course = [n for n in members if "course" in Path(n).parts]
    assert not in_course, f"files of course/ in the kit: {in_course}"
    instructor = {p.read_bytes() for p in (ROOT / "course").rglob("*.py") if p.stat().st_size}
    copied = [n for n, data in members.items() if data in instructor]
    assert not copied, f"copies of course/ files in the kit: {copied}"
    top_level = next(data for n, data in members.items() if n.endswith(".dist-info/top_level.txt"))
    assert top_level.decode().split() == list(STUDENT_PACKAGES)


def test_wheel_holds_the_student_packages_and_their_data(members):
    wheel = _wheel_files(members)
    for package in STUDENT_PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            assert path.relative_to(ROOT).as_posix() in wheel, f"{path.relative_to(ROOT)} is not in the wheel"
    data = sorted((ROOT / "reg_utils" / "data").glob("*.npz"))
    assert data and all(wheel[p.relative_to(ROOT).as_posix()] == p.read_bytes() for p in data)


def test_readme_says_how_to_install_open_and_validate(unpacked):
    readme = (unpacked / "README.md").read_text()
    wheel = next(unpacked.glob("*.whl")).name
    for step in ("python3 -m venv", "pip install -r requirements.txt", f"pip install {wheel}", "jupyter lab",
                 "Validate", "nbgrader validate"):
        assert step in readme, f"README.md does not say {step!r}"


def _imports(source):
    """Top-level names of the modules that Python source imports absolutely."""
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _distributions(modules):
    """{module: its distribution names} for the third-party modules (not stdlib, not the student packages)."""
    providers = importlib.metadata.packages_distributions()
    third_party = modules - set(sys.stdlib_module_names) - set(STUDENT_PACKAGES)
    return {m: {d.lower() for d in providers.get(m, [])} for m in third_party}


def test_requirements_cover_every_import_of_the_helpers_and_the_notebooks(unpacked):
    from IPython.core.inputtransformer2 import TransformerManager  # turns %matplotlib lines into Python

    helpers = set().union(*(_imports(p.read_text()) for pkg in STUDENT_PACKAGES for p in (ROOT / pkg).rglob("*.py")))
    cells = [cell_source(c) for nb in RELEASE_NOTEBOOKS for c in json.loads((RELEASE / nb).read_text())["cells"]
             if c["cell_type"] == "code"]
    notebooks = set().union(*(_imports(TransformerManager().transform_cell(c)) for c in cells))
    for modules, allowed in ((helpers, HELPER_REQUIREMENTS), (notebooks, HELPER_REQUIREMENTS + NOTEBOOK_REQUIREMENTS)):
        uncovered = {m: d for m, d in _distributions(modules).items() if not d & set(allowed)}
        assert not uncovered, f"imported but not required: {uncovered}"
    lines = (unpacked / "requirements.txt").read_text().splitlines()
    listed = {re.match(r"[A-Za-z0-9._-]+", line).group(0) for line in lines if line and not line.startswith("#")}
    assert listed == set(HELPER_REQUIREMENTS + NOTEBOOK_REQUIREMENTS)


def test_rebuilding_the_kit_gives_the_same_bytes(kit, tmp_path):
    assert build(tmp_path).read_bytes() == kit.read_bytes()


# (b) The kit works on its own: its wheel in a fresh venv, the notebooks run there

def test_fresh_venv_imports_the_helpers_from_the_wheel_and_cannot_import_course(student_python, tmp_path):
    probe = ("import importlib.util, json, sys, numpy, reg_utils, testCases\n"
             "print(json.dumps([sys.prefix, reg_utils.__file__, testCases.__file__,"
             " importlib.util.find_spec('course') is None]))")
    out = subprocess.run([str(student_python), "-c", probe], cwd=tmp_path, env=_student_env(student_python, tmp_path),
                         capture_output=True, text=True, check=True).stdout
    prefix, reg_utils_file, test_cases_file, no_course = json.loads(out)
    venv = str(student_python.parents[1])
    assert prefix == venv
    assert reg_utils_file.startswith(venv) and test_cases_file.startswith(venv), (reg_utils_file, test_cases_file)
    assert no_course, "the fresh venv can import the instructor package course"
    failed = subprocess.run([str(student_python), "-c", "import course"], cwd=tmp_path,
                            env=_student_env(student_python, tmp_path), capture_output=True, text=True)
    assert failed.returncode != 0 and "ModuleNotFoundError" in failed.stderr


def _kernel_manager(python, tmp_path):
    """A KernelManager whose kernel is ipykernel started by the fresh venv's python (from a private kernelspec)."""
    spec = tmp_path / "kernels" / "student-kit"
    spec.mkdir(parents=True)
    argv = [str(python), "-m", "ipykernel_launcher", "-f", "{connection_file}", "--HistoryManager.hist_file=:memory:"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "display_name": "student kit", "language": "python"}))
    return KernelManager(kernel_name="student-kit",
                         kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec.parent)]))


def _is_unanswered_exercise(error):
    """True for the error an unanswered exercise raises: NotImplementedError itself, or a public check reporting it
    (testCases turns a student's exception into CheckFailed, whose message names it)."""
    return error.ename == "NotImplementedError" or (error.ename == "CheckFailed"
                                                    and "raised NotImplementedError" in error.evalue)


@pytest.mark.parametrize("notebook", RELEASE_NOTEBOOKS)
def test_release_notebook_runs_in_the_fresh_venv_up_to_its_first_unanswered_exercise(student_python, unpacked,
                                                                                     notebook, tmp_path):
    path = unpacked / "notebooks" / notebook
    nb = nbformat.read(path, as_version=4)
    probe = "import json, sys, reg_utils\nprint(json.dumps([sys.executable, reg_utils.__file__]))"
    nb.cells.insert(0, nbformat.v4.new_code_cell(probe))
    client = NotebookClient(nb, km=_kernel_manager(student_python, tmp_path), timeout=120,
                            resources={"metadata": {"path": str(path.parent)}})
    with pytest.raises(CellExecutionError) as raised:
        client.execute(env=_student_env(student_python, tmp_path))
    executable, reg_utils_file = json.loads(stream_text(nb.cells[0]))
    assert executable == str(student_python) and reg_utils_file.startswith(str(student_python.parents[1]))
    failing = next(i for i, c in enumerate(nb.cells) if any(o.output_type == "error" for o in c.get("outputs", [])))
    assert _is_unanswered_exercise(raised.value), \
        f"cell {failing} of {notebook} failed with {raised.value.ename}: {raised.value.evalue}"
    before = [c for c in nb.cells[1:failing] if c.cell_type == "code"]
    assert before and all(c.execution_count for c in before), "a cell before the first exercise did not run"


# (c) No solution and no hidden test reaches a student

#: Marked lines that the helpers share with the source notebooks without giving anything away, and why. They are
#: allowed in the wheel's files only: in a notebook's code they would still be a leak.
ALLOWED_IN_HELPERS = {
    "for l in range(1, len(layer_dims)):":
        "the deep hidden tests build random parameters with the loop of reg_utils' initialize_parameters",
}


def _marked(region, min_length):
    """Every source notebook's marked lines, with tests/test_release.py's minimum lengths."""
    return set().union(*(marked_lines(region, min_length, path=p) for p in SOURCE_NOTEBOOKS))


def _instructions():
    """The markdown of the release notebooks: what a student reads anyway."""
    return "\n".join(cell_source(c) for nb in RELEASE_NOTEBOOKS for c in json.loads((RELEASE / nb).read_text())["cells"]
                     if c["cell_type"] == "markdown")


def _leaks(members, lines, *, code_only_in_notebooks):
    """{kit file: marked lines found in it}.

    A notebook is searched in full, or in its code cells only (`code_only_in_notebooks`: the instructions in markdown
    cells spell out steps such as `D1 = D1 < keep_prob` on purpose, as the original assignment does, and
    tests/test_release.py searches the same way). Any other file may repeat what those instructions state, and the
    wheel's files may hold the lines of ALLOWED_IN_HELPERS.
    """
    stated = {line for line in lines if line in _instructions()}
    found = {}
    for name, data in members.items():
        if name.endswith(".whl"):
            continue  # compressed bytes: its files are searched one by one
        text = data.decode("utf-8", errors="replace")
        if name.endswith(".ipynb"):
            cells = json.loads(text)["cells"]
            kept = [c for c in cells if c["cell_type"] == "code" or not code_only_in_notebooks]
            text, allowed = "\n".join(cell_source(c) for c in kept) + ("" if code_only_in_notebooks else text), set()
        else:
            allowed = stated | (set(ALLOWED_IN_HELPERS) if ".whl/" in name else set())
        hits = sorted(line for line in lines - allowed if line in text)
        if hits:
            found[name] = hits[:3]
    return found


def test_source_notebooks_have_solution_and_hidden_test_lines_to_look_for():
    assert SOURCE_NOTEBOOKS and len(_marked("SOLUTION", 12)) >= 10 and len(_marked("HIDDEN TESTS", 25)) >= 20


def test_no_file_of_the_kit_holds_a_solution_line(members):
    leaked = _leaks(members, _marked("SOLUTION", 12), code_only_in_notebooks=True)
    assert not leaked, f"solution code in the kit: {leaked}"


def test_no_file_of_the_kit_holds_a_hidden_test_line(members):
    leaked = _leaks(members, _marked("HIDDEN TESTS", 25), code_only_in_notebooks=False)
    assert not leaked, f"hidden tests in the kit: {leaked}"


def test_every_line_allowed_in_the_helpers_is_still_marked_and_still_there(members):
    marked = _marked("SOLUTION", 12) | _marked("HIDDEN TESTS", 25)
    helpers = "\n".join(data.decode("utf-8", errors="replace") for n, data in members.items() if ".whl/" in n)
    stale = [line for line in ALLOWED_IN_HELPERS if line not in marked or line not in helpers]
    assert not stale, f"ALLOWED_IN_HELPERS lists lines it no longer needs: {stale}"
