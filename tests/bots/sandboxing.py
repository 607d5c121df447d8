"""Shared by the sandbox tests: when to skip (and when CI must fail instead), a bot folder tree
with a real venv and neighbours worth stealing, and running a plain child under the wrapper."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from watchdog_lab.bots import sandbox
from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.sandbox_plan import SandboxPlan
from watchdog_lab.bots.supervisor import BotManager

from ..support import skip_or_fail

BOT_ID = "a" * 32
OTHER_ID = "b" * 32


def landlock_abi_or_skip() -> int:
    abi, note = sandbox.landlock_abi()
    if abi is None or not sandbox.no_new_privs_available():
        skip_or_fail(
            f"Landlock is not available here ({note or 'no no_new_privs'})",
            "WATCHDOG_LAB_LANDLOCK_OPTIONAL",
        )
    assert abi is not None
    return abi


def bubblewrap_or_skip() -> str:
    support = sandbox.detect()
    if support.bubblewrap is None or not support.bubblewrap_works:
        why = "not installed" if support.bubblewrap is None else "installed but fails here"
        skip_or_fail(f"bubblewrap is {why}", "WATCHDOG_LAB_BUBBLEWRAP_OPTIONAL")
    assert support.bubblewrap is not None
    return support.bubblewrap


@dataclass(frozen=True)
class BotTree:
    """One bot's folders with a real venv, next to things it must never reach."""

    paths: BotPaths
    runtime_dir: Path
    other_secret: Path
    vault_file: Path
    home_file: Path | None

    @property
    def python(self) -> str:
        return str(self.paths.venv_python)


def make_bot_tree(root: Path) -> Iterator[BotTree]:
    home = root / "h"
    paths = BotPaths(home, BOT_ID)
    paths.create()
    other = BotPaths(home, OTHER_ID)
    other.create()
    other_secret = other.state / "positions.json"
    other_secret.write_text('{"secret": "other bot state"}')
    vault_file = home / "vault.db"
    vault_file.write_bytes(b"SQLite format 3\x00 not really")
    uv = Path(sys.executable).parent / "uv"
    subprocess.run(
        [str(uv), "venv", "-q", "--python", sys.executable, str(paths.venv)],
        check=True,
        env={**os.environ, "UV_CACHE_DIR": str(root / "uv-cache")},
    )
    runtime_dir = Path(tempfile.mkdtemp(prefix="wdl-test-"))
    home_file: Path | None = None
    try:
        fd, name = tempfile.mkstemp(prefix=".watchdog-lab-test-", dir=Path.home())
        os.write(fd, b"private to the user")
        os.close(fd)
        home_file = Path(name)
    except OSError:
        home_file = None
    try:
        yield BotTree(paths, runtime_dir, other_secret, vault_file, home_file)
    finally:
        if home_file is not None:
            home_file.unlink(missing_ok=True)
        for leftover in runtime_dir.iterdir():
            leftover.unlink()
        runtime_dir.rmdir()


def run_confined(
    plan: SandboxPlan,
    argv: list[str],
    *,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 30,
) -> subprocess.CompletedProcess[str]:
    """Run ``argv`` behind the exec wrapper, as a runner would."""
    wrapper = [sys.executable, "-I", "-m", "watchdog_lab.bots.launch", "--policy", plan.to_json()]
    return subprocess.run(
        [*wrapper, "--", *argv],
        cwd=cwd,
        env=env if env is not None else {"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


ATTEMPT = """
import json, os, resource, socket, subprocess, sys
def attempt(action):
    try:
        value = action()
    except BaseException as exc:
        return type(exc).__name__
    return "allowed" if value is None else ["allowed", value]
"""


def run_attempts(
    plan: SandboxPlan,
    tree: BotTree,
    attempts: dict[str, str],
    env: dict[str, str] | None = None,
) -> dict[str, object]:
    """Run each Python expression in a confined child of the bot's venv python; return, per
    name, ``"allowed"`` (or ``["allowed", value]``) or the exception's type name."""
    lines = [ATTEMPT, "out = {}"]
    for name, expression in attempts.items():
        lines.append(f"out[{name!r}] = attempt(lambda: {expression})")
    lines.append("print(json.dumps(out, default=repr))")
    argv = [tree.python, "-c", "\n".join(lines)]
    done = run_confined(plan, argv, cwd=tree.paths.state, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def bot_outcomes(manager: BotManager, name: str) -> dict[str, str]:
    """What a probing bot printed as ``label: result`` lines on its stdout, by label."""
    out: dict[str, str] = {}
    for record in manager.logs(name):
        if record.stream != "stdout":
            continue
        for line in record.text.splitlines():
            label, sep, result = line.partition(": ")
            if sep:
                out[label] = result
    return out
