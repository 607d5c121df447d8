"""Every byte a bot (or its runner) writes at the descriptor level reaches disk redacted."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from pathlib import Path

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotState, PromoteBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.vault import CreateConnection, Vault

from ..support import rsa_pem
from .conftest import wait_state, write_notebook

SECRET = "sk-live-FdLevelLeak-0123456789abcdef"

LEAKER = textwrap.dedent(
    """
    import base64, ctypes, os, subprocess, sys, time
    import watchdog_lab as wd
    c = wd.connection("Ex")
    s, pem = c["token"], c["pem"]
    os.write(1, f"fd1 {s} visible-fd1\\n".encode())
    os.write(2, f"fd2 {s} visible-fd2\\n".encode())
    subprocess.run(
        ["sh", "-c", 'echo "echo $S visible-echo"; echo "echo-err $S visible-echo-err" >&2'],
        env={**os.environ, "S": s},
        check=True,
    )
    sys.__stdout__.write(f"dunder {s} visible-dunder\\n")
    sys.__stdout__.flush()
    sys.__stderr__.write(f"dunder-err {s} visible-dunder-err\\n")
    sys.__stderr__.flush()
    libc = ctypes.CDLL(None)
    libc.printf(b"printf %s visible-printf\\n", s.encode())
    libc.puts(f"puts {s} visible-puts".encode())
    libc.fflush(None)
    os.write(1, f"split {s[:12]}".encode())
    time.sleep(0.3)
    os.write(1, f"{s[12:]} visible-split\\n".encode())
    os.write(1, base64.b64encode(s.encode()) + b" visible-b64\\n")
    os.write(2, pem.encode() + b"visible-pem\\n")
    print("visible-python", flush=True)
    """
)
MARKERS = [
    "visible-fd1",
    "visible-fd2",
    "visible-echo",
    "visible-echo-err",
    "visible-dunder",
    "visible-dunder-err",
    "visible-printf",
    "visible-puts",
    "visible-split",
    "visible-b64",
    "visible-pem",
    "visible-python",
]


def _files_holding(root: Path, needles: list[str]) -> list[str]:
    """Every file under ``root`` (but the bot's read-only venv) holding one of ``needles``."""
    found = []
    for path in root.rglob("*"):
        if not path.is_file() or "venv" in path.parts:
            continue
        data = path.read_bytes()
        found += [f"{n[:12]}... in {path}" for n in needles if n.encode() in data]
    return found


def test_a_bot_leaking_its_secret_at_the_descriptor_level_leaves_no_trace_but_is_logged(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    pem = rsa_pem()
    vault.add_connection(
        CreateConnection(name="Ex", kind="generic", fields={"token": SECRET, "pem": pem})
    )
    nb = write_notebook(tmp_path / "fdleak.ipynb", LEAKER)
    bot = manager.promote(
        PromoteBot(notebook=str(nb), name="FdLeak", connections=["Ex"], start=True)
    )
    wait_state(manager, "FdLeak", BotState.STOPPED, BotState.CRASHED)
    records = manager.logs("FdLeak")
    text = "\n".join(r.text for r in records)
    missing = [m for m in MARKERS if m not in text]
    assert not missing, f"redaction must not lose output: {missing}\n{text}"
    needles = [SECRET, base64.b64encode(SECRET.encode()).decode()]
    needles += [line for line in pem.strip().splitlines()[1:-1] if len(line) >= 16]
    assert BotPaths(vault.home, bot.id).root.is_relative_to(vault.home)
    assert _files_holding(vault.home, needles) == []
    assert manager.describe("FdLeak").state is BotState.STOPPED, text
    # The descriptor-level lines are the runner's records (no cell), redacted.
    fd_level = [r for r in records if r.cell is None and r.stream in ("stdout", "stderr")]
    assert any("visible-fd1" in r.text and "[REDACTED:Ex.token]" in r.text for r in fd_level)
    assert any("visible-split" in r.text and "[REDACTED:Ex.token]" in r.text for r in fd_level)


def test_a_bot_flooding_its_descriptors_is_logged_once_and_the_runner_finishes(
    manager: BotManager, vault: Vault, tmp_path: Path
) -> None:
    lines = 8 * 1024  # 8 MiB: far beyond every pipe buffer
    nb = write_notebook(
        tmp_path / "flood.ipynb",
        f"import os\nfor i in range({lines}):\n"
        "    os.write(1, b'flood %06d ' % i + b'x' * 1000 + b'\\n')\n"
        "print('flood done', flush=True)",
    )
    bot = manager.promote(PromoteBot(notebook=str(nb), name="Flood", start=True))
    wait_state(manager, "Flood", BotState.STOPPED, BotState.CRASHED, timeout=180)
    described = manager.describe("Flood")
    assert described.state is BotState.STOPPED and described.status.reason == "finished"
    records = manager.logs("Flood")
    flooded = "".join(r.text for r in records if r.cell is None and r.stream == "stdout")
    numbers = [line.split()[1] for line in flooded.splitlines() if line.startswith("flood ")]
    assert numbers == [f"{i:06d}" for i in range(lines)], "every line, once, in order"
    assert any(r.text == "flood done\n" for r in records)
    runner_log = BotPaths(vault.home, bot.id).runner_log.read_bytes()
    assert b"flood 000001" not in runner_log


def test_the_runner_own_descriptors_pass_through_its_redactor(tmp_path: Path) -> None:
    """What the runner process itself writes to descriptors 1 and 2 (tracebacks, faulthandler
    dumps, C libraries) is redacted before it reaches the file the supervisor gave it."""
    script = textwrap.dedent(
        f"""
        import ctypes, os, sys
        from watchdog_lab.redact import Redactor
        from watchdog_lab.bots.runner_output import capture_own_output
        redactor = Redactor()
        own = capture_own_output(redactor)
        redactor.set_secrets([("Ex", "token", {SECRET!r})])  # as the grant arrives later
        os.write(1, b"own-out {SECRET[:10]}")
        os.write(1, b"{SECRET[10:]} visible-own-out\\n")
        os.write(2, b"own-err {SECRET} visible-own-err\\n")
        ctypes.CDLL(None).dprintf(2, b"c-level %s visible-c\\n", {SECRET!r}.encode())
        os.write(1, b"unfinished line visible-tail")
        own.close()
        """
    )
    log = tmp_path / "runner.log"
    with log.open("wb") as handle:
        subprocess.run(
            [sys.executable, "-c", script], stdout=handle, stderr=handle, check=True, timeout=60
        )
    data = log.read_text()
    assert SECRET not in data and SECRET[:10] + SECRET[10:] not in data
    for marker in ("visible-own-out", "visible-own-err", "visible-c", "visible-tail"):
        assert marker in data
    assert data.count("[REDACTED:Ex.token]") == 3
