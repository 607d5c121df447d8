"""``watchdog-lab bots ...`` end to end: real vault, real uv venvs, real runners and kernels.

One session is run once per module (promotes cost seconds each), then checked a behaviour per
test: init -> add a connection -> refusals while a bot exists -> promote with a grant and
parameters -> start -> status / logs / list -> a continuous bot promoted on a terminal ->
logs --follow -> restart -> stop -> delete. Commands that do not depend on each other run two
at a time (the machine has two cores).
"""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import textwrap
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

from watchdog_lab.bots.models import BotMode, BotState, BotStatus, DescribeBot
from watchdog_lab.bots.supervisor import BotManager
from watchdog_lab.cli import build_parser
from watchdog_lab.cli.cmd_bots import (
    UV_CACHE_ENV,
    bots_table,
    parse_params,
    promote_request,
    status_text,
)
from watchdog_lab.cli.errors import UsageError
from watchdog_lab.vault import Vault

from ..support import wait_for
from .conftest import CLI, FAST_KDF, GENERIC_TOKEN, PASSWORD, Cli, Result, Terminal, clean_env

CONNECTION = "Exchange"
PARAM_CELL = 'greeting = "default"\nsize = 1'
ALPHA_CELL = textwrap.dedent(
    f"""
    import watchdog_lab as wd
    print("greeting", greeting, size + 1)
    print("token", wd.connection({CONNECTION!r}).token)
    """
)
TICKER_CELL = (
    "import itertools, time\nfor i in itertools.count():\n    print('tick', i)\n    time.sleep(0.2)"
)


def write_notebook(path: Path, *sources: str, parameters: str | None = None) -> Path:
    """A notebook as JupyterLab saves one: only the parameters cell carries tags."""
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    cells = []
    if parameters is not None:
        cell = nbformat.v4.new_code_cell(parameters)
        cell.metadata["tags"] = ["parameters"]
        cells.append(cell)
    cells += [nbformat.v4.new_code_cell(src) for src in sources]
    nb.cells = cells
    nbformat.write(nb, str(path))
    return path


@dataclass
class BotCli(Cli):
    """The command with every build sharing one uv cache (through ``WATCHDOG_LAB_UV_CACHE``)."""

    uv_cache: Path | None = None

    @property
    def extra_env(self) -> dict[str, str]:
        return {UV_CACHE_ENV: str(self.uv_cache)}

    def run(self, *args: str, env: dict[str, str] | None = None, **kwargs: object) -> Result:
        return super().run(*args, env={**self.extra_env, **(env or {})}, **kwargs)  # type: ignore[arg-type]

    def many(self, calls: dict[str, tuple[list[str], dict[str, object]]]) -> dict[str, Result]:
        """Independent commands, two at a time."""
        with ThreadPoolExecutor(max_workers=2) as pool:
            futures = {k: pool.submit(self.run, *argv, **kw) for k, (argv, kw) in calls.items()}
            return {k: f.result() for k, f in futures.items()}


@dataclass
class Follow:
    lines: list[str]
    rc: int
    err: str


@dataclass
class Session:
    cli: BotCli
    steps: dict[str, Result] = field(default_factory=dict)
    screens: dict[str, str] = field(default_factory=dict)
    rcs: dict[str, int] = field(default_factory=dict)
    facts: dict[str, object] = field(default_factory=dict)
    follow: Follow | None = None

    def outputs(self) -> list[str]:
        texts = [r.text for r in self.cli.transcript] + list(self.screens.values())
        if self.follow is not None:
            texts += ["\n".join(self.follow.lines), self.follow.err]
        return texts


@contextlib.contextmanager
def library_manager(home: Path) -> Iterator[BotManager]:
    """The bots core itself, to check what the CLI did (never the thing under test)."""
    with Vault(home) as vault:
        yield BotManager(vault)


def describe(home: Path, name: str) -> DescribeBot:
    with library_manager(home) as manager:
        return manager.describe(name)


def process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def follow_until_new_record(home: Path, uv_cache: Path, timeout: float = 60) -> Follow:
    """``bots logs Ticker --follow --json -n 1``; wait for a record newer than the first shown,
    then press Ctrl-C (SIGINT) and collect how it ended."""
    proc = subprocess.Popen(
        [*CLI, "bots", "logs", "Ticker", "--follow", "--json", "-n", "1"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=clean_env(home, **{UV_CACHE_ENV: str(uv_cache)}),
    )
    lines: list[str] = []
    newer = threading.Event()

    def read() -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            lines.append(raw.decode())
            seqs = [json.loads(line)["seq"] for line in lines]
            if len(seqs) >= 2 and seqs[-1] > seqs[0]:
                newer.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        newer.wait(timeout)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(5)
    return Follow(lines, proc.returncode, err.decode(errors="replace"))


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, uv_cache: Path) -> Iterator[Session]:
    base = tmp_path_factory.mktemp("bots")
    home = base / "h"  # short: the runner keeps sockets near it
    s = Session(BotCli(home, uv_cache=uv_cache))
    run, steps = s.cli.run, s.steps
    alpha = write_notebook(base / "alpha.ipynb", ALPHA_CELL, parameters=PARAM_CELL)
    ticker = write_notebook(base / "ticker.ipynb", TICKER_CELL)
    typos = write_notebook(base / "typos.ipynb", "%pip install reqeusts\nimport nunpy\nimport os")
    try:
        steps["init"] = run("init", *FAST_KDF)
        steps["add"] = run(
            "connections", "add", CONNECTION, "--kind", "generic", "--from-json", "-",
            stdin=json.dumps({"fields": {"token": GENERIC_TOKEN}}),
        )  # fmt: skip
        steps["promote"] = run(
            "bots", "promote", str(alpha), "--name", "Alpha", "--once",
            "--connection", CONNECTION, "--param", "greeting=hello", "--param", "size=41",
        )  # fmt: skip
        promote = ["bots", "promote", str(alpha), "--name"]
        steps.update(
            s.cli.many(
                {
                    "duplicate": ([*promote, "alpha"], {"password": None}),
                    "unknown": (["bots", "status", "Nope"], {}),
                    "param_no_equals": ([*promote, "Beta", "--param", "size"], {}),
                    "param_bad_key": ([*promote, "Beta", "--param", "1size=2"], {}),
                    "every_word": ([*promote, "Beta", "--every", "soon"], {}),
                    "every_missing": ([*promote, "Beta", "--every"], {}),
                    "missing_notebook": (
                        ["bots", "promote", str(base / "gone.ipynb"), "--name", "Beta"],
                        {},
                    ),
                    "typosquat": (["bots", "promote", str(typos), "--name", "Beta"], {}),
                    "start_no_password": (["bots", "start", "Alpha"], {"password": None}),
                    "delete_no_yes": (["bots", "delete", "Alpha"], {}),
                }
            )
        )
        steps["start"] = run("bots", "start", "Alpha")
        wait_for(
            lambda: describe(home, "Alpha").state in (BotState.STOPPED, BotState.CRASHED),
            90,
            "Alpha to finish",
        )
        alpha_id = describe(home, "Alpha").id
        s.facts["alpha_status_file"] = json.loads(
            (home / "bots" / alpha_id / "status.json").read_text()
        )
        steps.update(
            s.cli.many(
                {
                    "status": (["bots", "status", "Alpha"], {"password": None}),
                    "status_json": (["bots", "status", "Alpha", "--json"], {"password": None}),
                    "logs": (["bots", "logs", "Alpha", "-n", "100"], {"password": None}),
                    "logs_json": (["bots", "logs", "Alpha", "--json"], {"password": None}),
                }
            )
        )

        notebook = home / "bots" / alpha_id / "notebook" / "v1.ipynb"
        notebook.write_bytes(notebook.read_bytes().replace(b"greeting", b"greeting ", 1))
        steps["start_tampered"] = run("bots", "start", "Alpha")  # no longer the one promoted

        term = Terminal(
            ["bots", "promote", str(ticker), "--name", "Ticker", "--continuous", "--start"],
            clean_env(home, **s.cli.extra_env),
        )
        term.expect("Promoted and started bot 'Ticker'", timeout=120)
        s.rcs["promote_tty"] = term.wait()
        s.screens["promote_tty"] = term.screen
        steps["list_json"] = run("bots", "list", "--json", password=None)

        s.follow = follow_until_new_record(home, uv_cache)
        before = describe(home, "Ticker").status
        steps["restart"] = run("bots", "restart", "Ticker", password=None)
        s.facts["pid_before_restart"] = before.pid
        s.facts["status_after_restart"] = describe(home, "Ticker").status
        steps["stop"] = run("bots", "stop", "Ticker", password=None)
        s.facts["status_after_stop"] = describe(home, "Ticker").status
        s.facts["alpha_folder"] = Path(describe(home, "Alpha").folder)
        steps["delete"] = run("bots", "delete", "Alpha", "--yes", password=None)

        term = Terminal(["bots", "delete", "Ticker"], clean_env(home, **s.cli.extra_env))
        term.expect("[y/N] ")
        term.line("y")
        term.expect("Deleted bot 'Ticker'")
        s.rcs["delete_tty"] = term.wait()
        s.screens["delete_tty"] = term.screen
        steps["list_after"] = run("bots", "list", "--json", password=None)
        yield s
    finally:
        if (home / "vault.db").exists():  # never leave a runner behind the module
            with library_manager(home) as manager:
                for bot in manager.list():
                    manager.stop(bot.id, timeout=10)


def refused(result: Result, rc: int = 1) -> str:
    """The error text, after checking the shape every refusal has: rc, no traceback, stdout
    empty, and an ``error:`` line."""
    assert result.rc == rc, f"rc={result.rc} out={result.out!r} err={result.err!r}"
    assert "Traceback" not in result.text
    assert result.out == ""
    assert "error: " in result.err, result.err
    return result.err


# ----------------------------------------------------------------------- promote


def test_promote_names_each_step_on_plain_lines_without_a_terminal(session: Session) -> None:
    result = session.steps["promote"]
    assert result.rc == 0, result.err
    for step in ("reading notebook", "checking dependencies", "writing kernelspec", "promoted"):
        assert f"\n  {step}\n" in result.err
    assert "\r" not in result.err and "\x1b" not in result.err
    assert "Promoted bot 'Alpha'" in result.out


def test_promote_on_a_terminal_spins_then_marks_each_step_done(session: Session) -> None:
    screen = session.screens["promote_tty"]
    assert session.rcs["promote_tty"] == 0, screen
    assert any(f"\r{frame} " in screen for frame in "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏")
    assert "✓ checking dependencies" in screen and "✓ starting the bot" in screen


def test_promote_without_connections_asks_for_no_password(session: Session) -> None:
    # On a terminal a needed password would be prompted for; none was, and it succeeded.
    assert session.rcs["promote_tty"] == 0
    assert "password" not in session.screens["promote_tty"].lower()


def test_param_values_are_json_when_they_parse_and_text_otherwise(session: Session) -> None:
    logs = session.steps["logs"]
    assert logs.rc == 0, logs.err
    assert "greeting hello 42" in logs.out  # "hello" stayed text, 41 became a number


def test_param_values_parse_as_json_when_valid_and_as_text_otherwise() -> None:
    params = parse_params(["n=3", "on=true", "xs=[1, 2]", "s=abc", 'q="7"', "x=NaN", "e="])
    assert params == {"n": 3, "on": True, "xs": [1, 2], "s": "abc", "q": "7", "x": "NaN", "e": ""}


@pytest.mark.parametrize("bad", [["size"], ["1x=2"], ["class=1"], ["a=1", "a=2"]])
def test_param_names_must_be_identifiers_given_once(bad: list[str]) -> None:
    with pytest.raises(UsageError):
        parse_params(bad)


def test_every_takes_seconds_and_sets_the_mode() -> None:
    args = build_parser().parse_args(
        ["bots", "promote", "n.ipynb", "--name", "B", "--every", "2.5"]
    )
    request = promote_request(args)
    assert request.mode is BotMode.EVERY and request.interval == 2.5
    once = promote_request(build_parser().parse_args(["bots", "promote", "n.ipynb", "--name", "B"]))
    assert once.mode is BotMode.ONCE and once.interval is None


# ------------------------------------------------------------------ logs, secrets


def test_logs_show_the_bots_output_with_the_secret_redacted(session: Session) -> None:
    out = session.steps["logs"].out
    assert f"token [REDACTED:{CONNECTION}.token]" in out
    assert GENERIC_TOKEN not in out


def test_no_command_ever_prints_the_secret_or_the_password(session: Session) -> None:
    outputs = session.outputs()
    assert len(outputs) >= 25
    for text in outputs:
        assert GENERIC_TOKEN not in text
        assert PASSWORD not in text


def test_logs_json_prints_one_record_per_line_in_order(session: Session) -> None:
    result = session.steps["logs_json"]
    assert result.rc == 0, result.err
    records = [json.loads(line) for line in result.out.splitlines()]
    seqs = [r["seq"] for r in records]
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs) >= 3
    assert any(r["stream"] == "stdout" and "REDACTED" in r["text"] for r in records)


def test_logs_follow_prints_new_records_until_ctrl_c_then_exits_130(session: Session) -> None:
    follow = session.follow
    assert follow is not None
    seqs = [json.loads(line)["seq"] for line in follow.lines]
    assert len(seqs) >= 2 and seqs[-1] > seqs[0], follow.lines
    assert follow.rc == 130, follow.err
    assert "Traceback" not in follow.err


# ------------------------------------------------------------------ status, list


def test_status_shows_state_runs_and_the_runners_sandbox_level(session: Session) -> None:
    result = session.steps["status"]
    assert result.rc == 0, result.err
    on_disk = session.facts["alpha_status_file"]
    assert isinstance(on_disk, dict)
    lines = dict(line.split(":", 1) for line in result.out.splitlines())
    assert lines["state"].strip() == "stopped (finished)"
    assert lines["desired state"].strip() == "running"
    assert lines["runs"].strip() == str(on_disk["runs"]) == "1"
    assert on_disk["sandbox"]
    level = lines["sandbox"].strip()
    if on_disk["sandbox"] == "unsandboxed":
        assert level.startswith("UNSANDBOXED")
        assert "warning:" in result.err
    else:
        assert level == on_disk["sandbox"]


def test_status_json_describes_the_bot(session: Session) -> None:
    described = session.steps["status_json"].json()
    assert described["name"] == "Alpha" and described["mode"] == "once"  # type: ignore[index]
    assert described["parameters"] == {"greeting": "hello", "size": 41}  # type: ignore[index]
    assert described["status"]["runs"] == 1  # type: ignore[index]
    assert len(described["connections"]) == 1  # type: ignore[index]


def _bot(sandbox: str | None) -> DescribeBot:
    status = BotStatus(bot_id="0" * 32, state=BotState.RUNNING, sandbox=sandbox, runs=2)
    return DescribeBot(
        id="0" * 32, name="B", mode=BotMode.CONTINUOUS, desired_state="running",
        state=BotState.RUNNING, notebook_version=1, status=status, folder="f",
    )  # fmt: skip


def test_an_unsandboxed_bot_is_shouted_in_status_and_list() -> None:
    loud = status_text(_bot("unsandboxed"))
    assert "UNSANDBOXED" in loud and "full access" in loud
    assert "UNSANDBOXED" in bots_table([_bot("unsandboxed")])
    quiet = status_text(_bot("landlock (ABI 7)"))
    assert "sandbox:" in quiet and "landlock (ABI 7)" in quiet and "UNSANDBOXED" not in quiet


def test_list_json_lists_every_bot_with_its_state(session: Session) -> None:
    result = session.steps["list_json"]
    assert result.rc == 0, result.err
    bots = {b["name"]: b for b in result.json()["bots"]}  # type: ignore[index]
    assert set(bots) == {"Alpha", "Ticker"}
    assert bots["Alpha"]["state"] == "stopped" and bots["Alpha"]["mode"] == "once"
    assert bots["Ticker"]["mode"] == "continuous"
    assert bots["Ticker"]["state"] in ("starting", "running")


# ------------------------------------------------------------- start, stop, delete


def test_start_of_a_bot_with_grants_unlocks_the_vault(session: Session) -> None:
    result = session.steps["start"]
    assert result.rc == 0, result.err
    assert "Started bot 'Alpha'" in result.out


def test_restart_without_grants_needs_no_password_and_replaces_the_runner(
    session: Session,
) -> None:
    result = session.steps["restart"]
    assert result.rc == 0, result.err
    after = session.facts["status_after_restart"]
    assert isinstance(after, BotStatus)
    assert after.pid != session.facts["pid_before_restart"]
    assert not process_alive(session.facts["pid_before_restart"])  # type: ignore[arg-type]


def test_start_refuses_a_bot_whose_notebook_changed_outside_watchdog_lab(
    session: Session,
) -> None:
    err = refused(session.steps["start_tampered"])
    assert "The notebook of bot 'Alpha' changed outside WatchDog Lab" in err
    assert "connections are withheld" in err and GENERIC_TOKEN not in err


def test_stop_leaves_the_bot_stopped_with_no_runner(session: Session) -> None:
    result = session.steps["stop"]
    assert result.rc == 0, result.err
    status = session.facts["status_after_stop"]
    assert isinstance(status, BotStatus)
    assert status.state is BotState.STOPPED
    assert not process_alive(status.pid) and not process_alive(status.kernel_pid)


def test_delete_removes_the_bot_and_its_folder(session: Session) -> None:
    assert session.steps["delete"].rc == 0
    assert not session.facts["alpha_folder"].exists()  # type: ignore[attr-defined]
    assert session.rcs["delete_tty"] == 0, session.screens["delete_tty"]
    assert session.steps["list_after"].json() == {"bots": []}


# ----------------------------------------------------------------------- refusals


def test_an_unknown_bot_is_one_clear_error(session: Session) -> None:
    assert "No bot named 'Nope'" in refused(session.steps["unknown"])


def test_a_duplicate_name_is_refused_case_insensitively(session: Session) -> None:
    assert "already exists" in refused(session.steps["duplicate"])


def test_a_param_without_equals_or_with_a_bad_name_is_a_usage_error(session: Session) -> None:
    assert "KEY=VALUE" in refused(session.steps["param_no_equals"], rc=2)
    assert "identifier" in refused(session.steps["param_bad_key"], rc=2)


def test_every_needs_a_number_of_seconds(session: Session) -> None:
    assert "number of seconds" in refused(session.steps["every_word"], rc=2)
    missing = session.steps["every_missing"]
    assert missing.rc == 2 and "--every" in missing.err and "Traceback" not in missing.err


def test_a_missing_notebook_is_one_clear_error(session: Session) -> None:
    assert "gone.ipynb" in refused(session.steps["missing_notebook"])


def test_refused_packages_are_listed_one_per_line(session: Session) -> None:
    err = refused(session.steps["typosquat"])
    lines = err.splitlines()
    assert any("'reqeusts'" in line and "did you mean 'requests'" in line for line in lines)
    assert any("'nunpy'" in line and "did you mean 'numpy'" in line for line in lines)
    assert not any("'reqeusts'" in line and "'nunpy'" in line for line in lines)
    assert "--allow-package" in err


def test_start_with_grants_and_no_password_source_fails_clearly(session: Session) -> None:
    err = refused(session.steps["start_no_password"])
    assert "--password-file" in err and "WATCHDOG_LAB_PASSWORD" in err


def test_delete_off_a_terminal_requires_yes(session: Session) -> None:
    assert "--yes" in refused(session.steps["delete_no_yes"])


def test_the_uv_cache_variable_is_where_builds_are_cached(session: Session) -> None:
    assert session.cli.uv_cache is not None
    assert any(session.cli.uv_cache.iterdir())
    assert not (session.cli.home / "cache" / "uv").exists()
