"""The student kit: the one artefact an instructor hands to students (``make student-kit``).

``dist/regularization-course-student-<version>.zip`` holds, under one folder of the same name:

- ``notebooks/<assignment>/...`` -- every file of every release folder (``notebooks/release/*/``) as nbgrader
  generated it;
- a wheel of the student helpers only (``reg_utils`` and ``testCases``, with their package data);
- ``requirements.txt`` -- what the helpers and the notebooks need at run time, plus JupyterLab and nbgrader;
- ``README.md`` -- how a student installs the kit, opens the notebooks and checks them before submitting.

The instructor package ``course`` (grading code, solution-derived variants) is never in it. Who uses this module:
the instructor. ``tests/test_student_kit.py`` builds the kit, installs its wheel into a fresh venv, runs the release
notebooks from there, and scans every file of the kit for solution and hidden-test lines.

Usage: python -m course.student_kit [--out-dir DIR]    (default: dist/)
"""

import argparse
import base64
import hashlib
import io
import re
import sys
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RELEASE = ROOT / "notebooks" / "release"
DISTRIBUTION = "regularization-course-student"
#: The package of pyproject.toml's [tool.setuptools] packages that stays with the instructor.
INSTRUCTOR_PACKAGE = "course"
#: Distributions that reg_utils and testCases import: the wheel's Requires-Dist.
HELPER_REQUIREMENTS = ("numpy", "scipy", "matplotlib", "scikit-learn", "mlxtend", "tqdm", "threadpoolctl")
#: What the notebooks need besides the helpers: IPython (they import IPython.display), a kernel to run them,
#: JupyterLab to open them, nbgrader for the Validate button and `nbgrader validate`.
NOTEBOOK_REQUIREMENTS = ("ipython", "ipykernel", "jupyterlab", "nbgrader")
#: Editor and interpreter leftovers that a release folder may hold and a student must not receive.
IGNORED_PARTS = {".ipynb_checkpoints", "__pycache__"}
# Every entry of the kit and of its wheel gets this date: a rebuild from the same commit gives the same bytes, so
# what was handed out can be checked against a commit. (Zip dates start in 1980.)
FIXED_DATE = (1980, 1, 1, 0, 0, 0)


def project():
    """pyproject.toml as a dict."""
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def student_packages(config):
    """The packages of pyproject.toml's [tool.setuptools] packages that students get: all but `course` and its
    subpackages (the assignment registry)."""
    return [p for p in config["tool"]["setuptools"]["packages"]
            if p != INSTRUCTOR_PACKAGE and not p.startswith(INSTRUCTOR_PACKAGE + ".")]


def requirement(name, config):
    """The requirement line for a distribution: pyproject.toml's [project] dependency if it lists it, else the name.

    The version bounds live in pyproject.toml only; the kit copies them.
    """
    for line in config["project"]["dependencies"]:
        listed = re.match(r"[A-Za-z0-9._-]+", line).group(0)
        if _normalize(listed) == _normalize(name):
            return line
    return name


def _normalize(name):
    """A distribution name as PEP 503 compares them: lower case, runs of -_. as one -."""
    return re.sub(r"[-_.]+", "-", name).lower()


def release_files(release=RELEASE):
    """{path inside the kit's notebooks/ folder: file} for every file of every release folder, sorted."""
    found = {}
    for folder in sorted(p for p in release.glob("*/") if p.is_dir()):
        for path in sorted(folder.rglob("*")):
            if path.is_file() and not IGNORED_PARTS & set(path.relative_to(release).parts):
                found[path.relative_to(release).as_posix()] = path
    if not any(name.endswith(".ipynb") for name in found):
        raise FileNotFoundError(f"no release notebook in {release}/*/: run `make release` first")
    return found


def _zip_entry(archive, name, data):
    """Write bytes under a name with the fixed date and ordinary file permissions (rw-r--r--)."""
    info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o644 << 16
    archive.writestr(info, data)


def wheel_name(version):
    """The wheel's file name (PEP 427): pure Python, any platform."""
    return f"{DISTRIBUTION.replace('-', '_')}-{version}-py3-none-any.whl"


def build_wheel(config):
    """A wheel of the student packages and their package data, as bytes.

    Why not setuptools: the setuptools that `python -m venv` puts into a Python 3.11 venv (65.x) builds wheels only
    through the `wheel` package, which this project does not install, and a Python 3.12 venv has no setuptools at
    all; a pure-Python wheel is a zip of the packages plus three metadata files (PEP 427, PEP 376), so we write it
    here, offline and with nothing to install. Installing it with pip is what tests/test_student_kit.py checks.
    """
    version = config["project"]["version"]
    packages = student_packages(config)
    package_data = config["tool"]["setuptools"].get("package-data", {})
    files = {}
    for package in packages:
        paths = list((ROOT / package).rglob("*.py"))
        for pattern in package_data.get(package, []):
            paths += (ROOT / package).glob(pattern)
        for path in sorted(set(paths)):
            if not IGNORED_PARTS & set(path.relative_to(ROOT).parts):
                files[path.relative_to(ROOT).as_posix()] = path.read_bytes()
    dist_info = f"{DISTRIBUTION.replace('-', '_')}-{version}.dist-info"
    metadata = [
        "Metadata-Version: 2.1",
        f"Name: {DISTRIBUTION}",
        f"Version: {version}",
        "Summary: Student helpers of the course unit on regularizing neural networks: " + ", ".join(packages) + ".",
        f"License: {config['project'].get('license', {}).get('text', 'UNKNOWN')}",
        f"Requires-Python: {config['project']['requires-python']}",
        *(f"Requires-Dist: {requirement(name, config)}" for name in HELPER_REQUIREMENTS),
    ]
    files[f"{dist_info}/METADATA"] = ("\n".join(metadata) + "\n").encode()
    files[f"{dist_info}/WHEEL"] = ("Wheel-Version: 1.0\nGenerator: course.student_kit\nRoot-Is-Purelib: true\n"
                                   "Tag: py3-none-any\n").encode()
    files[f"{dist_info}/top_level.txt"] = ("\n".join(packages) + "\n").encode()
    record = [f"{name},sha256={_digest(data)},{len(data)}" for name, data in files.items()]
    files[f"{dist_info}/RECORD"] = ("\n".join([*record, f"{dist_info}/RECORD,,"]) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():  # RECORD last, as the wheel spec recommends
            _zip_entry(archive, name, data)
    return buffer.getvalue()


def _digest(data):
    """sha256 of the bytes as RECORD writes it: urlsafe base64 without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def requirements_text(config):
    """requirements.txt: the helpers' run-time needs, then the notebooks'."""
    lines = ["# What the helpers (reg_utils, testCases) import", *(requirement(n, config) for n in HELPER_REQUIREMENTS),
             "# What the notebooks need: IPython and a kernel, JupyterLab to open them, nbgrader to validate them",
             *(requirement(n, config) for n in NOTEBOOK_REQUIREMENTS)]
    return "\n".join(lines) + "\n"


def readme_text(config, notebooks):
    """README.md for students; `notebooks` are the release notebooks' paths inside the kit."""
    version, wheel = config["project"]["version"], wheel_name(config["project"]["version"])
    python = config["project"]["requires-python"].removeprefix(">=")
    listing = "\n".join(f"- `{path}`" for path in notebooks)
    return f"""# Regularizing neural networks: student kit {version}

This folder holds the assignments' notebooks and the helper packages they import (`reg_utils`, `testCases`):

{listing}

## Install (once)

You need Python {python} or newer. In a terminal, in this folder:

    python3 -m venv .venv
    source .venv/bin/activate          # on Windows: .venv\\Scripts\\activate
    pip install -r requirements.txt
    pip install {wheel}

## Work on an assignment

    source .venv/bin/activate          # on Windows: .venv\\Scripts\\activate
    jupyter lab notebooks

Open the assignment's notebook in JupyterLab. Write your code only where it says `# YOUR CODE HERE` (delete the
`raise NotImplementedError()` line); leave the other cells as they are: the grader restores them.

## Check before submitting

1. *Kernel -> Restart Kernel and Run All Cells*: every check cell should print `All tests passed`.
2. Press **Validate** in the notebook's toolbar (nbgrader adds it), or in a terminal run, for example,

       nbgrader validate {notebooks[0]}

   It prints `Success! Your notebook passes all the tests.` when every check passes, and otherwise lists the
   cells that fail. Read what it prints: it ends without an error status even when a check fails.
"""


def build(out_dir=ROOT / "dist"):
    """Write the student kit; return its path, `out_dir`/regularization-course-student-<version>.zip."""
    config = project()
    version = config["project"]["version"]
    top = f"{DISTRIBUTION}-{version}"
    notebooks = release_files()
    entries = {f"{top}/notebooks/{name}": path.read_bytes() for name, path in notebooks.items()}
    entries[f"{top}/{wheel_name(version)}"] = build_wheel(config)
    entries[f"{top}/requirements.txt"] = requirements_text(config).encode()
    listed = [f"notebooks/{name}" for name in notebooks if name.endswith(".ipynb")]
    entries[f"{top}/README.md"] = readme_text(config, listed).encode()
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    kit = out_dir / f"{top}.zip"
    with zipfile.ZipFile(kit, "w") as archive:
        for name in sorted(entries):
            _zip_entry(archive, name, entries[name])
    return kit


def main(argv=None):
    """Build the kit and print its path, its files and its size."""
    parser = argparse.ArgumentParser(description="Build the student kit (the zip an instructor hands out).")
    parser.add_argument("--out-dir", default=ROOT / "dist", type=Path, help="where to write the zip (default: dist/)")
    args = parser.parse_args(argv)
    kit = build(args.out_dir)
    with zipfile.ZipFile(kit) as archive:
        infos = archive.infolist()
    print(kit)
    for info in infos:
        print(f"  {info.file_size:>10,d}  {info.filename}")
    print(f"{len(infos)} files, {sum(i.file_size for i in infos):,d} bytes unpacked, {kit.stat().st_size:,d} bytes "
          "zipped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
