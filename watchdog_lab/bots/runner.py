"""One bot's runner: a detached process that executes the bot's notebook and keeps it alive.

Started by :mod:`.supervisor` with ``start_new_session`` so it outlives whatever started it (a
closed JupyterLab, a logged-out shell). Its granted connections arrive once, on standard input,
and live only in this process's memory from then on: a crashed kernel is restarted from here,
while the vault is locked or the Jupyter server is down.

Each execution starts a fresh bot kernel (the bot's own venv, IPC transport, the sandbox
prefix in front of its command). Its environment holds the bot's id and folders and no secret:
the granted connections reach it on a fresh inherited pipe (:class:`ConnectionHandOver`) that
the SDK reads once at kernel start. A kernel takes most of a second to start, so while the bot
waits for its next run (its schedule, or a restart's backoff) the next fresh kernel is started
and made ready ahead (*prewarmed*): the run then begins on its due time. The schedule runs on
the monotonic clock (:class:`Schedule`), so a wall-clock change neither skips nor doubles a
run. A bot promoted with ``reuse_kernel`` keeps one kernel across runs instead.

Every output is streamed, redacted, to ``logs/bot.jsonl`` as it arrives, the kernel's
descriptors 1 and 2 included (:mod:`.runner_output`), and the executed notebook is kept in
``runs/`` with its outputs redacted. Neither the runner's copy of the notebook nor the kernel
keeps more than the tail of what a cell printed: a continuous bot's cell never ends, and its
output would otherwise stay in memory for good.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import concurrent.futures
import contextlib
import faulthandler
import hashlib
import hmac
import logging
import math
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.asynchronous.client import AsyncKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

from ..paths import home_dir
from ..redact import Redactor, install_log_redaction
from ..sdk import Connection
from ..sdk.hardening import make_undumpable
from ..sdk.injection import FD_ENV_VAR, decode_connections, encode_connections
from .confine import describe_containment, describe_level, launcher_prefix, sandbox_notice
from .containment import end_session
from .diskspace import disk_full
from .errors import BotError, NotebookChanged
from .gateway import LEDGER_FILE, REMOTE_CONFINEMENT, GatewaySession, GatewayTarget
from .layout import BotPaths, socket_root
from .logs import MAX_TEXT, LogWriter
from .models import BotConfig, BotMode, BotState, BotStatus, ErrorRecord
from .runner_output import KernelOutput, OutputCap, capture_own_output
from .status import process_start_time, read_status, self_identity, write_status

HEARTBEAT_SECONDS = 2.0
KERNEL_POLL_SECONDS = 0.1
INTERRUPT_GRACE_SECONDS = 3.0
TERMINATE_GRACE_SECONDS = 2.0
KEEP_RUNS = 50
HANDOVER_CHUNK = 64 * 1024
#: Seconds a kernel may take from launch to answering its first request.
KERNEL_STARTUP_SECONDS = 60
#: How long before its due time a run readies its notebook, its kernel and its client.
RUN_LEAD_SECONDS = 0.25
#: A scheduled run this late (seconds) says so in the log (a restart after a failure does not:
#: its kernel starts during a backoff that may be shorter than a kernel's start).
LATE_NOTICE_SECONDS = 0.5
#: How often a thread waiting on the kernels' event loop looks at the stop flag.
WAIT_POLL_SECONDS = 0.2
#: The kernel's command-line options, the same for every kernel of every bot.
KERNEL_ARGUMENTS = [
    "--HistoryManager.enabled=False",
    # The runner captures descriptors 1 and 2 itself (runner_output); ipykernel's
    # capture would also echo every byte there, logging it twice.
    "--IPKernelApp.capture_fd_output=False",
    "--IPKernelApp.exec_lines=import watchdog_lab.sdk as _wd_sdk; _wd_sdk.preload()",
    # ipykernel batches output every 0.2 s; a live bot log wants it sooner.
    "--IPKernelApp.exec_lines=import sys as _s; "
    "_s.stdout.flush_interval = _s.stderr.flush_interval = 0.05",
    # IPython keeps a copy of everything a cell prints (history outputs) until the
    # cell ends, with history disabled too: a continuous bot's kernel would grow by
    # all it ever printed. The runner logs the output; the kernel keeps none.
    "--IPKernelApp.exec_lines=get_ipython().history_manager.outputs = "
    "type('NoOutputHistory', (dict,), {'__missing__': lambda self, key: []})()",
]
#: papermill's tag on the cell it adds to set the parameters.
INJECTED_TAG = "injected-parameters"
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

log = logging.getLogger("watchdog_lab.runner")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class BotKernelManager(AsyncKernelManager):
    """Puts the sandbox launcher in front of the kernel's command line, and reports the
    kernel's pid the moment it exists (a stop may arrive while the kernel is still starting)."""

    launcher_prefix: list[str] = []
    on_launch: Any = None
    after_launch: Any = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.launcher_prefix, *super().format_kernel_cmd(extra_arguments)]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        try:
            await super()._async_launch_kernel(kernel_cmd, **kw)
        finally:
            if self.after_launch is not None:  # the kernel holds its ends of the pipes now
                self.after_launch()
        process = getattr(self.provisioner, "process", None)
        if self.on_launch is not None and process is not None:
            self.on_launch(process.pid)


class ConnectionHandOver:
    """The pipe on which one kernel receives the granted connections, never its environment.

    The read end is inherited by the kernel (``pass_fds``; it stays open across the exec
    wrapper and bubblewrap, which both keep inherited descriptors), and only its number goes
    in the kernel's environment (``WATCHDOG_LAB_CONNECTIONS_FD``). A thread writes the payload
    (it may exceed the 64 KiB a pipe buffers) and closes the write end, so the kernel's read
    ends. The write end is non-blocking and watched with a timeout: a kernel that dies before
    reading makes the write fail (the runner closed its copy of the read end at launch), and
    one that neither reads nor dies is given up on at :meth:`close`; the runner never hangs.
    """

    def __init__(self, payload: bytes) -> None:
        self.read_fd, self._write_fd = os.pipe()
        os.set_inheritable(self.read_fd, True)
        os.set_blocking(self._write_fd, False)
        self._read_open = True
        self._done = threading.Event()
        self._thread = threading.Thread(
            target=self._write, args=(payload,), name="handover", daemon=True
        )
        self._thread.start()

    def _write(self, payload: bytes) -> None:
        view = memoryview(payload)
        try:
            while view and not self._done.is_set():
                _, writable, _ = select.select([], [self._write_fd], [], 0.2)
                if not writable:
                    continue
                try:
                    written = os.write(self._write_fd, view[:HANDOVER_CHUNK])
                except BlockingIOError:
                    continue
                except OSError:  # the kernel is gone (EPIPE): nothing more to hand over
                    return
                view = view[written:]
        finally:
            view.release()
            os.close(self._write_fd)

    def launched(self) -> None:
        """Close the runner's copy of the read end (the kernel holds its own)."""
        if self._read_open:
            self._read_open = False
            os.close(self.read_fd)

    @property
    def writing(self) -> bool:
        """True while the writer thread still runs."""
        return self._thread.is_alive()

    def close(self) -> None:
        """Stop writing (the kernel has ended) and release both ends."""
        self._done.set()
        self.launched()
        self._thread.join(1.0)


class StreamingClient(NotebookClient):
    """nbclient with a hook on every output message, a bound on the outputs it keeps, and
    prompt detection of a dead kernel.

    nbclient keeps every output of a cell until the cell ends; a continuous bot's cell never
    does. Each output is handed to ``on_output`` (the log) as it arrives, and the notebook
    keeps only what :class:`OutputCap` allows.
    """

    def __init__(self, nb: Any, *, on_output: Any, cap: OutputCap, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self._on_output = on_output
        self._cap = cap

    def output(
        self, outs: list[Any], msg: dict[str, Any], display_id: str | None, cell_index: int
    ) -> Any:
        result = super().output(outs, msg, display_id, cell_index)
        self._on_output(msg, cell_index)
        if result is not None:
            self._bound(cell_index)
        return result

    def _bound(self, cell_index: int) -> None:
        """Trim the notebook's outputs; keep nbclient's display-id indices pointing at the
        same outputs (an update of a dropped display is ignored)."""
        cells = self.nb.cells
        tracked = {
            (display_id, index): [cells[index].outputs[i] for i in positions]
            for display_id, cell_map in self._display_id_map.items()
            for index, positions in cell_map.items()
            if positions
        }
        if not self._cap.added(cells, cell_index) or not tracked:
            return
        for (display_id, index), kept in tracked.items():
            where = {id(out): i for i, out in enumerate(cells[index].outputs)}
            self._display_id_map[display_id][index] = [
                where[id(out)] for out in kept if id(out) in where
            ]

    async def _async_poll_kernel_alive(self) -> None:
        # nbclient polls once a second; a bot's restart budget is tighter than that.
        while True:
            await asyncio.sleep(KERNEL_POLL_SECONDS)
            try:
                await self._async_check_alive()
            except DeadKernelError:
                assert self.task_poll_for_reply is not None
                self.task_poll_for_reply.cancel()
                return


class Schedule:
    """The due times of an every-N bot, on the monotonic clock: run k is due at
    ``anchor + k * interval``, whatever the wall clock does and however long runs take.

    A run that ends after its successor's due time skips to the next slot still ahead (no
    burst of make-up runs); a run that starts late does not move the slots after it (no drift).
    """

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.anchor: float | None = None
        self.slot = 0

    def start(self, now: float) -> None:
        """The first run is due now: every later slot counts from here."""
        if self.anchor is None:
            self.anchor = now

    def next_due(self, now: float) -> tuple[float, int]:
        """The next slot after ``now`` and how many slots were skipped to reach it."""
        assert self.anchor is not None, "start() first"
        ahead = math.floor((now - self.anchor) / self.interval) + 1
        slot = max(ahead, self.slot + 1)
        skipped = slot - self.slot - 1
        self.slot = slot
        return self.anchor + slot * self.interval, skipped


class KernelLoop:
    """One event loop, on a thread of its own, for every kernel of the runner.

    A kernel's client (zmq.asyncio sockets) belongs to the loop that made it: a kernel
    prewarmed while the bot waits is connected and checked on this loop, and the notebook
    later runs on this same loop. Off the main thread, nbclient cannot take over SIGINT and
    SIGTERM either, so the runner's own handlers (graceful stop) stay in force throughout.
    """

    def __init__(self) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="kernels", daemon=True)
        self._thread.start()

    def submit(self, coro: Coroutine[Any, Any, Any]) -> concurrent.futures.Future[Any]:
        return asyncio.run_coroutine_threadsafe(coro, self._loop)

    def call(self, coro: Coroutine[Any, Any, Any]) -> Any:
        """Run ``coro`` on the loop and wait for it, waking regularly: the calling thread
        (the main one) keeps receiving signals meanwhile."""
        return wait_future(self.submit(coro))

    def close(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(2.0)


def wait_future(future: concurrent.futures.Future[Any]) -> Any:
    """The future's result, waited for in short slices: a thread blocked in one long wait
    would hold off the Python-level signal handlers of the main thread (a stop). Done-ness is
    asked, not a timeout caught: nbclient's ``CellTimeoutError`` is a ``TimeoutError`` too."""
    while not future.done():
        concurrent.futures.wait([future], timeout=WAIT_POLL_SECONDS)
    return future.result()


class BotKernel:
    """One started bot kernel: its manager, its connected client, and the pipes of its
    output and of its connections' hand-over, all released together by :meth:`Runner._discard`.
    """

    def __init__(
        self,
        km: BotKernelManager,
        output: KernelOutput,
        handover: ConnectionHandOver | None,
        run_no: int,
    ) -> None:
        self.km = km
        self.kc: AsyncKernelClient | None = None
        self.output = output
        self.handover = handover
        # The run its descriptor output is logged under (a kept kernel serves several).
        self.run_no = run_no
        self.started = time.monotonic()

    @property
    def process(self) -> Any:
        return getattr(self.km.provisioner, "process", None)

    @property
    def pid(self) -> int | None:
        process = self.process
        return process.pid if process is not None else None

    def alive(self) -> bool:
        """The kernel process has not exited (the exec wrapper's outer process exits with the
        kernel it holds)."""
        process = self.process
        return process is not None and process.poll() is None

    def exit_code(self) -> int | None:
        process = self.process
        return process.poll() if process is not None else None


class GatewayBotKernel(BotKernel):
    """A kernel on a gateway: no local process; alive while the gateway has it and its
    channels are open."""

    @property
    def process(self) -> Any:
        return None

    def alive(self) -> bool:
        return bool(self.km.alive_now())  # type: ignore[attr-defined]

    def exit_code(self) -> int | None:
        return None


class Runner:
    def __init__(
        self,
        home: Path,
        bot_id: str,
        connections: list[Connection],
        redactor: Redactor | None = None,
        notebook_sha256: bytes | None = None,
        gateway: GatewayTarget | None = None,
    ) -> None:
        self.paths = BotPaths(home, bot_id)
        # The sealed notebook's digest, handed over with the connections: the only notebook
        # bytes this runner may execute (None: a bot without connections, nothing to guard).
        self._pin = notebook_sha256
        self._notebook_text: str | None = None
        # Where papermill put the parameters cell in the executed copy, and whether it is a
        # cell the version does not have (see _version_cell).
        self._injected: tuple[int, bool] | None = None
        self._refused: str | None = None
        self.config = BotConfig.model_validate_json(self.paths.config_file.read_text())
        # main() passes the redactor its own output already goes through; it learns the values.
        self.redactor = redactor if redactor is not None else Redactor()
        self.redactor.set_secrets(
            [(c.name, field, c[field]) for c in connections for field in c.field_names]
        )
        self._token = (
            (encode_connections(connections) + "\n").encode("ascii") if connections else b""
        )
        # Kernels on a gateway (docs/gateway.md): its token is one more secret to redact.
        self._gateway = (
            GatewaySession(gateway, self.paths.run_dir / LEDGER_FILE)
            if gateway is not None
            else None
        )
        if gateway is not None:
            self.redactor.add_secrets(gateway.secrets())
        self._granted = len(connections)
        self.log = LogWriter(self.paths.log_file, self.redactor, self.config.log_rotation)
        pid, start = self_identity()
        previous = read_status(self.paths.status_file, bot_id)
        self.status = BotStatus(
            bot_id=bot_id,
            state=BotState.STARTING,
            pid=pid,
            pid_start=start,
            started_at=time.time(),
            heartbeat_at=time.time(),
            runs=previous.runs,
            last_error=previous.last_error,
            sandbox=describe_level(self.config.sandbox) if gateway is None else REMOTE_CONFINEMENT,
            containment=(
                describe_containment(self.config.sandbox, self.config.rlimits)
                if gateway is None
                else REMOTE_CONFINEMENT
            ),
            last_seq=self.log.seq,
        )
        self._status_lock = threading.Lock()
        self._stop = threading.Event()
        self._kernel_pid: int | None = None
        self._kernel_ready = False
        # IPC sockets need a short path (Unix sockets allow ~100 bytes); the bot folder may be
        # deep, so they live in a private 0700 folder of the system temp directory.
        self._ipc_dir = Path(tempfile.mkdtemp(prefix=f"{bot_id[:8]}-", dir=socket_root()))
        self._failures: collections.deque[float] = collections.deque()
        self._kernels = KernelLoop()
        # Every kernel gets its own IPC folder and connection file, a replaced one included.
        self._kernel_serial = 0
        # The next run's kernel, starting or ready while the bot waits, and its pid once
        # launched (a stop kills it at once: it has nothing to finish).
        self._spare: concurrent.futures.Future[BotKernel] | None = None
        self._spare_pid: int | None = None
        # The kernel a reuse_kernel bot keeps between runs.
        self._kept: BotKernel | None = None
        # When the next run is due (monotonic), once the loop has scheduled it, and whether
        # it is a scheduled run (not a restart).
        self._due: float | None = None
        self._due_scheduled = False

    # ------------------------------------------------------------- status

    def _update(self, **changes: Any) -> None:
        with self._status_lock:
            for key, value in changes.items():
                setattr(self.status, key, value)
            self.status.heartbeat_at = time.time()
            self.status.last_seq = self.log.seq
            try:
                write_status(self.paths.status_file, self.status)
            except OSError as exc:  # a full disk: the next update tries again
                log.warning("status not written: %s", exc.strerror or type(exc).__name__)

    def _heartbeat(self) -> None:
        while not self._stop.wait(HEARTBEAT_SECONDS):
            self._update()

    def system(self, text: str) -> None:
        self.log.write("system", text)

    # ------------------------------------------------------------ control

    def request_stop(self, *_: object) -> None:
        """Signal handler: stop after interrupting, then terminating, then killing the kernel."""
        if self._stop.is_set():
            return
        self._stop.set()
        threading.Thread(target=self._stop_kernel, daemon=True).start()

    def _kernel_launched(self, pid: int) -> None:
        self._kernel_pid = pid
        self._kernel_ready = False
        if self._stop.is_set():  # the stop came between the loop's check and the launch
            threading.Thread(target=self._stop_kernel, daemon=True).start()

    def _spare_launched(self, pid: int) -> None:
        self._spare_pid = pid
        self._update(prewarmed_kernel_pid=pid, prewarmed_kernel_pid_start=process_start_time(pid))
        if self._stop.is_set():  # the stop came while the kernel was being launched
            self._kill_spare()

    def _kill_spare(self) -> None:
        pid = self._spare_pid
        if pid is None:
            return
        try:
            os.killpg(pid, signal.SIGKILL)
        except ProcessLookupError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)

    def _stop_kernel(self) -> None:
        if self._gateway is not None:  # no local process: interrupt, then delete, remotely
            self._gateway.stop_all(INTERRUPT_GRACE_SECONDS)
            return
        self._kill_spare()
        steps = [(signal.SIGKILL, 0.0)]
        if self._kernel_ready:  # a starting kernel has nothing to finish: no grace
            steps = [
                (signal.SIGINT, INTERRUPT_GRACE_SECONDS),
                (signal.SIGTERM, TERMINATE_GRACE_SECONDS),
                *steps,
            ]
        for sig, grace in steps:
            pid = self._kernel_pid
            if pid is None:
                return
            try:
                # The kernel leads its own process group (jupyter_client starts it in a new
                # session); under bubblewrap only a signal to the group reaches it.
                os.killpg(pid, sig)
            except ProcessLookupError:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    return
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline and self._kernel_pid == pid:
                time.sleep(0.05)

    # ---------------------------------------------------------------- run

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self.request_stop)
        signal.signal(signal.SIGINT, self.request_stop)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        self._update(state=BotState.STARTING)
        threading.Thread(target=self._heartbeat, daemon=True).start()
        self.system(
            f"runner started (pid {self.status.pid}, mode {self.config.mode.value}, "
            f"sandbox {self.status.sandbox}, containment {self.status.containment})"
        )
        try:
            notice = (
                sandbox_notice(self.config.sandbox)
                if self._gateway is None
                else self._gateway.start()
            )
        except BotError as exc:  # the machine cannot give the sandbox the bot demands
            self.system(f"not running: {exc}")
            self._update(state=BotState.CRASHED, reason=str(exc), kernel_pid=None)
            self.log.close()
            shutil.rmtree(self._ipc_dir, ignore_errors=True)
            return 1
        if notice:
            self.system(notice)
        try:
            return self._loop()
        finally:
            self._discard_spare()
            if self._kept is not None:
                self._discard(self._kept)
                self._kept = None
            self._kernels.close()
            self.log.close()
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    def _loop(self) -> int:
        policy = self.config.restart
        consecutive = 0
        schedule = (
            Schedule(self.config.interval)
            if self.config.mode is BotMode.EVERY and self.config.interval
            else None
        )
        while not self._stop.is_set():
            run_no = self.status.runs + 1
            if schedule is not None:
                schedule.start(time.monotonic())
            self._update(state=BotState.STARTING, runs=run_no, next_run_at=None)
            error = self._execute(run_no)
            if self._refused is not None:
                self.system(f"not running: {self._refused}")
                self._update(state=BotState.CRASHED, reason=self._refused, kernel_pid=None)
                return 1
            if self._stop.is_set():
                break
            if error is None:
                consecutive = 0
                self._update(consecutive_failures=0)
                if schedule is not None:
                    due, skipped = schedule.next_due(time.monotonic())
                    if skipped:
                        self.system(
                            f"run {run_no} ended after the next run was due (every "
                            f"{schedule.interval:g}s): skipping {skipped} scheduled run(s); "
                            f"the next starts in {due - time.monotonic():.1f}s"
                        )
                    self._wait_until(due, run_no + 1, BotState.SLEEPING)
                    continue
                self.system("notebook finished")
                self._update(state=BotState.STOPPED, reason="finished", kernel_pid=None)
                return 0
            consecutive += 1
            now = time.monotonic()  # a wall-clock jump must not widen or narrow the window
            full = disk_full(self.paths)  # not the code's fault: retried, never a crash loop
            if full is not None:
                error = f"disk full: {full}"
            else:
                self._failures.append(now)
            while self._failures and self._failures[0] < now - policy.window_seconds:
                self._failures.popleft()
            if len(self._failures) >= policy.max_failures:
                reason = (
                    f"crash loop: {len(self._failures)} failures within "
                    f"{policy.window_seconds:g}s; last: {error}"
                )
                self.system(f"giving up: {reason}")
                self._update(state=BotState.CRASHED, reason=reason, kernel_pid=None)
                return 1
            delay = policy.delay(consecutive)
            self.system(f"run {run_no} failed ({error}); restarting in {delay:g}s")
            self._update(
                restarts=self.status.restarts + 1,
                consecutive_failures=consecutive,
                reason=error,
            )
            self._wait_until(now + delay, run_no + 1, BotState.STARTING)
        self.system("stopped on request")
        self._update(state=BotState.STOPPED, reason="stopped on request", kernel_pid=None)
        return 0

    def _wait_until(self, due: float, next_run: int, state: BotState) -> None:
        """Wait for the next run due at the monotonic time ``due`` (or a stop), its kernel
        starting meanwhile. Returns a moment early: the run readies its notebook and its kernel
        and then waits for ``due`` itself (:meth:`_execute`), so its first cell starts on time.
        ``next_run_at`` is shown on the wall clock, for people."""
        self._update(state=state, next_run_at=time.time() + (due - time.monotonic()))
        self._prewarm(next_run)
        self._due, self._due_scheduled = due, state is BotState.SLEEPING
        self._sleep_until(due - RUN_LEAD_SECONDS)

    def _sleep_until(self, until: float) -> None:
        remaining = until - time.monotonic()
        while remaining > 0 and not self._stop.wait(remaining):
            remaining = until - time.monotonic()

    def _kernel_env(self, handover: ConnectionHandOver | None) -> dict[str, str]:
        p = self.paths
        env = {
            "PATH": f"{p.venv / 'bin'}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(p.tmp),
            "TMPDIR": str(p.tmp),
            "IPYTHONDIR": str(p.tmp / "ipython"),
            "MPLCONFIGDIR": str(p.tmp / "matplotlib"),
            "LANG": os.environ.get("LANG", "C.UTF-8"),
            "PYTHONUNBUFFERED": "1",
            "PYTHONNOUSERSITE": "1",
            # The venv is read-only to the bot; its bytecode comes precompiled from the cache.
            "PYTHONDONTWRITEBYTECODE": "1",
            # The sandbox refuses TCP binds on purpose; ipykernel's warning about it would
            # otherwise open every run of the bot's log (its stderr is the bot's output).
            "PYTHONWARNINGS": "ignore:Couldn't bind IOPub Pipe:UserWarning",
            "WATCHDOG_LAB_BOT_ID": self.config.id,
            "WATCHDOG_LAB_BOT_NAME": self.config.name,
            "WATCHDOG_LAB_BOT_DIR": str(p.root),
            "WATCHDOG_LAB_STATE_DIR": str(p.state),
        }
        if handover is not None:
            env[FD_ENV_VAR] = str(handover.read_fd)  # the number only, never the payload
        return env

    def _notebook(self) -> str:
        """The notebook's text, read once and checked against the sealed digest: every run
        executes these same bytes, whatever happens to the file afterwards."""
        if self._notebook_text is None:
            data = self.paths.notebook(self.config.notebook_version).read_bytes()
            if self._pin is not None and not hmac.compare_digest(
                hashlib.sha256(data).digest(), self._pin
            ):
                raise NotebookChanged(
                    f"notebook version {self.config.notebook_version} changed outside WatchDog "
                    "Lab after its seal was checked; its connections are withheld. Promote the "
                    "notebook again."
                )
            self._notebook_text = data.decode("utf-8")
        return self._notebook_text

    def _prepare_notebook(self) -> Any:
        nb = nbformat.reads(self._notebook(), as_version=4)
        if not self.config.parameters:
            return nb
        from papermill.parameterize import parameterize_notebook
        from papermill.utils import find_first_tagged_cell_index

        # The metadata papermill's own loader would add, which its parameterizer reads.
        nb.metadata.setdefault("papermill", {"default_parameters": {}, "parameters": {}})
        for cell in nb.cells:
            cell.metadata.setdefault("tags", [])
            cell.metadata.setdefault("papermill", {})
        cells = len(nb.cells)
        executed = parameterize_notebook(
            nb, self.config.parameters, kernel_name=self.config.kernel_name, language="python"
        )
        at = find_first_tagged_cell_index(executed, INJECTED_TAG)
        self._injected = (at, len(executed.cells) > cells) if at >= 0 else None
        return executed

    def _version_cell(self, cell_index: int | None) -> int | None:
        """The index in the bot's notebook version of the executed copy's cell ``cell_index``
        (what a fix replaces); None for the parameters cell, which exists only in the copy."""
        if cell_index is None or self._injected is None:
            return cell_index
        at, added = self._injected
        if cell_index == at:
            return None
        return cell_index - 1 if added and cell_index > at else cell_index

    def _execute(self, run_no: int) -> str | None:
        """Execute the notebook once; return None on success or a one-line failure reason."""
        self.system(f"run {run_no} on notebook version {self.config.notebook_version}")
        try:
            nb = self._prepare_notebook()
        except NotebookChanged as exc:
            self._refused = str(exc)
            self._discard_spare()  # a kernel started for this notebook gets nothing to run
            return self._refused
        except Exception as exc:  # an unreadable notebook is a failure, not a runner crash
            self._discard_spare()
            return f"notebook unreadable: {type(exc).__name__}"
        try:
            kernel = self._kernel_for(run_no)
        except BotError as exc:
            return f"sandbox: {exc}"
        except Exception as exc:
            return self._failure(exc)
        # The pid first: a stop from now on reaches this kernel (see _stop_kernel).
        self._kernel_pid = kernel.pid
        self._kernel_ready = False
        if self._stop.is_set():
            self._discard(kernel)
            return None
        current_cell: dict[str, Any] = {}

        def on_output(msg: dict[str, Any], cell_index: int) -> None:
            self._log_output(msg, cell_index, run_no, nb, current_cell)

        def on_cell_execute(cell_index: int, **_: Any) -> None:
            current_cell["index"] = cell_index

        client = StreamingClient(
            nb,
            on_output=on_output,
            cap=OutputCap(nbformat.v4.new_output),
            km=kernel.km,
            kernel_name=self.config.kernel_name,
            timeout_func=self._cell_timeout(nb),
            on_cell_execute=on_cell_execute,
            startup_timeout=KERNEL_STARTUP_SECONDS,
            resources={"metadata": {"path": str(self.paths.state)}},
        )
        client.kc = kernel.kc
        kept_from = kernel.run_no if kernel.run_no != run_no else None
        kernel.run_no = run_no
        due, self._due = self._due, None
        if due is not None:  # everything is ready: start exactly on time
            self._sleep_until(due)
            late = time.monotonic() - due
            if late > LATE_NOTICE_SECONDS and self._due_scheduled:
                self.system(
                    f"run {run_no} starts {late:.1f}s after its due time: its kernel was not "
                    "ready (the machine is busy, or kernels take longer to start than the wait)"
                )
        if self._stop.is_set():
            self._discard(kernel)
            return None
        self._kernel_ready = True
        error: str | None = None
        try:
            execution = self._kernels.submit(client.async_execute())
            self._update(
                state=BotState.RUNNING,
                kernel_pid=kernel.pid,
                kernel_pid_start=process_start_time(kernel.pid) if kernel.pid else None,
            )
            self.system(
                f"run {run_no}: kernel started (pid {kernel.pid})"
                if kept_from is None
                else f"run {run_no}: on the kernel kept from run {kept_from} (pid {kernel.pid})"
            )
            wait_future(execution)
        except CellTimeoutError:
            error = self._timed_out(nb, current_cell.get("index"))
        except CellExecutionError as exc:
            error = f"cell raised {exc.ename}" if getattr(exc, "ename", "") else "a cell failed"
        except DeadKernelError:
            error = "kernel died"
        except Exception as exc:
            error = self._failure(exc)
        finally:
            self._kernel_ready = False
            if (
                self.config.reuse_kernel
                and error is None
                and not self._stop.is_set()
                and kernel.alive()
            ):
                self._kept = kernel  # its pid stays in the status: a stop ends it too
            else:
                self._discard(kernel)
            self._save_run(nb, run_no)
        if self._stop.is_set():
            return None
        return error

    def _failure(self, exc: BaseException) -> str:
        return f"{type(exc).__name__}: {self.redactor.redact(str(exc))[:300]}"

    # ------------------------------------------------------------ kernels

    def _kernel_for(self, run_no: int) -> BotKernel:
        """The kernel run ``run_no`` executes on: the kept one (``reuse_kernel``), else the
        prewarmed one, else one started now. A kernel that died while it waited is replaced,
        and the log says so."""
        kept, self._kept = self._kept, None
        if kept is not None:
            if kept.alive():
                return kept
            self.system(
                f"run {run_no}: the kept kernel (pid {kept.pid}) died while the bot waited "
                f"(exit status {kept.exit_code()}); starting a fresh one"
            )
            self._discard(kept)
            self._update(kernel_pid=None, kernel_pid_start=None)
        spare = self._take_spare(run_no)
        if spare is not None:
            return spare
        started: BotKernel = self._kernels.call(self._start_kernel(run_no, spare=False))
        return started

    def _prewarm(self, run_no: int) -> None:
        """Start run ``run_no``'s kernel now, in the background, unless it has one already."""
        if not self.config.prewarm_kernel or self._spare is not None or self._kept is not None:
            return
        if self._stop.is_set():
            return
        self._spare = self._kernels.submit(self._start_kernel(run_no, spare=True))

    def _take_spare(self, run_no: int) -> BotKernel | None:
        """The prewarmed kernel, once ready and if still alive; None if there is none."""
        future, self._spare = self._spare, None
        if future is None:
            return None
        kernel: BotKernel | None = None
        try:
            kernel = wait_future(future)
        except Exception as exc:
            self.system(
                f"run {run_no}: the prewarmed kernel did not start "
                f"({self._failure(exc)}); starting another"
            )
        finally:
            self._spare_pid = None
            self._update(
                prewarmed_kernel_pid=None,
                prewarmed_kernel_pid_start=None,
                prewarmed_kernel_ready=False,
            )
        if kernel is None:
            return None
        if kernel.alive():
            kernel.km.on_launch = self._kernel_launched
            return kernel
        self.system(
            f"run {run_no}: the prewarmed kernel (pid {kernel.pid}) died while the bot waited "
            f"(exit status {kernel.exit_code()}); starting a fresh one"
        )
        self._discard(kernel)
        return None

    def _discard_spare(self) -> None:
        """End the prewarmed kernel, starting or ready (a stop, a refused notebook)."""
        future, self._spare = self._spare, None
        if future is None:
            return
        self._kill_spare()
        try:
            kernel = wait_future(future)
        except Exception:  # it died starting: its manager cleaned up after itself
            kernel = None
        self._spare_pid = None
        if kernel is not None:
            self._discard(kernel)
        self._update(
            prewarmed_kernel_pid=None, prewarmed_kernel_pid_start=None, prewarmed_kernel_ready=False
        )

    async def _start_kernel(self, run_no: int, *, spare: bool) -> BotKernel:
        """Launch a fresh kernel with its own hand-over of the connections, connect a client
        and wait until it answers: what nbclient would do, done ahead of the run."""
        if self._gateway is not None:
            return await self._start_gateway_kernel(run_no)
        self._kernel_serial += 1
        serial = self._kernel_serial
        km = BotKernelManager(
            kernel_name=self.config.kernel_name,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(self.paths.home / "kernels")]),
            transport="ipc",
            ip=str(self._ipc_dir / f"k{serial}"),
            connection_file=str(self.paths.run_dir / f"kernel-{serial}.json"),
        )
        km.launcher_prefix = launcher_prefix(self.paths, self.config, self._ipc_dir)
        km.on_launch = self._spare_launched if spare else self._kernel_launched
        km.shutdown_wait_time = TERMINATE_GRACE_SECONDS
        handover = ConnectionHandOver(self._token) if self._token else None
        kernel: BotKernel

        def deliver(name: str, text: str) -> None:
            self._log_fd_output(name, text, kernel.run_no)

        output = KernelOutput(self.redactor, deliver)
        kernel = BotKernel(km, output, handover, run_no)

        def after_launch() -> None:
            output.launched()
            if handover is not None:
                handover.launched()

        km.after_launch = after_launch
        try:
            await km.start_kernel(
                extra_arguments=KERNEL_ARGUMENTS,
                env=self._kernel_env(handover),
                cwd=str(self.paths.state),
                stdout=output.stdout,
                stderr=output.stderr,
                pass_fds=(handover.read_fd,) if handover is not None else (),
            )
            kernel.kc = km.client()
            kernel.kc.start_channels()
            await kernel.kc.wait_for_ready(timeout=KERNEL_STARTUP_SECONDS)
            kernel.kc.allow_stdin = False
        except BaseException:
            await asyncio.get_running_loop().run_in_executor(None, self._discard, kernel)
            raise
        if spare:
            self._update(prewarmed_kernel_ready=True)
        return kernel

    async def _start_gateway_kernel(self, run_no: int) -> BotKernel:
        """A kernel on the gateway, handed the connections once it answers (see
        :mod:`.gateway`); nothing of it runs here, so its output pipes stay unused."""
        assert self._gateway is not None
        km = self._gateway.manager(
            env={"WATCHDOG_LAB_BOT_ID": self.config.id, "WATCHDOG_LAB_BOT_NAME": self.config.name},
            payload=self._token.decode("ascii").strip(),
            expected=self._granted,
        )
        output = KernelOutput(self.redactor, lambda name, text: None)
        output.launched()
        kernel = GatewayBotKernel(km, output, None, run_no)  # type: ignore[arg-type]
        try:
            await km.start_kernel()
            kernel.kc = km.client()
            kernel.kc.start_channels()
            await kernel.kc.wait_for_ready(timeout=KERNEL_STARTUP_SECONDS)
            kernel.kc.allow_stdin = False
        except BaseException:
            await asyncio.get_running_loop().run_in_executor(None, self._discard, kernel)
            raise
        self.system(f"run {run_no}: {km.describe()} accepted {self._granted} connection(s)")
        return kernel

    def _discard(self, kernel: BotKernel) -> None:
        """End a kernel by signal: its notebook is done, so there is nothing to wait for, and
        a signal cannot hang the way a shutdown request to a wedged kernel can. Everything
        it wrote is in the log before what follows."""
        process = kernel.process
        try:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(TERMINATE_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            if process is not None:  # where no PID namespace holds them: what kept its session
                end_session(process.pid, None)
            self._kernels.call(self._release(kernel))
        except Exception as exc:  # never let cleanup take the runner down
            log.warning("kernel cleanup: %s", type(exc).__name__)
        finally:
            if kernel.pid is not None and self._kernel_pid == kernel.pid:
                self._kernel_pid = None
                self._kernel_ready = False
            if kernel.handover is not None:
                kernel.handover.close()
            kernel.output.close()

    @staticmethod
    async def _release(kernel: BotKernel) -> None:
        if kernel.kc is not None:
            kernel.kc.stop_channels()
        await kernel.km.cleanup_resources()

    def _cell_timeout(self, nb: Any) -> Any:
        """nbclient's per-cell timeout, from the bot's ``cell_timeout`` (None: no limit).

        A continuous bot's last code cell is its loop, meant to run until stopped: the limit
        bounds the cells before it (set-up that must not hang), never the loop itself.
        """
        limit = self.config.cell_timeout
        if not limit:
            return None
        exempt = None
        if self.config.mode is BotMode.CONTINUOUS:
            code = [c for c in nb.cells if c.cell_type == "code" and c.source.strip()]
            exempt = code[-1] if code else None
        return lambda cell: None if cell is exempt else limit

    def _timed_out(self, nb: Any, cell_index: int | None) -> str:
        """The failure of a run whose cell outlived the bot's ``cell_timeout``."""
        limit = self.config.cell_timeout or 0
        where = f"cell {cell_index + 1}" if cell_index is not None else "a cell"
        reason = (
            f"{where} timed out: still running after {limit:g}s (the bot's cell timeout); "
            "its kernel was stopped"
        )
        if not self._stop.is_set():
            source = nb.cells[cell_index].source if cell_index is not None else ""
            self._update(
                last_error=ErrorRecord(
                    cell_index=self._version_cell(cell_index),
                    notebook_version=self.config.notebook_version,
                    source=self.redactor.redact(source),
                    ename="CellTimeout",
                    evalue=f"still running after {limit:g}s",
                    at=time.time(),
                )
            )
        return reason

    def _log_fd_output(self, stream: str, text: str, run_no: int) -> None:
        """Text the kernel wrote to descriptor 1 or 2, already redacted by the drain."""
        for start in range(0, len(text), MAX_TEXT):
            self.log.write(stream, text[start : start + MAX_TEXT], run=run_no)

    def _log_output(
        self, msg: dict[str, Any], cell_index: int, run_no: int, nb: Any, current: dict[str, Any]
    ) -> None:
        kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        content = msg.get("content", {})
        if kind == "stream":
            # The kernel names the stream; only the runner may write "system" records, so a
            # bot cannot forge one ("notebook finished") by sending its own stream message.
            name = "stderr" if content.get("name") == "stderr" else "stdout"
            text = content.get("text", "")
            if len(text) > MAX_TEXT:  # a record holds 64 KiB: split, not cut, once redacted
                text = self.redactor.redact(text)  # (a secret must not straddle two records)
            for start in range(0, len(text), MAX_TEXT):
                self.log.write(name, text[start : start + MAX_TEXT], cell=cell_index, run=run_no)
        elif kind in ("display_data", "execute_result"):
            text = content.get("data", {}).get("text/plain")
            if text:
                self.log.write("display", text, cell=cell_index, run=run_no)
        elif kind == "error":
            traceback = [
                self.redactor.redact(strip_ansi(line)) for line in content.get("traceback", [])
            ]
            record = ErrorRecord(
                cell_index=self._version_cell(cell_index),
                notebook_version=self.config.notebook_version,
                source=self.redactor.redact(nb.cells[cell_index].source),
                ename=content.get("ename", ""),
                evalue=self.redactor.redact(content.get("evalue", "")),
                traceback=traceback,
                at=time.time(),
            )
            self.log.write(
                "error", "\n".join(traceback) or record.ename, cell=cell_index, run=run_no
            )
            if not self._stop.is_set():  # an interrupt we sent is not the bot's failure
                self._update(last_error=record)

    def _save_run(self, nb: Any, run_no: int) -> None:
        """Keep the executed notebook with every output redacted; prune old runs."""
        from ..redact.notebook import redact_notebook

        try:
            clean = redact_notebook(nb, self.redactor)
            stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
            target = self.paths.runs / f"{stamp}-r{run_no:05d}.ipynb"
            tmp = target.with_suffix(".tmp")
            nbformat.write(clean, str(tmp))
            tmp.chmod(0o600)
            tmp.replace(target)
            for old in sorted(self.paths.runs.glob("*.ipynb"))[:-KEEP_RUNS]:
                old.unlink(missing_ok=True)
        except Exception as exc:
            self.system(f"could not save run {run_no}: {type(exc).__name__}")


def _read_handover() -> tuple[list[Connection], bytes | None, GatewayTarget | None]:
    """Read what the supervisor hands over on stdin, once, then close stdin: line 1 the grant
    payload, line 2 the hex SHA-256 of the sealed notebook (empty for a bot without grants),
    line 3 the gateway its kernels run on, with its token (empty or absent: here)."""
    data = sys.stdin.read()
    sys.stdin.close()
    token, _, rest = data.partition("\n")
    pin_hex, _, gateway_line = rest.partition("\n")
    pin_hex = pin_hex.strip()
    gateway = GatewayTarget.decode(gateway_line.strip()) if gateway_line.strip() else None
    try:
        pin = bytes.fromhex(pin_hex) if pin_hex else None
    except ValueError:
        pin = b""  # unreadable: matches no notebook, so the bot is refused, never unguarded
    connections = (
        decode_connections(token.strip(), origin="the runner's input") if token.strip() else []
    )
    if connections and pin is None:
        pin = b""  # connections without a sealed digest: refuse rather than run unchecked
    return connections, pin, gateway


def _hold_runner_lock(paths: BotPaths) -> Any:
    """One runner per bot, whoever starts it (the CLI and a server at once): an exclusive
    ``flock`` held for the runner's lifetime; the kernel does not inherit the descriptor."""
    import fcntl

    handle = open(paths.root / "runner.lock", "a")  # noqa: SIM115 - held until exit
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        return None
    return handle


def main(argv: list[str] | None = None) -> int:
    # First of all, before any secret is in this process: descriptors 1 and 2 (runner.log)
    # become pipes drained through the redactor, which learns the values once they arrive.
    redactor = Redactor()
    own_output = capture_own_output(redactor)
    try:
        return _main(argv, redactor)
    finally:
        own_output.close()


def _main(argv: list[str] | None, redactor: Redactor) -> int:
    parser = argparse.ArgumentParser(prog="python -m watchdog_lab.bots.runner")
    parser.add_argument("bot_id")
    parser.add_argument("--home", default=None)
    args = parser.parse_args(argv)
    make_undumpable()  # the granted connections live in this process's memory from now on
    connections, pin, gateway = _read_handover()
    home = home_dir(args.home)
    lock = _hold_runner_lock(BotPaths(home, args.bot_id))
    if lock is None:
        print("another runner already runs this bot; not starting a second one", file=sys.stderr)
        return 3
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1` dumps stacks
    runner = Runner(home, args.bot_id, connections, redactor, notebook_sha256=pin, gateway=gateway)
    # Everything written to descriptors 1 and 2 already passes through ``redactor`` (main);
    # the log formatter's redaction stays as a second line for records.
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    install_log_redaction(runner.redactor)
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
