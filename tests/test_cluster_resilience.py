"""Grading survives its workers: a worker killed in the middle of a run (process pool and Dask) and a Ctrl-C lose no
recorded result, the next run finishes the rest, a submission that kills its worker each time gets a failed row
after a bounded number of tries while the ones graded beside it are graded in full, a pool that broke between two
submissions counts no try, and how many tasks each backend keeps in flight. Each test grades a small class of its own (tests/test_cluster.py reads the
shared graded classes).
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from course import backends
from course.assignments import get_assignment
from course.autograde import autograde
from course.classroom import synthetic_class, write_class
from course.nbgrader_course import copy_course, gradebook_scores, run_nbgrader
from tests.conftest import wrong_scores

pytest.importorskip("distributed", reason="the Dask tests need the optional dependency: pip install -e '.[cluster]'")

ROOT = Path(__file__).resolve().parents[1]


def _small_course(tmp_path, n=4):
    assignment = get_assignment("regularization")
    course = copy_course(tmp_path / "course", assignment.course, assignments=[assignment.name])
    run_nbgrader(course, "generate_assignment", assignment.name, "--force")
    submissions = synthetic_class(assignment, n, seed=1)
    write_class(course, assignment, submissions)
    return assignment, course, submissions


def _notes(course, assignment):
    return list((course / "grading" / assignment.name).glob("*.json"))


@pytest.mark.parametrize("scheduler", [None, "local"], ids=["process-pool", "dask"])
def test_a_worker_killed_mid_run_loses_nothing(tmp_path, scheduler):
    assignment, course, submissions = _small_course(tmp_path, n=6)
    import multiprocessing

    before = {p.pid for p in multiprocessing.active_children()}
    run = threading.Thread(target=autograde, args=(course, assignment),
                           kwargs={"jobs": 2, "progress": False, "scheduler": scheduler})
    run.start()
    deadline = time.monotonic() + 300
    while not _notes(course, assignment) and time.monotonic() < deadline:
        time.sleep(0.1)
    workers = [p for p in multiprocessing.active_children() if p.pid not in before and "Manager" not in p.name]
    assert run.is_alive() and workers, "the run ended before a worker could be killed: grow the class"
    os.kill(workers[0].pid, signal.SIGKILL)
    run.join(600)
    scores = gradebook_scores(course, assignment.name)
    assert set(scores) == {s.student for s in submissions}
    assert not wrong_scores(assignment, submissions, scores)


def _grade_unless_worker_killer(context, task):
    """course.worker.grade_task, except that the submission of "worker-killer" takes its worker process down each
    time (as one that crashes its sandbox's host would)."""
    from course.worker import grade_task

    if task.student == "worker-killer":
        os.kill(os.getpid(), signal.SIGKILL)
    return grade_task(context, task)


def test_a_submission_that_kills_its_worker_each_time_gets_a_failed_row_and_the_batch_completes(tmp_path,
                                                                                               monkeypatch):
    assignment, course, submissions = _small_course(tmp_path, n=3)
    killer = course / "submitted" / "worker-killer" / assignment.name
    killer.mkdir(parents=True)
    submissions[0].write(killer, assignment)
    monkeypatch.setattr("course.autograde.grade_task", _grade_unless_worker_killer)
    results = autograde(course, assignment, jobs=2, progress=False)
    scores = gradebook_scores(course, assignment.name)
    assert set(scores) == set(results) == {s.student for s in submissions} | {"worker-killer"}
    assert not wrong_scores(assignment, submissions, scores)
    assert scores["worker-killer"]["total"] == 0
    notes = json.loads((course / "grading" / assignment.name / "worker-killer.json").read_text())
    assert any(f"died each of the {backends.MAX_TRIES} times" in note for note in notes["notes"]), notes["notes"]
    feedback = course / "feedback" / "worker-killer" / assignment.name / assignment.notebook.replace(".ipynb", ".html")
    assert "died each of the" in feedback.read_text()


def test_an_interrupted_run_keeps_what_it_recorded_and_the_next_run_finishes(tmp_path):
    assignment, course, submissions = _small_course(tmp_path, n=6)
    command = [sys.executable, "-m", "course.autograde", "--course", str(course), "--assignment", assignment.name,
               "--jobs", "2"]
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    driver = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 300
    while len(_notes(course, assignment)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    driver.send_signal(signal.SIGINT)
    _, stderr = driver.communicate(timeout=300)
    assert driver.returncode == 130, stderr[-2000:]
    recorded = {json.loads(p.read_text())["student"] for p in _notes(course, assignment)}
    assert set(gradebook_scores(course, assignment.name)) == recorded and len(recorded) < len(submissions)
    first_notes = {p.stem: json.loads(p.read_text()) for p in _notes(course, assignment)}
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    assert f"{len(submissions) - len(recorded)} submissions in" in again.stdout, \
        f"the second run: {again.stdout}; the first run's notes: " \
        f"{ {s: (n['sha256'][:8], n['notes']) for s, n in first_notes.items()} }"
    scores = gradebook_scores(course, assignment.name)
    assert set(scores) == {s.student for s in submissions}
    assert not wrong_scores(assignment, submissions, scores)


def test_the_next_submission_starts_before_the_driver_records_an_outcome():
    """One task per worker is in flight, and a worker's next task is submitted as soon as its last one is done,
    before the driver records that outcome (a gradebook write): no worker waits for the driver."""
    from concurrent.futures import ThreadPoolExecutor

    submitted = []

    class CountingPool(ThreadPoolExecutor):
        def submit(self, function, *args):
            submitted.append(args[1])
            return super().submit(function, *args)

    with CountingPool(max_workers=1) as pool:
        outcomes = backends._drain(pool, lambda context, task: task.upper(), None, backends._Queue(["a", "b", "c"]),
                                   1, 3, None)
        for outcome, expected_submitted in zip(outcomes, (["a", "b"], ["a", "b", "c"], ["a", "b", "c"])):
            assert submitted == expected_submitted, (outcome, submitted)


def test_a_pool_that_broke_before_a_submission_puts_the_task_back_untried():
    """A worker can die between two submissions: the executor then refuses the next one. That task never ran, so
    it goes back to the queue with no try counted, and the run starts a new pool (a race the kill test met)."""
    from concurrent.futures.process import BrokenProcessPool

    class BrokenPool:
        def submit(self, *args, **kwargs):
            raise BrokenProcessPool("A child process terminated abruptly")

    queue = backends._Queue(["reference", "untouched"])
    assert list(backends._drain(BrokenPool(), None, None, queue, 2, 3, None)) == []
    assert sorted(queue.pending) == ["reference", "untouched"] and not any(queue.tries.values())
    assert not queue.suspects


def _kill_own_worker_on_poison(context, task):
    """A grading function whose worker process dies (SIGKILL) on the task "poison": a submission that takes its
    worker down each time it is graded. Any other task comes back with the worker's pid."""
    if task == "poison":
        os.kill(os.getpid(), signal.SIGKILL)
        time.sleep(60)
    return task, os.getpid()


@pytest.mark.parametrize("scheduler", [None, "local"], ids=["process-pool", "dask"])
def test_a_task_that_kills_its_worker_each_time_fails_after_its_tries_and_spares_the_others(scheduler):
    """The poison is given up after MAX_TRIES deaths, with a reason; every other task, including those in flight
    beside it when its worker died, gets its own outcome, and the batch completes."""
    tasks = ["a", "b", "c", "poison", "d", "e", "f"]
    outcomes = dict(backends.run(_kill_own_worker_on_poison, None, tasks, jobs=2, scheduler=scheduler))
    assert sorted(outcomes) == sorted(tasks)
    died = outcomes.pop("poison")
    assert isinstance(died, backends.WorkerDied)
    assert f"died each of the {backends.MAX_TRIES} times" in str(died)
    assert {task: outcome[0] for task, outcome in outcomes.items()} == {t: t for t in tasks if t != "poison"}


def test_a_suspect_runs_alone_and_only_its_own_deaths_use_up_its_tries(monkeypatch):
    """Two tasks in flight when a worker died: both run again, one at a time; the innocent one succeeds on its
    second try, and the poison dies twice more, alone."""
    from concurrent.futures import Future

    batches = []

    class PoisonablePool:
        """A process pool in miniature: the tasks in flight finish together when waited on, and all of them die
        (BrokenProcessPool) when "poison" is among them, as a worker's death breaks a real pool."""

        def __init__(self):
            self.inflight = {}

        def submit(self, function, context, task):
            future = Future()
            self.inflight[future] = task
            return future

        def finish(self):
            batches.append(sorted(self.inflight.values()))
            for future, task in self.inflight.items():
                if "poison" in self.inflight.values():
                    future.set_exception(backends.BrokenProcessPool("a worker died"))
                else:
                    future.set_result(task)
            self.inflight = {}

        def shutdown(self, **kwargs):
            pass

    pools = []

    def make():
        pools.append(PoisonablePool())
        return pools[-1]

    @contextlib.contextmanager
    def two_wide(jobs, scheduler):
        yield make, 2

    def finish_and_wait(futures, timeout, return_when):
        pools[-1].finish()
        return set(futures), set()

    monkeypatch.setattr(backends, "executor", two_wide)
    monkeypatch.setattr(backends, "wait", finish_and_wait)
    outcomes = dict(backends.run(None, None, ["poison", "innocent", "later"], jobs=2))
    assert outcomes["innocent"] == "innocent" and outcomes["later"] == "later"
    assert isinstance(outcomes["poison"], backends.WorkerDied)
    assert batches[0] == ["innocent", "poison"]
    assert sorted(batches[1:]) == [["innocent"], ["later"], ["poison"], ["poison"]]


@pytest.mark.parametrize("jobs", [1, 2])
def test_a_dask_cluster_holds_one_task_more_than_its_worker_threads(jobs):
    """The process pool keeps one task per worker in flight; a LocalCluster one more, so that a worker's next
    submission is already there when it finishes one (a round trip through the scheduler took 50 ms a task)."""
    with backends.executor(jobs) as (_, pool_width):
        assert pool_width == jobs
    with backends.executor(jobs, "local") as (_, dask_width):
        assert dask_width == jobs + backends.PREFETCH == jobs + 1


def test_a_local_cluster_runs_without_dasks_interactive_monitors():
    """The profiler, the 20 ms tick and the fast monitors cost an idle LocalCluster of two workers a quarter of a
    core: its scheduler and workers start with backends.DASK_SETTINGS (read off their periodic callbacks, in ms),
    and the driver's own configuration is left as it was."""
    import dask
    from dask.utils import parse_timedelta

    def ms(key):
        return parse_timedelta(backends.DASK_SETTINGS[key]) * 1000

    tick, monitor = ms("distributed.admin.tick.interval"), ms("distributed.admin.system-monitor.interval")
    before = {key: dask.config.get(key) for key in backends.DASK_SETTINGS}
    client, cluster = backends._dask_client(1, "local")
    try:
        def callbacks(dask_worker):
            return {name: c.callback_time for name, c in dask_worker.periodic_callbacks.items()}

        [worker] = client.run(callbacks).values()
        scheduler = {name: c.callback_time for name, c in cluster.scheduler.periodic_callbacks.items()}
    finally:
        client.close()
        cluster.close()
    assert (scheduler["tick"], scheduler["monitor"]) == (tick, monitor)
    assert (worker["tick"], worker["monitor"]) == (tick, monitor)
    assert worker["memory_monitor"] == ms("distributed.worker.memory.monitor-interval")
    assert not [name for name in worker if "profile" in name]  # the profiler's cycle is not even scheduled
    assert {key: dask.config.get(key) for key in backends.DASK_SETTINGS} == before != backends.DASK_SETTINGS


def test_the_dask_environment_variables_give_a_remote_worker_the_same_settings():
    code = ("import dask, json, sys; import distributed; "
            "print(json.dumps({k: dask.config.get(k) for k in json.loads(sys.argv[1])}))")
    run = subprocess.run([sys.executable, "-c", code, json.dumps(list(backends.DASK_SETTINGS))], check=True,
                         capture_output=True, text=True, env={**os.environ, **backends.dask_environment()})
    assert json.loads(run.stdout) == backends.DASK_SETTINGS


def test_the_readme_lists_exactly_these_variables_for_remote_workers():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    listed = set(re.findall(r"^  (DASK_[A-Z_]+=\S+)$", readme, flags=re.MULTILINE))
    assert listed == {f"{key}={value}" for key, value in backends.dask_environment().items()}
