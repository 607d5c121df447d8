"""Every byte a bot (or its runner) writes at the descriptor level reaches disk redacted."""

from __future__ import annotations

import base64
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

from watchdog_lab.bots.layout import BotPaths
from watchdog_lab.bots.models import BotState, PromoteBot
from watchdog_lab.bots.runner import StreamingClient
from watchdog_lab.bots.runner_output import MARKER_METADATA_KEY, OutputCap
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


def test_a_bot_cannot_forge_the_runners_system_records(manager: BotManager, tmp_path: Path) -> None:
    """A kernel names its own stream messages; "system" records (a run finished, a bot
    stopped) must come only from the runner, or a bot could fake its own status in the log."""
    nb = write_notebook(
        tmp_path / "forger.ipynb",
        "k = get_ipython().kernel\n"
        "forged = {'name': 'system', 'text': 'forged-finish'}\n"
        "_ = k.session.send(k.iopub_socket, 'stream', forged, parent=k.get_parent())",
    )
    manager.promote(PromoteBot(notebook=str(nb), name="Forger", start=True))
    wait_state(manager, "Forger", BotState.STOPPED, BotState.CRASHED)
    records = manager.logs("Forger")
    forged = [r for r in records if "forged-finish" in r.text]
    assert forged, "the message reached the log"
    assert [r.stream for r in forged] == ["stdout"]


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


# ------------------------------------------------------------ what the notebook keeps


def _stream(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_output("stream", name="stdout", text=text)


def _notebook(cells: int) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(f"cell {i}") for i in range(cells)]
    return nb


def _add(cap: OutputCap, nb: nbformat.NotebookNode, index: int, output: object) -> None:
    nb.cells[index].outputs.append(output)
    cap.added(nb.cells, index)


def test_a_cell_keeps_its_newest_outputs_behind_a_marker_counting_the_dropped_ones() -> None:
    nb = _notebook(1)
    cap = OutputCap(nbformat.v4.new_output, max_outputs=3, max_chars=10_000)
    for i in range(10):
        _add(cap, nb, 0, _stream(f"line {i}\n"))
    outputs = nb.cells[0].outputs
    assert [o.text for o in outputs[1:]] == ["line 7\n", "line 8\n", "line 9\n"]
    assert outputs[0].name == "stderr" and "7 earlier output(s) / 49 characters" in outputs[0].text
    assert nb.cells[0].metadata[MARKER_METADATA_KEY] == {"dropped_outputs": 7, "dropped_chars": 49}
    nbformat.validate(nb)


def test_one_output_longer_than_the_cells_budget_keeps_the_end_of_its_text() -> None:
    nb = _notebook(1)
    cap = OutputCap(nbformat.v4.new_output, max_outputs=10, max_chars=100)
    _add(cap, nb, 0, _stream("a" * 1000 + "b" * 100))
    marker, kept = nb.cells[0].outputs
    assert kept.text == "b" * 100 and "1,000 characters" in marker.text


def test_beyond_the_notebooks_budget_the_other_cells_outputs_go_lowest_first() -> None:
    nb = _notebook(3)
    cap = OutputCap(nbformat.v4.new_output, max_chars=1000, max_total_chars=2500)
    _add(cap, nb, 0, _stream("0" * 900))
    _add(cap, nb, 1, _stream("1" * 900))
    _add(cap, nb, 2, _stream("2" * 900))
    assert [o.text for o in nb.cells[1].outputs] == ["1" * 900]
    assert [o.text for o in nb.cells[2].outputs] == ["2" * 900]
    (marker,) = nb.cells[0].outputs
    assert "1 earlier output(s) / 900 characters" in marker.text


def test_a_cleared_cell_starts_counting_again() -> None:
    nb = _notebook(1)
    cap = OutputCap(nbformat.v4.new_output, max_outputs=2)
    for i in range(5):
        _add(cap, nb, 0, _stream(f"{i}\n"))
    nb.cells[0].outputs[:] = []  # what nbclient does on clear_output
    _add(cap, nb, 0, _stream("fresh\n"))
    assert [o.text for o in nb.cells[0].outputs] == ["fresh\n"]


def _message(kind: str, display_id: str | None = None, text: str = "") -> dict:
    content: dict = {"name": "stdout", "text": text} if kind == "stream" else {}
    if kind != "stream":
        content = {"data": {"text/plain": text}, "metadata": {}}
    if display_id:
        content["transient"] = {"display_id": display_id}
    header = {"msg_type": kind, "msg_id": "m"}
    return {
        "msg_type": kind,
        "header": header,
        "parent_header": {"msg_id": "p"},
        "content": content,
    }


@pytest.mark.parametrize("dropped", [False, True])
def test_an_updated_display_reaches_its_own_output_after_the_cell_was_trimmed(
    dropped: bool,
) -> None:
    nb = _notebook(1)
    client = StreamingClient(
        nb,
        on_output=lambda msg, index: None,
        cap=OutputCap(nbformat.v4.new_output, max_outputs=3),
    )
    client.clear_before_next_output = False  # as nbclient sets it when a cell starts
    cell = nb.cells[0]
    before = [] if dropped else ["early 1\n", "early 2\n"]
    for text in before:
        client.process_message(_message("stream", text=text), cell, 0)
    client.process_message(_message("display_data", "price", "1.00"), cell, 0)
    for text in ("0\n", "1\n", "2\n")[: 3 if dropped else 2]:
        client.process_message(_message("stream", text=text), cell, 0)
    client.process_message(_message("update_display_data", "price", "2.00"), cell, 0)
    displays = [o for o in cell.outputs if o.output_type == "display_data"]
    others = [o for o in cell.outputs if o.output_type != "display_data"]
    assert all("data" not in o for o in others)  # an update never lands on another output
    assert [d.data["text/plain"] for d in displays] == ([] if dropped else ["2.00"])
