"""The server's bot operations, kept off its IOLoop: blocking calls, promote jobs, reconcile.

A Jupyter server answers every request on one thread. Promoting a notebook builds a venv
(seconds), starting a bot waits for its runner's handshake, stopping one waits up to 15 s for
the kernel to finish: run on that thread, each would freeze every kernel, notebook save and log
stream of the server meanwhile. So every :class:`BotManager` call of the REST routes goes
through :class:`BotOperations`:

- blocking calls run in a thread pool and are awaited;
- a promote becomes a *job* the client polls: it runs in a pool of its own (builds are heavy,
  two at a time on a small machine), records each progress step, then the bot or the error;
- calls that change one bot's processes are serialised per bot (two clicks on "start" must
  not start two runners), and a reconcile runs alone: it may start any bot;
- reconcile requests (server start, every unlock, a runner that ended) are coalesced: a
  request made while none is queued queues one, so a run always follows the latest request and
  none piles up;
- a :class:`RunnerWatch` notices a runner that ended without being asked to (``kill -9``, the
  OOM killer) and asks for a reconcile, which starts it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import select
import threading
import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from enum import Enum
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field

from ..bots.errors import BotError
from ..bots.layout import BotPaths
from ..bots.models import BotState, BotStatus, DescribeBot, PromoteBot
from ..bots.registry import BotRecord
from ..bots.status import is_alive, read_status, runner_is_alive, write_status
from ..bots.supervisor import ACTIVE_STATES, BotManager
from ..vault.errors import VaultError

T = TypeVar("T")

CALL_WORKERS = 8
BUILD_WORKERS = 2
KEEP_JOBS = 100
JOB_TTL_SECONDS = 3600.0
MAX_STEPS = 200
UNEXPECTED_JOB_ERROR = "The promote failed unexpectedly. The Jupyter server log has the details."


class JobState(str, Enum):
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class DescribeJob(BaseModel):
    """What ``GET bots/jobs/{id}`` answers; the client polls it until ``state`` is final."""

    model_config = ConfigDict(extra="forbid")

    id: str
    kind: str = "promote"
    state: JobState
    steps: list[str] = Field(default_factory=list)
    bot: DescribeBot | None = None
    error: str | None = None
    created_at: float
    finished_at: float | None = None


class _Job:
    """A job's state, written by its worker thread and read by request handlers."""

    def __init__(self, kind: str) -> None:
        self.id = uuid.uuid4().hex
        self.kind = kind
        self.created_at = time.time()
        self._lock = threading.Lock()
        self._state = JobState.RUNNING
        self._steps: list[str] = []
        self._bot: DescribeBot | None = None
        self._error: str | None = None
        self._finished_at: float | None = None

    def step(self, text: str) -> None:
        with self._lock:
            self._steps.append(text)
            del self._steps[:-MAX_STEPS]

    def finish(self, bot: DescribeBot) -> None:
        with self._lock:
            self._bot, self._state, self._finished_at = bot, JobState.DONE, time.time()

    def fail(self, error: str) -> None:
        with self._lock:
            self._error, self._state, self._finished_at = error, JobState.FAILED, time.time()

    @property
    def finished_at(self) -> float | None:
        return self._finished_at

    def describe(self) -> DescribeJob:
        with self._lock:
            return DescribeJob(
                id=self.id,
                kind=self.kind,
                state=self._state,
                steps=list(self._steps),
                bot=self._bot,
                error=self._error,
                created_at=self.created_at,
                finished_at=self._finished_at,
            )


class _Gate:
    """Any number of per-bot operations at once, or one reconcile alone.

    A waiting reconcile holds back new operations, so a steady stream of clicks cannot
    starve it.
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._shared = 0
        self._exclusive = False
        self._exclusive_waiting = 0

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        with self._cond:
            while self._exclusive or self._exclusive_waiting:
                self._cond.wait()
            self._shared += 1
        try:
            yield
        finally:
            with self._cond:
                self._shared -= 1
                self._cond.notify_all()

    @contextlib.contextmanager
    def exclusive(self) -> Iterator[None]:
        with self._cond:
            self._exclusive_waiting += 1
            while self._exclusive or self._shared:
                self._cond.wait()
            self._exclusive_waiting -= 1
            self._exclusive = True
        try:
            yield
        finally:
            with self._cond:
                self._exclusive = False
                self._cond.notify_all()


class BotOperations:
    """One per server: runs :class:`BotManager` calls away from the IOLoop (see module doc).

    ``manager`` is called in a worker thread whenever a manager is needed, so a lazily built
    one (the app's) is built off the IOLoop too.
    """

    def __init__(
        self,
        manager: Callable[[], BotManager],
        log: logging.Logger,
        *,
        workers: int = CALL_WORKERS,
        builders: int = BUILD_WORKERS,
    ) -> None:
        self._manager = manager
        self._log = log
        self._calls = ThreadPoolExecutor(workers, thread_name_prefix="watchdog-bots")
        self._builds = ThreadPoolExecutor(builders, thread_name_prefix="watchdog-promote")
        self._reconciler = ThreadPoolExecutor(1, thread_name_prefix="watchdog-reconcile")
        self._gate = _Gate()
        self._bot_locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()
        self._jobs: OrderedDict[str, _Job] = OrderedDict()
        self._jobs_guard = threading.Lock()
        self._reconcile_guard = threading.Lock()
        self._reconcile_queued: Future[dict[str, str]] | None = None
        self._watch: RunnerWatch | None = None

    # ------------------------------------------------------------------ calls

    async def call(self, func: Callable[[BotManager], T]) -> T:
        """Run ``func(manager)`` in a worker thread: reads, and changes to no process."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._calls, lambda: func(self._manager()))

    async def on_bot(self, ref: str, func: Callable[[BotManager, str], T]) -> T:
        """Run ``func(manager, bot_id)`` in a worker thread, alone among the calls on that bot
        and never during a reconcile: for anything that starts or stops processes."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._calls, functools.partial(self._on_bot, ref, func))

    def _on_bot(self, ref: str, func: Callable[[BotManager, str], T]) -> T:
        manager = self._manager()
        bot_id = manager.registry.get(ref).id
        with self._gate.shared(), self._bot_lock(bot_id):
            return func(manager, bot_id)

    def _bot_lock(self, bot_id: str) -> threading.Lock:
        with self._locks_guard:
            return self._bot_locks.setdefault(bot_id, threading.Lock())

    # ------------------------------------------------------------------- jobs

    def promote(self, request: PromoteBot) -> DescribeJob:
        """Queue a promote (checked beforehand by the caller) and return its job."""
        job = _Job("promote")
        with self._jobs_guard:
            self._prune_jobs()
            self._jobs[job.id] = job
        job.step("queued")
        self._builds.submit(self._promote, job, request)
        return job.describe()

    def job(self, job_id: str) -> DescribeJob | None:
        with self._jobs_guard:
            job = self._jobs.get(job_id)
        return job.describe() if job is not None else None

    def _prune_jobs(self) -> None:
        """Forget finished jobs after an hour, and the oldest finished ones beyond a count
        (running ones are always kept: someone is waiting for them)."""
        now = time.time()
        finished = [
            (job_id, job.finished_at)
            for job_id, job in self._jobs.items()
            if job.finished_at is not None
        ]
        for job_id, finished_at in finished:  # oldest first: the dict keeps creation order
            if len(self._jobs) >= KEEP_JOBS or now - finished_at > JOB_TTL_SECONDS:
                del self._jobs[job_id]

    def _promote(self, job: _Job, request: PromoteBot) -> None:
        try:
            manager = self._manager()
            bot = manager.promote(request.model_copy(update={"start": False}), job.step)
            if request.start:
                job.step("starting")
                with self._gate.shared(), self._bot_lock(bot.id):
                    bot = manager.start(bot.id)
            job.finish(bot)
        except (BotError, VaultError) as exc:
            job.fail(str(exc))
        except Exception:
            self._log.exception("WatchDog Lab: promote job %s failed", job.id)
            job.fail(UNEXPECTED_JOB_ERROR)

    # -------------------------------------------------------------- reconcile

    def reconcile_soon(self, reason: str) -> Future[dict[str, str]]:
        """Queue a reconcile unless one is already queued (not yet started): that one will see
        everything this request would."""
        with self._reconcile_guard:
            if self._reconcile_queued is not None:
                return self._reconcile_queued
            future = self._reconciler.submit(self._reconcile, reason)
            self._reconcile_queued = future
            return future

    def _reconcile(self, reason: str) -> dict[str, str]:
        with self._reconcile_guard:
            self._reconcile_queued = None
        try:
            with self._gate.exclusive():
                done = self._manager().reconcile()
        except Exception:
            self._log.exception("WatchDog Lab: reconcile after %s failed", reason)
            raise
        summary = ", ".join(f"{name}: {what}" for name, what in sorted(done.items()))
        self._log.info(
            "WatchDog Lab reconciled bots after %s: %s", reason, summary or "no bot should run"
        )
        return done

    # ---------------------------------------------------------------- watching

    def watch_runners(self, interval: float, ready: Callable[[], bool]) -> RunnerWatch:
        """Start watching the runners of the bots that should run (see :class:`RunnerWatch`);
        ``ready`` says whether there can be any (a vault file exists: the registry is in it,
        and building a manager before would create the file)."""
        if self._watch is None:
            self._watch = RunnerWatch(self, self._manager, interval, self._log, ready)
            self._watch.start()
        return self._watch

    # --------------------------------------------------------------- lifetime

    def shutdown(self) -> None:
        """Stop taking work; what runs finishes (a half-built bot is cleaned up by promote)."""
        if self._watch is not None:
            self._watch.stop()
            self._watch = None
        for pool in (self._calls, self._builds, self._reconciler):
            pool.shutdown(wait=False, cancel_futures=True)


#: A runner, as one process for good: its bot, its pid and its start time.
_RunnerKey = tuple[str, int, int | None]


class RunnerWatch:
    """Restarts, through a reconcile, the bots whose runner ended without being asked to.

    A runner ends by itself only on purpose (stopped, finished, a crash loop), and then says so
    in its ``status.json``; one killed outright (``kill -9``, the OOM killer) leaves a status
    that still reads active. The watch holds a pidfd of each live runner of a bot that should
    run: the kernel makes it readable the moment the process ends, so the restart follows at
    once, with no polling. Every ``interval`` seconds it reads the registry and the status
    files again (a query and a small file per bot), to watch runners started since, the CLI's
    included, and, where pidfds are missing, to find a dead runner by its pid and start time.

    A bot that needs its connections while the vault is locked is left waiting by the
    reconcile (nothing is restarted, so nothing counts against it). Restarts the watch caused
    are counted per bot against the bot restart policy: a runner killed again and again (a
    machine short of memory) ends ``crashed`` instead of being started forever.
    """

    def __init__(
        self,
        ops: BotOperations,
        manager: Callable[[], BotManager],
        interval: float,
        log: logging.Logger,
        ready: Callable[[], bool],
    ) -> None:
        self._ops = ops
        self._manager = manager
        self._ready = ready
        self._interval = interval
        self._log = log
        self._stopped = threading.Event()
        self._wake_r, self._wake_w = os.pipe()
        os.set_blocking(self._wake_w, False)
        # A reconcile may finish (and wake the watch) after the watch has ended: its pipe's
        # descriptor numbers may then name other files, which must not be written to.
        self._pipe_guard = threading.Lock()
        self._pipe_open = True
        self._pidfds: dict[_RunnerKey, int] = {}
        # Runners found dead and already reported: a reconcile that could not start one must
        # not be asked again at every wake (the next unlock or server start retries it).
        self._reported: set[_RunnerKey] = set()
        self._restarts: dict[str, deque[float]] = {}
        self._thread = threading.Thread(target=self._run, name="watchdog-runners", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        self.wake()
        self._thread.join(5.0)

    def wake(self) -> None:
        """Scan now (a reconcile finished: its new runners are to be watched)."""
        with self._pipe_guard, contextlib.suppress(BlockingIOError, OSError):
            if self._pipe_open:
                os.write(self._wake_w, b"x")

    def _run(self) -> None:
        try:
            while not self._stopped.is_set():
                try:
                    self._scan()
                except Exception:  # a bad status file or a closed vault must not end the watch
                    self._log.exception("WatchDog Lab: watching bot runners failed")
                self._wait()
        finally:
            for fd in self._pidfds.values():
                os.close(fd)
            self._pidfds.clear()
            with self._pipe_guard:
                self._pipe_open = False
                os.close(self._wake_r)
                os.close(self._wake_w)

    def _wait(self) -> None:
        """Until a watched runner ends, a wake, or ``interval`` seconds."""
        poller = select.poll()
        poller.register(self._wake_r, select.POLLIN)
        for fd in self._pidfds.values():
            poller.register(fd, select.POLLIN)
        ended = set()
        for fd, _ in poller.poll(self._interval * 1000):
            if fd == self._wake_r:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._wake_r, 4096)
            else:
                ended.add(fd)
        for key, fd in list(self._pidfds.items()):  # the scan decides what the end means
            if fd in ended:
                os.close(self._pidfds.pop(key))

    def _scan(self) -> None:
        if not self._ready():  # no vault file, no bots (and none is created)
            return
        manager = self._manager()
        current: set[_RunnerKey] = set()
        dead: dict[str, tuple[BotRecord, BotStatus, _RunnerKey]] = {}
        records = manager.registry.list()
        for gone in set(self._restarts) - {record.id for record in records}:  # deleted bots
            del self._restarts[gone]
        for record in records:
            if record.desired_state != "running":
                continue
            status = read_status(BotPaths(manager.home, record.id).status_file, record.id)
            if status.state not in ACTIVE_STATES or status.pid is None:
                continue
            key = (record.id, status.pid, status.pid_start)
            current.add(key)
            if key in self._pidfds and runner_is_alive(status):
                continue
            if runner_is_alive(status) and self._watch_pid(key):
                continue
            if key not in self._reported:
                dead[record.id] = (record, status, key)
        for key in set(self._pidfds) - current:  # stopped, restarted, deleted
            os.close(self._pidfds.pop(key))
        self._reported &= current
        if not dead:
            return
        now = time.monotonic()
        for bot_id, (record, status, key) in dead.items():
            self._reported.add(key)
            policy = record.config.restart
            times = self._restarts.setdefault(bot_id, deque())
            while times and times[0] < now - policy.window_seconds:
                times.popleft()
            if len(times) >= policy.max_failures:
                self._give_up(manager, record, status, len(times), policy.window_seconds)
                continue
            self._log.warning("WatchDog Lab: the runner of bot %r ended unasked", record.name)
        future = self._ops.reconcile_soon("a runner ended")
        future.add_done_callback(lambda done: self._reconciled(done, set(dead)))

    def _watch_pid(self, key: _RunnerKey) -> bool:
        """Hold a pidfd of the runner ``key``; False if it is gone meanwhile. Without pidfds
        (not Linux 5.3+) the runner is checked again at the next scan."""
        _, pid, start = key
        try:
            fd = os.pidfd_open(pid)
        except (AttributeError, OSError) as exc:
            return not isinstance(exc, ProcessLookupError)
        # Opened after the check: the pid may since name another process. The pidfd names
        # whatever holds the pid now, so check again that it is still the runner.
        if not is_alive(pid, start):
            os.close(fd)
            return False
        self._pidfds[key] = fd
        return True

    def _reconciled(self, future: Future[dict[str, str]], bot_ids: set[str]) -> None:
        """Count the restarts this watch asked for; then scan, to watch the new runners."""
        with contextlib.suppress(Exception):
            done = future.result()
            manager = self._manager()
            now = time.monotonic()
            for bot_id in bot_ids:
                with contextlib.suppress(BotError):
                    if done.get(manager.registry.get(bot_id).name) == "restarted":
                        self._restarts.setdefault(bot_id, deque()).append(now)
        self.wake()

    def _give_up(
        self,
        manager: BotManager,
        record: BotRecord,
        status: BotStatus,
        count: int,
        window: float,
    ) -> None:
        """Leave a bot whose runner keeps dying ``crashed``, as a runner's own crash loop
        does: a reconcile leaves it so, and a human looks first."""
        reason = f"crash loop: its runner ended {count} times within {window:g}s (killed)"
        status.state, status.pid, status.kernel_pid = BotState.CRASHED, None, None
        status.reason, status.next_run_at = reason, None
        write_status(BotPaths(manager.home, record.id).status_file, status)
        self._log.warning("WatchDog Lab: bot %r not restarted: %s", record.name, reason)
