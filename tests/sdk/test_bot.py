"""wd.bot and wd.state outside and inside a bot."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(
    code: str, env: dict[str, str], pass_fds: tuple[int, ...] = ()
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", code],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **env},
        pass_fds=pass_fds,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_outside_a_bot_wd_bot_is_none_and_wd_state_explains() -> None:
    result = _run(
        "import watchdog_lab as wd\nprint(wd.bot)\n"
        "try:\n wd.state\nexcept Exception as e:\n print(e)",
        {},
    )
    assert result.stdout.splitlines()[0] == "None"
    assert "available when this notebook runs as a bot" in result.stdout


def test_inside_a_bot_wd_bot_and_wd_state_use_the_bot_folders(tmp_path: Path) -> None:
    env = {
        "WATCHDOG_LAB_BOT_ID": "a" * 32,
        "WATCHDOG_LAB_BOT_NAME": "MM",
        "WATCHDOG_LAB_BOT_DIR": str(tmp_path),
        "WATCHDOG_LAB_STATE_DIR": str(tmp_path / "state"),
    }
    code = (
        "import watchdog_lab as wd\nwd.state['n'] = wd.state.get('n', 0) + 1\n"
        "print(wd.bot.name, wd.state['n'])"
    )
    assert _run(code, env).stdout.strip() == "MM 1"
    assert _run(code, env).stdout.strip() == "MM 2"


def test_wd_log_replaces_held_secret_values(tmp_path: Path) -> None:
    from watchdog_lab.sdk import Connection
    from watchdog_lab.sdk.injection import FD_ENV_VAR, encode_connections

    from .conftest import handed_over

    secret = "tok-9f8e7d6c5b4a3210"
    token = encode_connections([Connection("Ex", "generic", {"token": secret}, {})])
    code = (
        "import watchdog_lab as wd\nc = wd.connection('Ex')\n"
        "wd.log.info('using %s and %s', c.token, c)\nwd.log.warning(f'raw {c.token}')"
    )
    with handed_over(token) as fd:
        result = _run(code, {FD_ENV_VAR: str(fd)}, (fd,))
    assert secret not in result.stderr
    assert result.stderr.count("[REDACTED:Ex.token]") == 2
    assert "Connection(name='Ex'" in result.stderr
