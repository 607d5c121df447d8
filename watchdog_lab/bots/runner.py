"""One bot's runner: a detached process that executes the bot's notebook and keeps it alive.

Started by :mod:`.supervisor` with ``start_new_session`` so it outlives whatever started it (a
closed JupyterLab, a logged-out shell). Its granted connections arrive once, on standard input,
and live only in this process's memory from then on: a crashed kernel is restarted from here,
while the vault is locked or the Jupyter server is down.

Each execution starts a fresh bot kernel (the bot's own venv, IPC transport, the sandbox
prefix in front of its command) whose environment holds exactly the granted connections and
the bot's id and folders. Every output is streamed, redacted, to ``logs/bot.jsonl`` as it
arrives, and the executed notebook is kept in ``runs/`` with its outputs redacted.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import faulthandler
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import nbformat
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, DeadKernelError

from ..paths import home_dir
from ..redact import RedactingStream, Redactor, install_log_redaction
from ..sdk import Connection
from ..sdk.hardening import make_undumpable
from ..sdk.injection import ENV_VAR, decode_connections, encode_connections
from .confine import describe_level, launcher_prefix, sandbox_notice
from .errors import BotError
from .layout import BotPaths
from .logs import LogWriter
from .models import BotConfig, BotMode, BotState, BotStatus, ErrorRecord
from .status import process_start_time, read_status, self_identity, write_status

HEARTBEAT_SECONDS = 2.0
KERNEL_POLL_SECONDS = 0.1
INTERRUPT_GRACE_SECONDS = 3.0
TERMINATE_GRACE_SECONDS = 2.0
KEEP_RUNS = 50
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")

log = logging.getLogger("watchdog_lab.runner")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


class BotKernelManager(AsyncKernelManager):
    """Puts the sandbox launcher in front of the kernel's command line, and reports the
    kernel's pid the moment it exists (a stop may arrive while the kernel is still starting)."""

    launcher_prefix: list[str] = []
    on_launch: Any = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        return [*self.launcher_prefix, *super().format_kernel_cmd(extra_arguments)]

    async def _async_launch_kernel(self, kernel_cmd: list[str], **kw: Any) -> None:
        await super()._async_launch_kernel(kernel_cmd, **kw)
        process = getattr(self.provisioner, "process", None)
        if self.on_launch is not None and process is not None:
            self.on_launch(process.pid)


class StreamingClient(NotebookClient):
    """nbclient with a hook on every output message, and prompt detection of a dead kernel."""

    def __init__(self, nb: Any, *, on_output: Any, **kwargs: Any) -> None:
        super().__init__(nb, **kwargs)
        self._on_output = on_output

    def output(self, outs: list, msg: dict, display_id: str | None, cell_index: int) -> Any:
        result = super().output(outs, msg, display_id, cell_index)
        self._on_output(msg, cell_index)
        return result

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


class Runner:
    def __init__(self, home: Path, bot_id: str, connections: list[Connection]) -> None:
        self.paths = BotPaths(home, bot_id)
        self.config = BotConfig.model_validate_json(self.paths.config_file.read_text())
        self.redactor = Redactor(
            [(c.name, field, c[field]) for c in connections for field in c.field_names]
        )
        self._token = encode_connections(connections) if connections else ""
        self.log = LogWriter(self.paths.log_file, self.redactor)
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
            sandbox=describe_level(self.config.sandbox),
            last_seq=self.log.seq,
        )
        self._status_lock = threading.Lock()
        self._stop = threading.Event()
        self._kernel_pid: int | None = None
        self._kernel_ready = False
        # IPC sockets need a short path (Unix sockets allow ~100 bytes); the bot folder may be
        # deep, so they live in a private 0700 folder of the system temp directory.
        self._ipc_dir = Path(tempfile.mkdtemp(prefix=f"wdl-{bot_id[:8]}-"))
        self._failures: collections.deque[float] = collections.deque()

    # ------------------------------------------------------------- status

    def _update(self, **changes: Any) -> None:
        with self._status_lock:
            for key, value in changes.items():
                setattr(self.status, key, value)
            self.status.heartbeat_at = time.time()
            self.status.last_seq = self.log.seq
            write_status(self.paths.status_file, self.status)

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

    def _stop_kernel(self) -> None:
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
            f"sandbox {self.status.sandbox})"
        )
        try:
            notice = sandbox_notice(self.config.sandbox)
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
            self.log.close()
            shutil.rmtree(self._ipc_dir, ignore_errors=True)

    def _loop(self) -> int:
        policy = self.config.restart
        consecutive = 0
        while not self._stop.is_set():
            run_no = self.status.runs + 1
            self._update(state=BotState.STARTING, runs=run_no, next_run_at=None)
            error = self._execute(run_no)
            if self._stop.is_set():
                break
            if error is None:
                consecutive = 0
                self._update(consecutive_failures=0)
                if self.config.mode is BotMode.EVERY and self.config.interval:
                    next_at = time.time() + self.config.interval
                    self._update(state=BotState.SLEEPING, next_run_at=next_at)
                    self._stop.wait(self.config.interval)
                    continue
                self.system("notebook finished")
                self._update(state=BotState.STOPPED, reason="finished", kernel_pid=None)
                return 0
            consecutive += 1
            now = time.time()
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
                state=BotState.STARTING,
                restarts=self.status.restarts + 1,
                consecutive_failures=consecutive,
                reason=error,
                next_run_at=now + delay,
            )
            self._stop.wait(delay)
        self.system("stopped on request")
        self._update(state=BotState.STOPPED, reason="stopped on request", kernel_pid=None)
        return 0

    def _kernel_env(self) -> dict[str, str]:
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
            "WATCHDOG_LAB_BOT_ID": self.config.id,
            "WATCHDOG_LAB_BOT_NAME": self.config.name,
            "WATCHDOG_LAB_BOT_DIR": str(p.root),
            "WATCHDOG_LAB_STATE_DIR": str(p.state),
        }
        if self._token:
            env[ENV_VAR] = self._token
        return env

    def _prepare_notebook(self) -> Any:
        path = self.paths.notebook(self.config.notebook_version)
        if not self.config.parameters:
            return nbformat.read(path, as_version=4)
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        # papermill's loader adds the cell tags and metadata its parameterizer reads.
        return parameterize_notebook(
            load_notebook_node(str(path)),
            self.config.parameters,
            kernel_name=self.config.kernel_name,
            language="python",
        )

    def _execute(self, run_no: int) -> str | None:
        """Execute the notebook once; return None on success or a one-line failure reason."""
        try:
            nb = self._prepare_notebook()
        except Exception as exc:  # an unreadable notebook is a failure, not a runner crash
            return f"notebook unreadable: {type(exc).__name__}"
        km = BotKernelManager(
            kernel_name=self.config.kernel_name,
            kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(self.paths.home / "kernels")]),
            transport="ipc",
            ip=str(self._ipc_dir / f"k{run_no}"),
            connection_file=str(self.paths.run_dir / f"kernel-{run_no}.json"),
        )
        try:
            km.launcher_prefix = launcher_prefix(self.paths, self.config, self._ipc_dir)
        except BotError as exc:
            return f"sandbox: {exc}"
        km.on_launch = self._kernel_launched
        km.shutdown_wait_time = TERMINATE_GRACE_SECONDS
        current_cell: dict[str, Any] = {}

        def on_output(msg: dict, cell_index: int) -> None:
            self._log_output(msg, cell_index, run_no, nb, current_cell)

        def on_start(**_: Any) -> None:
            process = getattr(km.provisioner, "process", None)
            self._kernel_pid = process.pid if process else None
            self._kernel_ready = True
            self._update(
                state=BotState.RUNNING,
                kernel_pid=self._kernel_pid,
                kernel_pid_start=process_start_time(self._kernel_pid) if self._kernel_pid else None,
            )
            self.system(f"run {run_no}: kernel started (pid {self._kernel_pid})")

        client = StreamingClient(
            nb,
            on_output=on_output,
            km=km,
            kernel_name=self.config.kernel_name,
            timeout=self.config.cell_timeout,
            startup_timeout=60,
            resources={"metadata": {"path": str(self.paths.state)}},
            extra_arguments=[
                "--HistoryManager.enabled=False",
                "--IPKernelApp.exec_lines=import watchdog_lab.sdk as _wd_sdk; _wd_sdk.preload()",
                # ipykernel batches output every 0.2 s; a live bot log wants it sooner.
                "--IPKernelApp.exec_lines=import sys as _s; "
                "_s.stdout.flush_interval = _s.stderr.flush_interval = 0.05",
            ],
            on_notebook_start=on_start,
        )
        error: str | None = None
        try:
            self._in_thread(client.execute, env=self._kernel_env())
        except CellExecutionError as exc:
            error = f"cell raised {exc.ename}" if getattr(exc, "ename", "") else "a cell failed"
        except DeadKernelError:
            error = "kernel died"
        except Exception as exc:
            error = f"{type(exc).__name__}: {self.redactor.redact(str(exc))[:300]}"
        finally:
            self._shutdown(km)
            self._save_run(nb, run_no)
        if self._stop.is_set():
            return None
        return error

    def _in_thread(self, func: Any, **kwargs: Any) -> Any:
        """Run nbclient off the main thread. nbclient takes over SIGINT/SIGTERM while it runs
        and resets them to the default afterwards; off the main thread it cannot, so the
        runner's own handlers (graceful stop) stay in force throughout."""
        outcome: dict[str, Any] = {}

        def target() -> None:
            try:
                outcome["value"] = func(**kwargs)
            except BaseException as exc:
                outcome["error"] = exc

        worker = threading.Thread(target=target, name="notebook", daemon=True)
        worker.start()
        while worker.is_alive():
            worker.join(0.2)
        if "error" in outcome:
            raise outcome["error"]
        return outcome.get("value")

    def _shutdown(self, km: AsyncKernelManager) -> None:
        """End the kernel by signal: the notebook is done, so there is nothing to wait for, and
        a signal cannot hang the way a shutdown request to a wedged kernel can."""
        process = getattr(km.provisioner, "process", None)
        try:
            if process is not None and process.poll() is None:
                process.terminate()
                try:
                    process.wait(TERMINATE_GRACE_SECONDS)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
            run_sync(km.cleanup_resources)()
        except Exception as exc:  # never let cleanup take the runner down
            log.warning("kernel cleanup: %s", type(exc).__name__)
        finally:
            self._kernel_pid = None
            self._kernel_ready = False

    def _log_output(
        self, msg: dict, cell_index: int, run_no: int, nb: Any, current: dict[str, Any]
    ) -> None:
        kind = msg.get("msg_type") or msg.get("header", {}).get("msg_type")
        content = msg.get("content", {})
        if kind == "stream":
            self.log.write(
                content.get("name", "stdout"), content.get("text", ""), cell=cell_index, run=run_no
            )
        elif kind in ("display_data", "execute_result"):
            text = content.get("data", {}).get("text/plain")
            if text:
                self.log.write("display", text, cell=cell_index, run=run_no)
        elif kind == "error":
            traceback = [
                self.redactor.redact(strip_ansi(line)) for line in content.get("traceback", [])
            ]
            record = ErrorRecord(
                cell_index=cell_index,
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


def _read_connections() -> list[Connection]:
    """Read the grant payload from stdin once, then close stdin."""
    data = sys.stdin.read()
    sys.stdin.close()
    token = data.strip()
    return decode_connections(token, origin="the runner's input") if token else []


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
    parser = argparse.ArgumentParser(prog="python -m watchdog_lab.bots.runner")
    parser.add_argument("bot_id")
    parser.add_argument("--home", default=None)
    args = parser.parse_args(argv)
    make_undumpable()  # the granted connections live in this process's memory from now on
    connections = _read_connections()
    home = home_dir(args.home)
    lock = _hold_runner_lock(BotPaths(home, args.bot_id))
    if lock is None:
        print("another runner already runs this bot; not starting a second one", file=sys.stderr)
        return 3
    faulthandler.register(signal.SIGUSR1, all_threads=True)  # `kill -USR1` dumps stacks
    runner = Runner(home, args.bot_id, connections)
    sys.stdout = RedactingStream(sys.stdout, runner.redactor)
    sys.stderr = RedactingStream(sys.stderr, runner.redactor)
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    install_log_redaction(runner.redactor)
    return runner.run()


if __name__ == "__main__":
    sys.exit(main())
