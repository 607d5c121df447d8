"""The SDK's gateway kernel takes connections once, over a comm, and only before code runs.

Real kernels, started by jupyter_client as a gateway would, both ways a gateway can start one
(the SDK's own command, or ipykernel with the SDK's kernel class), and real comm messages; no
gateway is needed to check the door itself.
"""

from __future__ import annotations

import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from queue import Empty
from typing import Any

import pytest
from jupyter_client.blocking.client import BlockingKernelClient
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import KernelManager

from watchdog_lab.sdk import Connection
from watchdog_lab.sdk.gateway_kernel import COMM_TARGET, PAYLOAD_KEY
from watchdog_lab.sdk.injection import encode_connections

SECRET = "sk-live-DoorTest-0123456789abcdef"
OTHER = "sk-live-SecondPayload-0123456789abcdef"
REPLY_SECONDS = 20


#: How a gateway's own launcher starts a kernel class by name (Enterprise Gateway's
#: launch_ipykernel.py with --kernel-class-name, as on Kubernetes).
KERNEL_CLASS_LAUNCHER = (
    "import sys; from ipykernel.kernelapp import IPKernelApp; "
    "from traitlets.utils.importstring import import_item; "
    "app = IPKernelApp.instance(kernel_class=import_item("
    "'watchdog_lab.sdk.gateway_kernel.GatewayBotKernel')); "
    "app.initialize(['-f', sys.argv[1]]); app.start()"
)
COMMANDS = {
    "module": ["-m", "watchdog_lab.sdk.gateway_kernel", "-f", "{connection_file}"],
    "kernel class": ["-c", KERNEL_CLASS_LAUNCHER, "{connection_file}"],
}


@pytest.fixture(params=sorted(COMMANDS))
def kernel(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[BlockingKernelClient]:
    spec = tmp_path / "kernels" / "door"
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, *COMMANDS[request.param]],
                "display_name": "door",
                "language": "python",
                "env": {"IPYTHONDIR": str(tmp_path / "ipython")},
            }
        )
    )
    km = KernelManager(
        kernel_name="door",
        kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(tmp_path / "kernels")]),
    )
    km.start_kernel()
    kc = km.client()
    kc.start_channels()
    kc.wait_for_ready(timeout=60)
    yield kc
    kc.stop_channels()
    km.shutdown_kernel(now=True)


def _payload(key: str) -> str:
    return encode_connections([Connection("Ex", "generic", {"key": key})])


def _open(kc: BlockingKernelClient, payload: str) -> dict[str, Any]:
    """Open the door's comm with ``payload``; the kernel's answer (a comm_msg or close)."""
    comm_id = uuid.uuid4().hex
    msg = kc.session.msg(
        "comm_open",
        {"comm_id": comm_id, "target_name": COMM_TARGET, "data": {PAYLOAD_KEY: payload}},
    )
    kc.shell_channel.send(msg)
    while True:
        try:
            reply = kc.get_iopub_msg(timeout=REPLY_SECONDS)
        except Empty:
            raise AssertionError("the kernel did not answer the comm") from None
        content = reply["content"]
        if content.get("comm_id") == comm_id and reply["msg_type"] in ("comm_msg", "comm_close"):
            return {"type": reply["msg_type"], **(content.get("data") or {})}


def _run(kc: BlockingKernelClient, code: str) -> str:
    """What ``code`` prints."""
    printed: list[str] = []
    kc.execute_interactive(
        code,
        timeout=REPLY_SECONDS,
        output_hook=lambda m: printed.append(m["content"].get("text", "")),
    )
    return "".join(printed)


def test_door_accepts_the_connections_sent_before_any_code(kernel: BlockingKernelClient) -> None:
    assert _open(kernel, _payload(SECRET)) == {"type": "comm_msg", "accepted": 1}
    printed = _run(kernel, "import watchdog_lab as wd; print(wd.connection('Ex')['key'][-6:])")
    assert printed.strip() == SECRET[-6:]


def test_door_refuses_a_second_hand_over(kernel: BlockingKernelClient) -> None:
    _open(kernel, _payload(SECRET))
    second = _open(kernel, _payload(OTHER))
    assert second["type"] == "comm_close"
    assert "accepted" not in second
    printed = _run(kernel, "import watchdog_lab as wd; print(wd.connection('Ex')['key'][-6:])")
    assert printed.strip() == SECRET[-6:]  # the first hand-over stands


def test_door_is_closed_once_code_has_run(kernel: BlockingKernelClient) -> None:
    _run(kernel, "x = 1")
    answer = _open(kernel, _payload(SECRET))
    assert answer["type"] == "comm_close"
    assert "accepted" not in answer
    assert _run(kernel, "import watchdog_lab as wd; print(wd.connections())").strip() == "[]"


def test_door_reports_an_unreadable_payload_without_taking_it(
    kernel: BlockingKernelClient,
) -> None:
    answer = _open(kernel, "not base64url!")
    assert answer["type"] == "comm_close"
    assert answer["accepted"] is False
    assert "not base64url" in answer["reason"]
    assert _run(kernel, "import watchdog_lab as wd; print(wd.connections())").strip() == "[]"
