"""Running the real ``watchdog-lab`` command in subprocesses, with and without a terminal.

Every test gets its own data folder. A vault with one Kalshi and one generic connection is built
once per session and copied for each test that needs one, so that most tests spawn only the
commands they are about (each spawn costs a Python start-up).
"""

from __future__ import annotations

import json
import os
import pty
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from watchdog_lab.vault import RateLimitPolicy, Vault

from ..support import rsa_pem as make_rsa_pem

PASSWORD = "correct horse battery"
FAST_KDF = ["--kdf-time-cost", "1", "--kdf-memory-mib", "8", "--kdf-parallelism", "1"]
KEY_ID = "a95b1c2d-7e3f-4a11-9c2b-3d4e5f6a7b8c"
GENERIC_TOKEN = "tok_9f8e7d6c5b4a39281706f5e4d3c2b1a0"
CLI = [sys.executable, "-m", "watchdog_lab.cli"]


@dataclass
class Result:
    argv: list[str]
    rc: int
    out: str
    err: str

    @property
    def text(self) -> str:
        return self.out + self.err

    def json(self) -> object:
        return json.loads(self.out)


def clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("WATCHDOG_LAB_")}
    env["WATCHDOG_LAB_HOME"] = str(home)
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Cli:
    """The command against one data folder; keeps every output for "no secret anywhere" checks."""

    home: Path
    transcript: list[Result] = field(default_factory=list)

    def run(
        self,
        *args: str,
        password: str | None = PASSWORD,
        stdin: str | bytes | None = None,
        env: dict[str, str] | None = None,
        timeout: float = 60,
    ) -> Result:
        extra = dict(env or {})
        if password is not None:
            extra["WATCHDOG_LAB_PASSWORD"] = password
        data = stdin.encode() if isinstance(stdin, str) else stdin
        done = subprocess.run(
            [*CLI, *args],
            input=data,
            stdin=subprocess.DEVNULL if data is None else None,
            capture_output=True,
            env=clean_env(self.home, **extra),
            timeout=timeout,
            check=False,
        )
        result = Result(
            list(args), done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode()
        )
        self.transcript.append(result)
        return result

    def ok(self, *args: str, **kwargs: object) -> Result:
        result = self.run(*args, **kwargs)  # type: ignore[arg-type]
        assert result.rc == 0, f"{args} failed ({result.rc}): {result.err}"
        return result

    def init(self) -> Result:
        return self.ok("init", *FAST_KDF)


class Terminal:
    """The command on a real pseudo-terminal: prompts are waited for, keystrokes typed."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # pragma: no cover - the child
            try:
                os.execve(sys.executable, [*CLI, *args], env)  # noqa: S606 - argv, no shell
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.screen = ""
        self._seen = 0
        self.rc: int | None = None

    def _read(self, deadline: float) -> bool:
        ready, _, _ = select.select([self.fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self.fd, 65536)
        except OSError:  # EIO: the child closed the terminal
            return False
        if not chunk:
            return False
        self.screen += chunk.decode(errors="replace")
        return True

    def expect(self, text: str, timeout: float = 20) -> None:
        """Wait for ``text`` to appear after what earlier calls already matched."""
        deadline = time.monotonic() + timeout
        while (found := self.screen.find(text, self._seen)) < 0:
            if time.monotonic() > deadline or not self._read(deadline):
                raise AssertionError(f"never saw {text!r}; screen so far:\n{self.screen}")
        self._seen = found + len(text)

    def type(self, text: str) -> None:
        os.write(self.fd, text.encode())

    def line(self, text: str) -> None:
        self.type(text + "\n")

    def interrupt(self) -> None:
        os.kill(self.pid, signal.SIGINT)

    def wait(self, timeout: float = 30) -> int:
        deadline = time.monotonic() + timeout
        while self._read(deadline) and time.monotonic() < deadline:
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        self.rc = os.waitstatus_to_exitcode(status)
        return self.rc


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[object]:
    """A factory of :class:`Terminal` runs against ``tmp_path / 'home'``; kills leftovers."""
    opened: list[Terminal] = []

    def start(*args: str, home: Path | None = None, **env: str) -> Terminal:
        term = Terminal(list(args), clean_env(home or tmp_path / "home", **env))
        opened.append(term)
        return term

    yield start
    for term in opened:
        if term.rc is None:
            try:
                os.kill(term.pid, signal.SIGKILL)
                os.waitpid(term.pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass


@pytest.fixture(scope="session")
def rsa_pem() -> str:
    return make_rsa_pem()


def kalshi_json(pem: str, key_id: str = KEY_ID, **extra: object) -> str:
    return json.dumps(
        {"kind": "kalshi", "fields": {"api_key_id": key_id, "private_key_pem": pem}, **extra}
    )


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory, rsa_pem: str) -> Path:
    """A vault holding 'Kalshi' (kalshi) and 'Other' (generic), made through the CLI once."""
    home = tmp_path_factory.mktemp("seed") / "home"
    cli = Cli(home)
    cli.init()
    cli.ok("connections", "add", "Kalshi", "--from-json", "-", stdin=kalshi_json(rsa_pem))
    other = json.dumps({"fields": {"token": GENERIC_TOKEN}})
    cli.ok("connections", "add", "Other", "--kind", "generic", "--from-json", "-", stdin=other)
    return home


@pytest.fixture
def seeded(seeded_template: Path, tmp_path: Path) -> Cli:
    """A private copy of the seeded vault."""
    home = tmp_path / "home"
    shutil.copytree(seeded_template, home)
    return Cli(home)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path / "home")


def vault_contents(home: Path) -> dict[str, dict[str, str]]:
    """Every connection's decrypted fields, read with the library (not the CLI under test)."""
    with Vault(home, rate_limit=RateLimitPolicy(free_attempts=1000)) as vault:
        vault.unlock(PASSWORD)
        return {name: vault.get_connection(name).fields for name in _names(vault)}


def _names(vault: Vault) -> list[str]:
    return [c.name for c in vault.list_connections() if c.name is not None]


@pytest.fixture(scope="module")
def uv_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's shared uv cache: the bots tests of every package build into the same
    folder, so each package's wheels are fetched and unpacked once per run."""
    path = tmp_path_factory.getbasetemp() / "uv-cache"
    path.mkdir(exist_ok=True)
    return path
