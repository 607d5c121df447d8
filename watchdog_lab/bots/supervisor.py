"""The bots' core API: promote, start, stop, restart, delete, describe, read logs.

Every face (CLI, REST, magics) calls :class:`BotManager`; none of them spawns or signals a
process itself. The manager holds no per-bot state in memory: the registry (``vault.db``),
``bot.json`` and the runner's ``status.json`` are the truth, so a CLI and a server can manage
the same bots at once, and either can adopt runners the other started.
"""

from __future__ import annotations

import builtins
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple

import nbformat

from ..errors import InputFileError
from ..files import read_regular_file
from ..paths import ensure_trusted_dir
from ..sdk import Connection
from ..sdk.injection import encode_connections
from ..vault import Vault, VaultLocked, VaultNotFound
from ..vault.audit import Event
from .containment import end_session
from .environment import EnvironmentReport, Resolution, build_environment, resolve_environment
from .errors import (
    BotError,
    BotSealBroken,
    BotStartFailed,
    DuplicateBot,
    EnvironmentBuildFailed,
    NotebookError,
    PackagesRefused,
)
from .layout import BotPaths, write_bytes_atomic, write_json_atomic
from .leftovers import discard_bot_files, promoting
from .logs import follow, read_records, tail_records
from .models import (
    DEFAULT_CONNECT_PORTS,
    BotConfig,
    BotMode,
    BotState,
    BotStatus,
    DescribeBot,
    ListBotVersions,
    LogRecord,
    LogRotation,
    PromoteBot,
    RestartPolicy,
)
from .notebook_scan import MAX_NOTEBOOK_BYTES
from .registry import BotRecord, BotRegistry, check_bot_name
from .seal import (
    SealFault,
    current_lock,
    fault_message,
    fault_reason,
    lock_path,
    seal_version,
    sealed_notebook_digest,
    verify_version,
)
from .status import is_alive, read_status, runner_is_alive, write_status

if TYPE_CHECKING:
    from .gateway import GatewaySettings
    from .plan import DescribePromotePlan
    from .policy import Approved, DependencyPolicy

Progress = Callable[[str], None]
START_HANDSHAKE_SECONDS = 15.0
STOP_TIMEOUT_SECONDS = 15.0
ACTIVE_STATES = (BotState.STARTING, BotState.RUNNING, BotState.SLEEPING)


def _quiet(_: str) -> None:
    return None


class PromotePlan(NamedTuple):
    """What :meth:`BotManager.check_promote` found acceptable: the notebook, the granted
    connection ids, the approved packages and every distribution they resolve to (checked
    too, and exactly what the build installs)."""

    notebook: nbformat.NotebookNode
    grants: list[str]
    approved: list[Approved]
    resolution: Resolution | None = None


class BotManager:
    """Bots under one ``WATCHDOG_LAB_HOME``, sharing its vault (for grants and the registry)."""

    def __init__(
        self,
        vault: Vault,
        *,
        python: str | None = None,
        sandbox_mode: str = "best",
        rlimits: dict[str, int] | None = None,
        restart: RestartPolicy | None = None,
        policy: DependencyPolicy | None = None,
        wheels_only: bool = True,
        uv_cache: Path | None = None,
        connect_ports: Sequence[int] = DEFAULT_CONNECT_PORTS,
        find_links: Sequence[str | os.PathLike[str]] = (),
        cell_timeout: float | None = None,
        prewarm_kernel: bool = True,
        log_rotation: LogRotation | None = None,
        gateway: GatewaySettings | None = None,
    ) -> None:
        self.vault = vault
        # Where bots' kernels run when not on this machine (docs/gateway.md).
        self.gateway = gateway
        # Every-N bots start their next run's kernel while they wait (on time, one more kernel).
        self.prewarm_kernel = prewarm_kernel
        self.log_rotation = log_rotation or LogRotation()
        # A promote that sets no cell timeout gets this one (None or 0: no limit).
        self.cell_timeout = cell_timeout or None
        self.connect_ports = list(connect_ports)
        self.home = vault.home
        self.registry = BotRegistry(vault.store)
        self.python = python or sys.executable
        self.sandbox_mode = sandbox_mode
        self.rlimits = dict(rlimits or {})
        self.restart_policy = restart or RestartPolicy()
        self.wheels_only = wheels_only
        self.uv_cache = uv_cache or self.home / "cache" / "uv"
        # Local wheel folders searched besides the index (an offline wheelhouse).
        self.find_links = [Path(location) for location in find_links]
        self._policy = policy

    def _audit(
        self, event: Event, *, subject: str | None = None, detail: dict[str, object] | None = None
    ) -> None:
        """Audit a bot act in the vault's log, which begins with the vault.

        Bots without connections run before any vault exists (their own log records every
        act); the vault refuses a missing header when connections remain, so a tampered vault
        still stops the act instead of silencing its audit.
        """
        try:
            self.vault.record_event(event, subject=subject, detail=detail)
        except VaultNotFound:
            return

    # ------------------------------------------------------------- promote

    def check_promote(self, request: PromoteBot, progress: Progress = _quiet) -> PromotePlan:
        """Every refusal a promote can give, before anything is written or installed.

        A face that runs the build in the background (REST) calls this first to answer bad
        input at once; :meth:`promote` calls it again, since a check made earlier proves
        nothing about now (the name may have been taken meanwhile).
        """
        from .deps import detect_requirements
        from .plan import judge_requirements

        check_bot_name(request.name)
        ensure_trusted_dir(self.uv_cache, home=self.home)  # its wheels become the bot's code
        if self.registry.name_taken(request.name):
            raise DuplicateBot(request.name)
        if request.mode is BotMode.EVERY and not request.interval:
            raise BotError("Mode 'every' needs an interval in seconds (--every SECONDS).")
        progress("reading notebook")
        nb = _read_notebook(Path(request.notebook))
        grants = self._resolve_grants(request.connections)
        progress("checking dependencies")
        # The folder too: a module beside the notebook must not be requested from an index.
        detected = detect_requirements(nb, folder=Path(request.notebook).absolute().parent)
        for module in detected.local_modules:
            progress(f"{module}: a module next to the notebook; not installed, not copied")
        # The same verdicts a promote plan shows (:mod:`.plan`), so the two cannot disagree.
        judged = judge_requirements(detected, self.policy, request.allow_packages)
        if not judged.decision.ok:
            raise PackagesRefused(list(judged.decision.refused))
        approved = judged.approved
        try:
            resolution = self._resolve_checked(approved, request, progress)
        except EnvironmentBuildFailed:
            # Nothing to install under that name, or the index is unreachable: that is the
            # build failing, and promote reports it as such (it resolves again itself).
            resolution = None
        return PromotePlan(nb, grants, approved, resolution)

    def plan(
        self, notebook: Path, shown_as: str, allow_packages: Sequence[str] = ()
    ) -> DescribePromotePlan:
        """What promoting ``notebook`` would install, with the policy's verdicts, and its
        parameters (a :class:`~.plan.DescribePromotePlan`): nothing is written or installed."""
        from .plan import promote_plan

        saved_at = notebook.stat().st_mtime
        nb = _read_notebook(notebook)
        return promote_plan(
            nb,
            notebook=shown_as,
            folder=notebook.absolute().parent,
            policy=self.policy,
            allow_packages=allow_packages,
            saved_at=saved_at,
        )

    def _resolve_checked(
        self, approved: list[Approved], request: PromoteBot, progress: Progress
    ) -> Resolution:
        """Everything the environment will hold, each distribution through the policy.

        What gets installed is what the requested packages depend on too, so they are
        resolved first (nothing installed, no package code run) and the build then installs
        exactly this set.
        """
        progress("resolving every package the environment will hold")
        resolution = resolve_environment(
            [a.requirement for a in approved],
            cache_dir=self.uv_cache,
            find_links=self.find_links,
            progress=progress,
        )
        resolved = self.policy.check_resolved(
            ((pkg.name, pkg.version, pkg.required_by) for pkg in resolution.packages),
            set(request.allow_packages),
        )
        if not resolved.ok:
            raise PackagesRefused(list(resolved.refused))
        return resolution

    def promote(self, request: PromoteBot, progress: Progress = _quiet) -> DescribeBot:
        """Freeze the notebook, build the bot's venv and kernel, register it (and start it).

        With the vault unlocked, version 1 and the environment lock are sealed
        (:mod:`.seal`). Promoting while locked still works, for a bot without connections
        (granting them needs the vault unlocked anyway), but leaves the bot unsealed: it can
        never be given connections, since sealing later would bless whatever is on disk then.
        """
        from .kernelspec import write_kernelspec

        nb, grants, approved, resolution = self.check_promote(request, progress)
        bot_id = uuid.uuid4().hex
        paths = BotPaths(self.home, bot_id)
        # Until the bot is registered its files look like a killed promote's leftovers: the
        # shared lock keeps `doctor --fix` from removing them meanwhile (:mod:`.leftovers`).
        building = contextlib.ExitStack()
        building.enter_context(promoting(self.home))
        try:
            paths.create()
            progress("freezing notebook as version 1")
            notebook = _freeze(nb, paths.notebook(1), progress)
            if resolution is None:  # it failed at check time: fail here, with uv's reason
                resolution = self._resolve_checked(approved, request, progress)
            progress(f"building environment ({len(approved)} package(s) requested)")
            report = build_environment(
                paths.venv,
                [a.requirement for a in approved],
                cache_dir=self.uv_cache,
                wheels_only=self.wheels_only,
                find_links=self.find_links,
                progress=progress,
                resolution=resolution,
                allow_startup_code=request.allow_startup_code,
            )
            lock = current_lock(paths)
            write_bytes_atomic(lock_path(paths), lock)
            sealed = self._seal(paths, 1, notebook, lock, progress)
            if grants and not sealed:  # the vault was locked during the build
                raise VaultLocked
            progress("writing kernelspec")
            spec_dir = write_kernelspec(self.home, bot_id, request.name, paths.venv_python)
            config = BotConfig(
                id=bot_id,
                name=request.name,
                mode=request.mode,
                interval=request.interval,
                parameters=request.parameters,
                kernel_name=spec_dir.name,
                restart=self.restart_policy,
                sandbox=self.sandbox_mode,
                rlimits=self.rlimits,
                connect_ports=self.connect_ports,
                cell_timeout=(
                    self.cell_timeout if request.cell_timeout is None else request.cell_timeout
                )
                or None,
                reuse_kernel=request.reuse_kernel,
                prewarm_kernel=self.prewarm_kernel,
                log_rotation=self.log_rotation,
            )
            write_json_atomic(paths.config_file, config.model_dump(mode="json"))
            record = self.registry.create(config, grants)
        except BaseException:  # e.g. DuplicateBot: another promote of the name won the race
            discard_bot_files(self.home, bot_id)
            raise
        finally:
            building.close()
        self._log_environment(paths, record, report, sealed)
        self._audit(
            Event.BOT_PROMOTED,
            subject=bot_id,
            detail={"bot": request.name, "notebook": Path(request.notebook).name},
        )
        progress("promoted")
        if request.start:
            return self.start(bot_id)
        return self.describe(bot_id)

    @property
    def policy(self) -> DependencyPolicy:
        if self._policy is None:
            from .policy import DependencyPolicy

            self._policy = DependencyPolicy()
        return self._policy

    def _seal(
        self, paths: BotPaths, version: int, notebook: bytes, lock: bytes, progress: Progress
    ) -> bool:
        """Seal ``version`` if the vault is unlocked; whether it was sealed."""
        if self.vault.state.value != "unlocked":
            return False
        progress(f"sealing version {version}")
        try:
            seal_version(self.vault, paths, version, notebook, lock)
        except VaultLocked:  # locked meanwhile (auto-lock, another tab)
            return False
        return True

    def _log_environment(
        self, paths: BotPaths, record: BotRecord, report: EnvironmentReport, sealed: bool
    ) -> None:
        """Every new package is written where the user looks: the bot's log and the audit log."""
        from ..redact import Redactor
        from .logs import LogWriter

        writer = LogWriter(paths.log_file, Redactor(), self.log_rotation)
        try:
            writer.write(
                "system",
                f"environment built in {report.seconds:.1f}s: Python {report.python_version}, "
                f"{len(report.packages)} packages",
            )
            for package in report.new:
                writer.write("system", f"installed new package {package}")
                self._audit(
                    Event.BOT_PACKAGE_INSTALLED,
                    subject=record.id,
                    detail={
                        "bot": record.name,
                        "package": package.name,
                        "version": package.version,
                    },
                )
            for change in report.changed:
                writer.write("system", f"WARNING: baseline package changed: {change}")
            for finding in report.startup_code:
                writer.write(
                    "system", f"WARNING: code runs at interpreter start-up: {finding.describe()}"
                )
            for warning in report.warnings:
                writer.write("system", f"WARNING: {warning}")
            if not sealed:
                writer.write(
                    "system",
                    "WARNING: not sealed (the vault was locked at promote): this bot can run "
                    "without connections only; promote it again with the vault unlocked to give "
                    "it some",
                )
        finally:
            writer.close()

    def _resolve_grants(self, names: list[str]) -> list[str]:
        if not names:
            return []
        if self.vault.state.value != "unlocked":
            raise VaultLocked
        return [self.vault.get_connection(name).id for name in names]

    def set_grants(self, ref: str, names: list[str]) -> DescribeBot:
        """Replace the connections a bot may use, by name (the vault must be unlocked: names
        are encrypted). A running bot keeps what it started with until it restarts: its runner
        holds the connections in memory, and nothing reaches into a running bot."""
        record = self.registry.get(ref)
        if self.vault.state.value != "unlocked":
            raise VaultLocked
        ids = [self.vault.get_connection(name).id for name in names]
        if ids:  # never grant to a bot whose notebook is not the one promoted
            self.check_seal(record, grants=True, refuse_start=False)
        self.registry.set_grants(record.id, ids)
        self._audit(
            Event.BOT_GRANTS_CHANGED,
            subject=record.id,
            detail={"bot": record.name, "connections": sorted(set(names))},
        )
        return self.describe(record.id)

    def paths(self, ref: str) -> BotPaths:
        """The folders of a bot, by id or name (for faces that read its logs and runs)."""
        return BotPaths(self.home, self.registry.get(ref).id)

    # ----------------------------------------------------------- describe

    def describe(self, ref: str) -> DescribeBot:
        return self._describe(self.registry.get(ref))

    def list(self) -> list[DescribeBot]:
        return [self._describe(r) for r in self.registry.list()]

    def _describe(self, record: BotRecord) -> DescribeBot:
        paths = BotPaths(self.home, record.id)
        status = self.effective_status(record)
        return DescribeBot(
            id=record.id,
            name=record.name,
            mode=record.config.mode,
            interval=record.config.interval,
            parameters=record.config.parameters,
            reuse_kernel=record.config.reuse_kernel,
            desired_state=record.desired_state,
            state=status.state,
            connections=self._grant_names(record),
            notebook_version=record.config.notebook_version,
            status=status,
            folder=str(paths.root),
        )

    def effective_status(self, record: BotRecord) -> BotStatus:
        """status.json, corrected when its runner is gone without saying so."""
        status = read_status(BotPaths(self.home, record.id).status_file, record.id)
        if status.state in ACTIVE_STATES and not runner_is_alive(status):
            status.state = BotState.CRASHED
            status.reason = "the runner process is gone (killed or machine restarted)"
        return status

    def needs_unlock_to_start(self, ref: str, *, restart: bool = False) -> bool:
        """Whether starting (or restarting) ``ref`` will decrypt its grants, or the gateway's
        token: a bot with grants, or any bot when kernels run on a gateway, that is not already
        running. Faces use it to ask for the password only then."""
        record = self.registry.get(ref)
        if not record.grants and self.gateway is None:
            return False
        return restart or self.effective_status(record).state not in ACTIVE_STATES

    def granted_names(self, ref: str) -> builtins.list[str]:
        """Names of the connections granted to ``ref`` (names are encrypted: needs unlock)."""
        record = self.registry.get(ref)
        if not record.grants:
            return []
        if self.vault.state.value != "unlocked":
            raise VaultLocked
        return self._grant_names(record)

    def _grant_names(self, record: BotRecord) -> builtins.list[str]:
        if not record.grants:
            return []
        if self.vault.state.value != "unlocked":
            return [f"<{len(record.grants)} connection(s); unlock to see names>"]
        names = self.vault.connection_names()
        return [names.get(cid, f"<removed connection {cid[:8]}>") for cid in record.grants]

    # -------------------------------------------------------- start / stop

    def check_seal(
        self, record: BotRecord, *, grants: bool | None = None, refuse_start: bool = True
    ) -> None:
        """Refuse a bot whose sealed notebook or packages changed (:class:`BotSealBroken`).

        Verified whenever the vault is unlocked (the key exists only then). A bot that will
        get connections (``grants``, by default whether it has any) must verify, and must be
        sealed; with the vault locked it cannot get them anyway (:class:`VaultLocked`). A bot
        without connections runs unsealed, and unverified while the vault is locked: it gets
        nothing to withhold. A refusal is audited (``bot.seal_broken``); with ``refuse_start``
        the bot is also left stopped, not desired running, with the reason in its status, so
        that a reconcile does not retry (and re-audit) it at every unlock.
        """
        needs = bool(record.grants) if grants is None else grants
        if self.vault.state.value != "unlocked":
            if needs:
                raise VaultLocked
            return
        version = record.config.notebook_version
        fault = verify_version(self.vault, BotPaths(self.home, record.id), version)
        if fault is None or (fault is SealFault.UNSEALED and not needs):
            return
        if refuse_start:
            paths = BotPaths(self.home, record.id)
            self.registry.set_desired(record.id, "stopped")
            status = read_status(paths.status_file, record.id)
            status.state, status.pid, status.kernel_pid = BotState.STOPPED, None, None
            status.next_run_at = None
            status.reason = fault_reason(fault)
            write_status(paths.status_file, status)
        self._audit(
            Event.BOT_SEAL_BROKEN,
            subject=record.id,
            detail={"bot": record.name, "version": version, "changed": fault.value},
        )
        raise BotSealBroken(fault_message(record.name, version, fault))

    def granted_connections(self, record: BotRecord) -> builtins.list[Connection]:
        """The one door to a bot's secrets: check its seal (:meth:`check_seal`), then decrypt
        exactly what it was granted ([] for none). Needs the vault unlocked for grants."""
        self.check_seal(record)
        out = []
        for connection_id in record.grants:
            secrets = self.vault.get_connection_by_id(connection_id)
            out.append(Connection(secrets.name, secrets.kind, secrets.fields, secrets.visibility))
        return out

    def start(self, ref: str) -> DescribeBot:
        """Start a bot that is not running. Its seal is checked before any connection is
        decrypted (:meth:`check_seal`); a running bot is left as it is."""
        record = self.registry.get(ref)
        status = self.effective_status(record)
        if status.state in ACTIVE_STATES:
            self.registry.set_desired(record.id, "running")
            return self._describe(record)
        connections = self.granted_connections(record)  # checks the seal first
        self.registry.set_desired(record.id, "running")
        self.spawn(record, connections)
        self._audit(Event.BOT_STARTED, subject=record.id, detail={"bot": record.name})
        return self.describe(record.id)

    def spawn(self, record: BotRecord, connections: builtins.list[Connection]) -> int:
        """Start a detached runner and hand it the connections on its stdin; return its pid.

        The mechanism only: ``connections`` must come from :meth:`granted_connections`, which
        checks the bot's seal first."""
        paths = BotPaths(self.home, record.id)
        paths.create()
        # The log's rotation and the prewarming follow the settings of whoever starts the bot,
        # not its promote's.
        config = record.config.model_copy(
            update={"log_rotation": self.log_rotation, "prewarm_kernel": self.prewarm_kernel}
        )
        write_json_atomic(paths.config_file, config.model_dump(mode="json"))
        token = encode_connections(connections) if connections else ""
        pin = b""
        if connections:  # secrets go only with the notebook bytes that were sealed
            digest = sealed_notebook_digest(self.vault, paths, record.config.notebook_version)
            if digest is None:
                raise BotSealBroken(
                    fault_message(record.name, record.config.notebook_version, SealFault.SEAL)
                )
            pin = digest.hex().encode("ascii")
        # The gateway's token comes from the vault (unlocked: VaultLocked otherwise), before
        # any process starts.
        gateway = self.gateway.target(self.vault).encode().encode("ascii") if self.gateway else b""
        env = {
            key: os.environ[key]
            for key in ("PATH", "LANG", "LC_ALL", "TZ", "HOME", "PYTHONPATH")
            if key in os.environ
        }
        env["WATCHDOG_LAB_HOME"] = str(self.home)
        with open(paths.runner_log, "ab") as runner_log:
            paths.runner_log.chmod(0o600)
            proc = subprocess.Popen(
                [
                    self.python,
                    "-m",
                    "watchdog_lab.bots.runner",
                    record.id,
                    "--home",
                    str(self.home),
                ],
                stdin=subprocess.PIPE,
                stdout=runner_log,
                stderr=runner_log,
                env=env,
                cwd=paths.root,
                start_new_session=True,
                close_fds=True,
            )
        assert proc.stdin is not None
        try:
            # Line 1: the connections; line 2: the notebook digest the runner must run;
            # line 3: the gateway its kernels run on, with its token (empty: here).
            proc.stdin.write(token.encode("ascii") + b"\n" + pin + b"\n" + gateway + b"\n")
            proc.stdin.close()
        except BrokenPipeError as exc:
            raise BotStartFailed(
                f"The runner of {record.name!r} exited at once; see its log."
            ) from exc
        deadline = time.monotonic() + START_HANDSHAKE_SECONDS
        while time.monotonic() < deadline:
            if read_status(paths.status_file, record.id).pid == proc.pid:
                return proc.pid
            if proc.poll() is not None:
                break
            time.sleep(0.02)
        tail = _tail_text(paths.runner_log)
        raise BotStartFailed(f"The runner of {record.name!r} did not start. {tail}")

    def stop(self, ref: str, timeout: float = STOP_TIMEOUT_SECONDS) -> DescribeBot:
        """Graceful: the runner interrupts, then terminates, then kills its kernel; we wait, and
        kill what is left if it does not finish in time. Leaves no process behind."""
        record = self.registry.get(ref)
        self.registry.set_desired(record.id, "stopped")
        status = read_status(BotPaths(self.home, record.id).status_file, record.id)
        if status.pid is not None and runner_is_alive(status):
            os.kill(status.pid, signal.SIGTERM)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline and runner_is_alive(status):
                time.sleep(0.05)
            if runner_is_alive(status):
                _kill_group(status.pid)
        status = read_status(BotPaths(self.home, record.id).status_file, record.id)
        for pid, start in (
            (status.kernel_pid, status.kernel_pid_start),
            (status.prewarmed_kernel_pid, status.prewarmed_kernel_pid_start),
        ):
            if pid and is_alive(pid, start):
                _kill_group(pid)
            if pid:  # where no PID namespace holds them: what kept its session
                end_session(pid, start)
        self._audit(Event.BOT_STOPPED, subject=record.id, detail={"bot": record.name})
        return self.describe(record.id)

    def restart(self, ref: str) -> DescribeBot:
        """Stop, then start. A bot whose seal is broken ends stopped: its code changed, and a
        running runner would execute the changed notebook at its next run."""
        record = self.registry.get(ref)
        if self.needs_unlock_to_start(ref, restart=True) and self.vault.state.value != "unlocked":
            raise VaultLocked  # refused before the stop: a restart must not end as a stop
        self.stop(record.id)
        return self.start(record.id)

    # ------------------------------------------------------------ versions

    def versions(self, ref: str) -> ListBotVersions:
        """Every notebook version of a bot, oldest first, the one it runs marked."""
        from .versions import list_versions

        record = self.registry.get(ref)
        return list_versions(BotPaths(self.home, record.id), record.config.notebook_version)

    def publish_cell_fix(
        self,
        ref: str,
        cell_index: int,
        source: str,
        *,
        expected_version: int | None = None,
        reason: str = "ai fix",
        detail: dict[str, object] | None = None,
        confirmed: bool = True,
    ) -> DescribeBot:
        """Write version N+1: the current version with code cell ``cell_index``'s source
        replaced (outputs cleared, as at promote); v1..vN stay as they are. The bot switches
        to it and restarts if it should be running.

        ``expected_version`` is the version the fix was made for: a bot that moved on since is
        refused (:class:`StaleVersion`) rather than have the newer changes undone. The current
        version is checked as a start checks it before anything is derived from it, and the
        new one is sealed only when it was sealed and verified: a bot with connections needs
        the vault unlocked (:class:`VaultLocked`), since an unsealed version could never get
        them. The audit (``bot.version_published``) gets ``detail`` besides the versions, and
        never the source.

        ``confirmed``: the user confirmed this publish with the vault password (the CLI, a
        REST request carrying it). Without it a bot with connections is refused
        (:class:`PublishNotConfirmed`) and the new version is never sealed, so no later grant
        can hand keys to code published with the Jupyter token alone.
        """
        from .versions import publish_cell_fix

        return publish_cell_fix(
            self,
            ref,
            cell_index,
            source,
            expected_version=expected_version,
            reason=reason,
            detail=detail,
            confirmed=confirmed,
        )

    def rollback(self, ref: str, to: int | None = None) -> DescribeBot:
        """Run another written version (by default the one before the current): its seal is
        checked as a start would, the switch is audited (``bot.rolled_back``) and the bot
        restarts if it should be running. Nothing is deleted: rolling forward is a rollback
        ``to`` the later version."""
        from .versions import rollback

        return rollback(self, ref, to)

    def delete(self, ref: str) -> None:
        from .kernelspec import remove_kernelspec

        record = self.registry.get(ref)
        self.stop(record.id)
        remove_kernelspec(self.home, record.id)
        self.registry.delete(record.id)
        shutil.rmtree(BotPaths(self.home, record.id).root, ignore_errors=True)
        self._audit(Event.BOT_DELETED, subject=record.id, detail={"bot": record.name})

    # ----------------------------------------------------------- reconcile

    def refresh_kernelspecs(self) -> builtins.list[str]:
        """Rewrite the kernelspec of every bot whose spec does not name the bot provisioner
        (written by an older version): opened from JupyterLab, such a kernel would not get the
        bot's sandbox. Returns the names of the bots whose spec was rewritten."""
        from .kernelspec import kernelspec_dir, names_bot_provisioner, write_kernelspec

        rewritten = []
        for record in self.registry.list():
            if names_bot_provisioner(kernelspec_dir(self.home, record.id)):
                continue
            paths = BotPaths(self.home, record.id)
            if paths.venv_python.exists():
                write_kernelspec(self.home, record.id, record.name, paths.venv_python)
                rewritten.append(record.name)
        return rewritten

    def reconcile(self) -> dict[str, str]:
        """Make actual state follow desired state; returns ``{bot name: what was done}``.

        Run when a supervisor starts and after every unlock. A live runner (same pid, same
        start time) is adopted as it is. A bot that should run but whose runner is gone is
        restarted, unless it finished on its own or ended in a crash loop (a human should look
        first), or it needs connections while the vault is locked: then it waits for unlock.
        """
        done: dict[str, str] = {}
        unlocked = self.vault.state.value == "unlocked"
        self.refresh_kernelspecs()
        for record in self.registry.list():
            if record.desired_state != "running":
                continue
            paths = BotPaths(self.home, record.id)
            status = read_status(paths.status_file, record.id)
            if runner_is_alive(status):
                done[record.name] = "adopted"
            elif status.state is BotState.CRASHED or status.reason == "finished":
                # The runner ended it on purpose (finished, crash loop, sandbox refused):
                # restarting would repeat it; a human looks first.
                done[record.name] = f"left {status.state.value}"
            elif (record.grants or self.gateway) and not unlocked:
                status.state, status.pid, status.kernel_pid = (
                    BotState.WAITING_FOR_UNLOCK,
                    None,
                    None,
                )
                status.reason = (
                    "needs its connections: unlock the vault to start it"
                    if record.grants
                    else "needs the gateway's token: unlock the vault to start it"
                )
                write_status(paths.status_file, status)
                done[record.name] = BotState.WAITING_FOR_UNLOCK.value
            else:
                try:
                    connections = self.granted_connections(record)  # checks the seal first
                    self.spawn(record, connections)
                    done[record.name] = "restarted"
                except BotError as exc:
                    done[record.name] = f"failed: {exc}"
        return done

    # ---------------------------------------------------------------- logs

    def logs(
        self, ref: str, *, after: int = 0, limit: int | None = None
    ) -> builtins.list[LogRecord]:
        record = self.registry.get(ref)
        return read_records(BotPaths(self.home, record.id).log_file, after=after, limit=limit)

    def tail(self, ref: str, count: int) -> builtins.list[LogRecord]:
        record = self.registry.get(ref)
        return tail_records(BotPaths(self.home, record.id).log_file, count)

    def follow(
        self, ref: str, *, after: int = 0, stop: Callable[[], bool] | None = None
    ) -> Iterator[LogRecord]:
        record = self.registry.get(ref)
        return follow(BotPaths(self.home, record.id).log_file, after=after, stop=stop)


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    if path.suffix != ".ipynb":
        raise NotebookError(f"{path.name!r} is not a notebook (.ipynb).")
    try:
        raw = read_regular_file(path, MAX_NOTEBOOK_BYTES, "Notebook")
    except OSError as exc:
        raise NotebookError(f"Cannot read notebook {str(path)!r}: {exc.strerror}.") from exc
    except InputFileError as exc:
        raise NotebookError(str(exc)) from exc
    try:
        nb: nbformat.NotebookNode = nbformat.reads(raw.decode("utf-8"), as_version=4)
        nbformat.validate(nb)
    except Exception as exc:
        raise NotebookError(
            f"{path.name!r} is not a valid notebook ({type(exc).__name__})."
        ) from exc
    return nb


def _freeze(nb: nbformat.NotebookNode, target: Path, progress: Progress = _quiet) -> bytes:
    """The frozen version carries code only: research outputs may hold what the bot must not.
    Package-manager lines become comments (:mod:`.package_lines`): promote installs what they
    ask for, and in the sandbox they could only fail. Returns the exact bytes written, which is
    what the seal covers."""
    from .versions import frozen_bytes

    data = frozen_bytes(nb, progress)
    write_bytes_atomic(target, data)
    return data


def _kill_group(pid: int) -> None:
    for kill in (os.killpg, os.kill):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            kill(pid, signal.SIGKILL)


def _tail_text(path: Path, lines: int = 5) -> str:
    try:
        text = path.read_text(errors="replace").strip().splitlines()[-lines:]
    except OSError:
        return ""
    return "Runner log: " + " | ".join(text) if text else ""
