"""The panel's AI Fix tab in a real kernel, against our own Messages API on 127.0.0.1.

The failing cell runs as JupyterLab runs it (its cell id in the request's metadata). Apply goes
through the notebook bridge, which :class:`~.test_panel.WidgetFront` answers like the lab
extension would, or leaves unanswered, as a front end without the extension does.
"""

from __future__ import annotations

import json
import time
from typing import Any

from tests.server.kernels import GRANT_NOTEBOOK as NOTEBOOK
from tests.server.kernels import GRANT_PASSWORD as PASSWORD

from . import test_magic_fix as magic_fix
from .test_magic_fix import FAILING, FIXED, assert_no_secret
from .test_panel import WidgetFront

CELL_ID = "7d0c6a8e-failing-cell"

# The AI Fix test server, the fake Messages API and the anthropic connection of ``%wd fix``'s
# tests (bound by assignment, so that pytest finds them here by name).
jp_server_config = magic_fix.jp_server_config
fake_api = magic_fix.fake_api
claude = magic_fix.claude


async def execute(front: WidgetFront, code: str, cell_id: str) -> dict[str, Any]:
    """Run ``code`` as JupyterLab runs a cell (``cellId`` in the metadata); the reply."""
    content = {
        "code": code,
        "silent": False,
        "store_history": True,
        "user_expressions": {},
        "allow_stdin": False,
        "stop_on_error": True,
    }
    msg = front.client.session.msg("execute_request", content, metadata={"cellId": cell_id})
    front.client.shell_channel.send(msg)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        reply = await front.client.get_shell_msg(timeout=60)
        if reply["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
            await front.pump(0.3)
            return reply  # type: ignore[no-any-return]
    raise AssertionError("no execute reply")


async def failed_with_panel(kernels: Any) -> WidgetFront:
    """A kernel granted Kalshi, showing the panel, whose cell ``CELL_ID`` then failed."""
    kernel = await kernels.start(NOTEBOOK)
    (await kernel.run("%load_ext watchdog_lab")).check()
    (await kernel.run("%wd connect Kalshi", stdin=[PASSWORD])).check()
    front = WidgetFront(kernel)
    await front.show_panel()
    reply = await execute(front, FAILING, CELL_ID)
    assert reply["content"]["status"] == "error"
    await front.until(lambda: "PermissionError" in front.value("fix-failure"))
    return front


async def proposal(front: WidgetFront) -> None:
    """Preview, then send with the password, until the proposal is shown."""
    front.click("fix-preview")
    await front.until(lambda: "sha256" in front.value("fix-payload"))
    front.type("fix-password", PASSWORD)
    await front.until(lambda: not front.state("fix-send")["disabled"])
    front.click("fix-send")
    await front.until(lambda: not front.state("fix-apply")["disabled"])


async def test_preview_shows_the_payload_without_a_secret_and_sends_nothing(
    kernels, claude, fake_api
) -> None:
    front = await failed_with_panel(kernels)
    front.click("fix-preview")
    payload = await front.until(
        lambda: front.value("fix-payload") if "sha256" in front.value("fix-payload") else ""
    )
    assert "place_order(3)" in payload
    assert "[REDACTED:" in payload
    assert fake_api.requests == []
    assert_no_secret(front.everything())


async def test_send_shows_the_explanation_and_an_escaped_diff(kernels, claude, fake_api) -> None:
    front = await failed_with_panel(kernels)
    await proposal(front)
    shown = front.value("fix-proposal")
    assert "The exchange refused the key" in shown
    assert "+print(&#x27;order placed&#x27;)" in shown
    assert len(fake_api.requests) == 1
    assert PASSWORD not in front.everything()
    assert_no_secret(front.everything())


async def test_apply_replaces_the_failing_cell_through_the_lab_extension(
    kernels, claude, fake_api
) -> None:
    front = await failed_with_panel(kernels)
    front.bridge = lambda request: {"ok": True}
    await proposal(front)
    front.click("fix-apply")
    await front.until(lambda: "now holds the fix" in front.value("fix-status"))
    (request,) = [r for r in front.bridge_requests if r.get("action") == "replace-cell"]
    assert request["cell_id"] == CELL_ID
    assert request["expected"] == FAILING
    assert request["source"] == FIXED


async def test_apply_without_the_lab_extension_inserts_the_fixed_cell_below(
    kernels, claude, fake_api
) -> None:
    front = await failed_with_panel(kernels)
    await proposal(front)
    front.click("fix-apply")
    await front.until(lambda: "inserted below" in front.value("fix-status"))
    reply = await execute(front, "1 + 1", "next-cell")
    inserted = [
        p["text"]
        for p in reply["content"].get("payload", [])
        if p.get("source") == "set_next_input"
    ]
    assert inserted == [FIXED]


async def test_a_refusal_from_the_lab_extension_is_shown_and_nothing_inserted(
    kernels, claude, fake_api
) -> None:
    front = await failed_with_panel(kernels)
    front.bridge = lambda request: {"ok": False, "error": "the cell was edited since it failed"}
    await proposal(front)
    front.click("fix-apply")
    await front.until(lambda: "edited since it failed" in front.value("fix-status"))
    reply = await execute(front, "1 + 1", "next-cell")
    assert json.dumps(reply["content"].get("payload", [])).count("set_next_input") == 0
