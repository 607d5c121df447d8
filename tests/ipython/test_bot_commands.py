"""``%wd bots | promote | start | stop | restart | delete | logs``
(watchdog_lab/ipython/bot_commands.py) in a real notebook kernel of a test server that builds
real bots (uv venvs from the shared test cache)."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import nbformat
import pytest
from traitlets.config import Config

from tests.server.conftest import bot_uv_cache, bots_server_config, stop_bots  # noqa: F401
from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.server.kernels import GRANT_PASSWORD as PASSWORD
from tests.support import write_notebook

from .test_magics import loaded, refusal

TICKER = (
    "import itertools, time\n"
    "for i in itertools.count():\n"
    "    print('tick', i, flush=True)\n"
    "    time.sleep(0.2)"
)

pytestmark = pytest.mark.usefixtures("stop_bots")


@pytest.fixture
def jp_server_config(bots_server_config: Config) -> Config:  # noqa: F811
    return bots_server_config


async def promoted(kernels, root: Path, source: str, line: str = "%wd promote --name ticker"):  # type: ignore[no-untyped-def]
    write_notebook(root / NOTEBOOK, source)
    kernel = await loaded(kernels)
    out = await kernel.run(line, timeout=180)
    return kernel, out


async def wait_output(kernel, code: str, needle: str, timeout: float = 60.0) -> str:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = (await kernel.run(code)).check().stdout
        if needle in text:
            return text
        await asyncio.sleep(0.3)
    raise AssertionError(f"{needle!r} never appeared in {code}: {text}")


async def test_wd_promote_shows_the_steps_and_starts_this_notebook(
    kernels, kalshi, jp_root_dir
) -> None:
    kernel, out = await promoted(kernels, jp_root_dir, TICKER)
    out.check()
    assert f"Promoting {NOTEBOOK} as last saved" in out.stdout  # no lab extension here
    assert "Bot 'ticker' is" in out.stdout
    assert len(out.stdout.splitlines()) > 4  # the job's steps were shown as they came
    assert "ticker" in await wait_output(kernel, "%wd bots", "running")


async def test_wd_promote_refuses_a_flagged_dependency_and_names_the_allowance(
    kernels, kalshi, jp_root_dir
) -> None:
    kernel, out = await promoted(kernels, jp_root_dir, "import reqeusts")
    message = refusal(out)
    assert "--allow-package reqeusts" in message
    assert "reqeusts: flagged" in out.stdout
    assert "No bots yet" in (await kernel.run("%wd bots")).check().stdout


async def test_wd_promote_with_a_connection_asks_for_the_password(
    kernels, kalshi, jp_root_dir
) -> None:
    write_notebook(jp_root_dir / NOTEBOOK, "print('keys')")
    kernel = await loaded(kernels)
    out = await kernel.run(
        "%wd promote --name keyed --connection Kalshi --no-start", stdin=[""], timeout=60
    )
    assert "nothing was promoted" in refusal(out)
    (prompt,) = out.stdin_prompts
    assert prompt["content"]["password"] is True and "Kalshi" in prompt["content"]["prompt"]


async def test_wd_logs_shows_the_last_lines_and_stop_stops(kernels, kalshi, jp_root_dir) -> None:
    kernel, out = await promoted(kernels, jp_root_dir, TICKER)
    out.check()
    lines = await wait_output(kernel, "%wd logs ticker -n 3", "tick")
    assert 1 <= sum("tick" in line for line in lines.splitlines()) <= 3
    stopped = (await kernel.run("%wd stop ticker")).check()
    assert "ticker: stopped" in stopped.stdout


async def test_wd_logs_follow_ends_on_interrupt_without_a_traceback(
    kernels, kalshi, jp_root_dir, jp_fetch
) -> None:
    kernel, out = await promoted(kernels, jp_root_dir, TICKER)
    out.check()
    await wait_output(kernel, "%wd logs ticker -n 1", "tick")
    following = asyncio.ensure_future(kernel.run("%wd logs ticker --follow"))
    await asyncio.sleep(2.0)
    await jp_fetch("api", "kernels", kernel.id, "interrupt", method="POST", body="")
    result = (await following).check()
    assert "(stopped following)" in result.stdout
    assert result.stdout.count("tick") >= 3


async def test_wd_delete_asks_for_the_password(kernels, kalshi, jp_root_dir) -> None:
    kernel, out = await promoted(kernels, jp_root_dir, "print('once')", "%wd promote --name gone")
    out.check()
    refused = await kernel.run("%wd delete gone", stdin=["not the vault password"])
    assert "Wrong vault password" in refusal(refused)
    deleted = (await kernel.run("%wd delete gone", stdin=[PASSWORD])).check()
    assert "deleted" in deleted.stdout
    assert "No bots yet" in (await kernel.run("%wd bots")).check().stdout


async def test_wd_promote_saves_the_notebook_first_through_the_lab_extension(
    kernels, kalshi, jp_root_dir, jp_fetch, api
) -> None:
    """A stand-in for the lab extension's bridge: on the kernel's save request it writes the
    notebook as the browser holds it (with an edit not yet saved), through the contents API."""
    write_notebook(jp_root_dir / NOTEBOOK, "print('as saved before')")
    kernel = await loaded(kernels)
    edited = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('edited since')")])
    saves: list[asyncio.Future[object]] = []
    printed: list[str] = []

    def front_end(msg: dict[str, Any]) -> None:
        content = msg["content"]
        if msg["header"]["msg_type"] == "stream":
            printed.append(content["text"])
        if msg["header"]["msg_type"] == "comm_msg" and content["data"].get("action") == "save":
            body = json.dumps({"type": "notebook", "format": "json", "content": edited})
            saves.append(
                asyncio.ensure_future(
                    jp_fetch("api", "contents", NOTEBOOK, method="PUT", body=body)
                )
            )

    reply = await kernel.client.execute_interactive(
        "%wd promote --name edited --no-start", output_hook=front_end, timeout=180
    )
    assert reply["content"]["status"] == "ok", "".join(printed)  # the magic's own words
    assert len(saves) == 1
    assert f"Saved {NOTEBOOK}; promoting it as it is now." in "".join(printed)
    promoted = await api.get("bots/edited/notebook")
    assert "".join(promoted.json["notebook"]["cells"][0]["source"]) == "print('edited since')"


async def test_wd_promote_waits_while_the_save_has_written_half_the_notebook(
    kernels, kalshi, jp_root_dir, jp_fetch, api
) -> None:
    """JupyterLab's save writes the file in place: for a moment the file is half a notebook,
    with a new time. The stand-in bridge leaves it so for half a second before the save ends."""
    write_notebook(jp_root_dir / NOTEBOOK, "print('as saved before')")
    kernel = await loaded(kernels)
    edited = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print('edited since')")])
    whole = json.dumps({"type": "notebook", "format": "json", "content": edited})
    saves: list[asyncio.Future[object]] = []
    printed: list[str] = []

    async def save_slowly() -> object:
        await asyncio.sleep(0.5)
        return await jp_fetch("api", "contents", NOTEBOOK, method="PUT", body=whole)

    def front_end(msg: dict[str, Any]) -> None:
        content = msg["content"]
        if msg["header"]["msg_type"] == "stream":
            printed.append(content["text"])
        if msg["header"]["msg_type"] == "comm_msg" and content["data"].get("action") == "save":
            text = nbformat.writes(edited)
            (jp_root_dir / NOTEBOOK).write_text(text[: len(text) // 2], encoding="utf-8")
            saves.append(asyncio.ensure_future(save_slowly()))

    reply = await kernel.client.execute_interactive(
        "%wd promote --name halfway --no-start", output_hook=front_end, timeout=180
    )

    assert reply["content"]["status"] == "ok", "".join(printed)
    assert len(saves) == 1
    promoted = await api.get("bots/halfway/notebook")
    assert "".join(promoted.json["notebook"]["cells"][0]["source"]) == "print('edited since')"
