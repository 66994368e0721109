"""Where grading tasks run: a process pool on this machine, or a Dask distributed cluster (instructor side).

The grading command hands this module a function and its tasks (plain data: a submission's bytes and what the
worker needs to grade it) and gets the outcomes back one at a time, as they finish, through the standard
``concurrent.futures`` interface: the standard library's ``ProcessPoolExecutor`` by default (``JOBS=N``), or
Dask's ``Client.get_executor()`` (``SCHEDULER=tcp://host:8786``, or ``SCHEDULER=local`` for a ``LocalCluster`` of
JOBS workers on this machine). The process pool has at most one task per worker in flight, so a Ctrl-C or a dead
worker concerns only the tasks that were really running; a worker's next task is submitted as soon as its last one
is done, before the caller records that outcome. A Dask cluster holds PREFETCH more: a task's round trip through
the scheduler (in the driver's process, next to the thread that records outcomes) took 50 ms, 5% of a submission,
while the worker waited. A Ctrl-C then also waits for that one; if its worker dies, it is retried as below.

Nothing is lost when a worker dies: a task whose worker died is run again, up to ``max_tries`` times (a process
pool is rebuilt; a LocalCluster's scheduler reports the death at once as ``KilledWorker`` instead of rescheduling
the task itself); after that its outcome is a ``WorkerDied`` exception, which the grading command records as a
failed submission. A death does not say which task caused it, so every task in flight then becomes a suspect, and a
suspect runs again alone, with nothing else in flight: a submission that kills its worker each time uses up its
own tries, and the innocent ones that were graded beside it the first time are graded in full.
"""

import contextlib
import functools
import os
import signal
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

#: Tasks a Dask cluster holds beyond one per worker thread, so that a worker's next submission is already there
#: when it finishes one.
PREFETCH = 1

#: Times a task is started before a worker death while grading it counts as the submission's fault.
MAX_TRIES = 3

#: Dask settings of a LocalCluster (its scheduler, nannies and workers), and what the README asks of the scheduler
#: and workers of a remote cluster (as DASK_* variables: dask_environment()). Dask's defaults watch an interactive
#: cluster: a statistical profiler that samples the task thread's stack every 10 ms, an event-loop health tick every
#: 20 ms in every process, memory and system monitors several times a second. An idle LocalCluster of two workers
#: spent 24% of a core on them (3% with these). A grading task runs for a second or more, and nobody reads its
#: profile. The memory limits are still enforced, once a second.
DASK_SETTINGS = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.worker.memory.monitor-interval": "1s",
    "distributed.admin.system-monitor.interval": "2s",
    # A task whose worker dies fails at once (KilledWorker) instead of being rescheduled by the scheduler, which
    # would put it beside other tasks again: run() retries it alone (see the module's docstring).
    "distributed.scheduler.allowed-failures": 0,
}


class WorkerDied(RuntimeError):
    """The worker grading a task died (killed, out of memory, crashed) every time the task was tried."""


class Interrupted:
    """A Ctrl-C flag: the first SIGINT asks the run to stop after the tasks in flight; the second stops now."""

    def __init__(self):
        self.requested = False

    def __call__(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True


def _pool_initializer():
    """A pool worker ignores Ctrl-C: the driver decides when to stop."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def executor(jobs=1, scheduler=None):
    """An Executor for grading tasks, and how many tasks it runs at once.

    Arguments:
    jobs -- worker processes (the process pool, or the LocalCluster's workers)
    scheduler -- None (a process pool), "local" (a Dask LocalCluster) or a Dask scheduler address

    Yields:
    (make, width) -- make() returns a fresh Executor (called again after a process pool broke); width is the
                     number of tasks to keep in flight
    """
    if scheduler is None:
        def make():
            return ProcessPoolExecutor(max_workers=max(1, jobs), initializer=_pool_initializer)

        yield make, max(1, jobs)
        return
    saved_environment = dict(os.environ)
    client, cluster = _dask_client(jobs, scheduler)
    try:
        width = max(1, sum(client.nthreads().values())) + PREFETCH
        # pure=False: a task's key is a fresh id, not a hash of its arguments (5 ms of the driver's time a task,
        # for a result that grading never reuses)
        yield functools.partial(client.get_executor, pure=False), width
    finally:
        client.close()
        cluster is not None and cluster.close()
        _restore_environment(saved_environment)


def _restore_environment(saved):
    """Put this process's environment back as it was: a LocalCluster's nannies set OMP_NUM_THREADS and friends to 1
    in the process that starts them, and every kernel or training run it started later would inherit that."""
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    for key, value in saved.items():
        if os.environ.get(key) != value:
            os.environ[key] = value


def _dask_client(jobs, scheduler):
    """(Client, LocalCluster or None) for a scheduler address or "local"."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise RuntimeError("grading on a Dask cluster needs the optional dependency distributed: "
                           "pip install -e '.[cluster]'") from None
    import dask

    with dask.config.set(DASK_SETTINGS):  # read when the scheduler, nannies and workers start (nannies hand it on)
        if scheduler == "local":
            cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                                   dashboard_address=None)
            return Client(cluster), cluster
        return Client(scheduler), None


def dask_environment():
    """DASK_SETTINGS as the environment variables that set them in a Dask process (for a remote cluster's workers:
    `env` of dask-jobqueue's job script or of a dask-gateway or dask-kubernetes worker)."""
    return {"DASK_" + key.upper().replace(".", "__").replace("-", "_"): str(value)
            for key, value in DASK_SETTINGS.items()}


class _Queue:
    """The tasks still to run, and what is known of their tries.

    pending -- tasks still to start, the next one last
    tries -- {id(task): times it was started}
    suspects -- ids of the tasks that were in flight when a worker died: each runs again alone
    """

    def __init__(self, tasks):
        self.pending, self.tries, self.suspects = list(reversed(tasks)), {}, set()

    def may_start_next(self, inflight):
        """Whether the next pending task may join the tasks in flight: a suspect runs with no other task."""
        return not inflight or (id(self.pending[-1]) not in self.suspects
                                and not any(id(t) in self.suspects for t in inflight.values()))

    def died(self, task, max_tries):
        """Its worker died while it was in flight: [(task, WorkerDied)] once it has had max_tries, else [] (it
        goes back to the queue, next, as a suspect)."""
        if self.tries[id(task)] >= max_tries:
            return [(task, WorkerDied(f"the grading worker died each of the {self.tries[id(task)]} times this "
                                      "submission was graded"))]
        self.suspects.add(id(task))
        self.pending.append(task)
        return []


def run(function, context, tasks, *, jobs=1, scheduler=None, max_tries=MAX_TRIES, interrupted=None):
    """Run function(context, task) for every task; yield (task, outcome) as each finishes.

    outcome is the function's return value, or the exception it raised (WorkerDied when its worker died each of
    the max_tries times it was started). With `interrupted` (an Interrupted flag) set, no new task starts and the
    run ends once the tasks in flight are done.
    """
    queue = _Queue(tasks)
    with executor(jobs, scheduler) as (make, width):
        while queue.pending and not (interrupted and interrupted.requested):
            pool = make()
            try:
                yield from _drain(pool, function, context, queue, width, max_tries, interrupted)
            finally:
                _shutdown(pool)


def _shutdown(pool):
    """Stop an executor without waiting (Dask's ClientExecutor takes no cancel_futures)."""
    try:
        pool.shutdown(wait=False, cancel_futures=True)
    except TypeError:
        pool.shutdown(wait=False)


def _drain(pool, function, context, queue, width, max_tries, interrupted):
    """Keep up to `width` tasks in flight on one executor until none is left or it breaks (then return)."""
    inflight = {}
    if not _submit_up_to(width, pool, function, context, queue, inflight, interrupted):
        yield from _requeue(inflight, queue, max_tries)
        return
    while inflight:
        done, _ = wait(inflight, timeout=0.5, return_when=FIRST_COMPLETED)
        finished = [(future, inflight.pop(future)) for future in done]
        # The next tasks start before these outcomes are handed over: no worker waits while the caller records one.
        broken = not _submit_up_to(width, pool, function, context, queue, inflight, interrupted)
        for future, task in finished:
            try:
                yield task, future.result()
            except BrokenProcessPool:
                broken = True
                yield from queue.died(task, max_tries)
            except Exception as exc:  # noqa: BLE001 -- the caller records it as this submission's failure
                if type(exc).__name__ == "KilledWorker":  # Dask: this task's worker died
                    yield from queue.died(task, max_tries)
                else:
                    yield task, exc
        if broken:  # every other task in flight died with the pool: run them again on a new one
            yield from _requeue(inflight, queue, max_tries)
            return
        _submit_up_to(width, pool, function, context, queue, inflight, interrupted)  # a task that died goes again


def _submit_up_to(width, pool, function, context, queue, inflight, interrupted):
    """Submit pending tasks until `width` are in flight (a suspect alone); False when the executor is broken (a
    worker died since the last wait): the task that found it so never started and goes back to the queue, with no
    try counted."""
    while (queue.pending and len(inflight) < width and queue.may_start_next(inflight)
           and not (interrupted and interrupted.requested)):
        task = queue.pending.pop()
        try:
            future = pool.submit(function, context, task)
        except BrokenProcessPool:
            queue.pending.append(task)
            return False
        queue.tries[id(task)] = queue.tries.get(id(task), 0) + 1
        inflight[future] = task
    return True


def _requeue(inflight, queue, max_tries):
    """The tasks in flight on a broken pool: each back in the queue as a suspect, or given up after max_tries."""
    for future, task in list(inflight.items()):
        inflight.pop(future)
        yield from queue.died(task, max_tries)
