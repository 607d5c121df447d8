"""Real kernels started through the test server's REST API, and code run in them.

Kernels start as JupyterLab starts them (``POST api/kernels`` or ``POST api/sessions``), so they
go through everything the server does to a kernel; code runs over the kernel's own channels
(shell, iopub and stdin), as a frontend's would.
"""

from __future__ import annotations

import hashlib
import json
import textwrap
from dataclasses import dataclass, field
from typing import Any

from jupyter_server.serverapp import ServerApp

KERNEL_READY_TIMEOUT = 60

# The vault a grant test starts from: one connection 'Kalshi' whose secret kernels report by
# digest only (see the ``granted_vault`` fixture).
GRANT_PASSWORD = "correct horse battery staple"
GRANT_SECRET = "sk-live-Q8mZ3vT1xR7pL2nK9wB4cY6hJ0dF5gS"
GRANT_SECRET_DIGEST = hashlib.sha256(GRANT_SECRET.encode()).hexdigest()
GRANT_NOTEBOOK = "research/strategy.ipynb"
RUN_TIMEOUT = 60


@dataclass
class Execution:
    """What one execute request produced."""

    stdout: str = ""
    stderr: str = ""
    error: dict[str, Any] | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    stdin_prompts: list[dict[str, Any]] = field(default_factory=list)
    status: str = ""  # of the execute reply: "ok", or "error" (which stops a "run all")

    @property
    def everything(self) -> str:
        """Every iopub message and stdin prompt as text: what a frontend could show or keep."""
        return json.dumps([self.messages, self.stdin_prompts], default=str)

    def check(self) -> Execution:
        """This execution, if it raised nothing (else fail with the kernel's traceback)."""
        if self.error is not None:
            trace = "\n".join(self.error["traceback"])
            raise AssertionError(f"{self.error['ename']}: {self.error['evalue']}\n{trace}")
        if self.status == "error":  # a UsageError: no traceback, the message on stderr
            raise AssertionError(self.stderr)
        return self


class RunningKernel:
    def __init__(self, kernel_id: str, client: Any, session_path: str | None) -> None:
        self.id = kernel_id
        self.client = client
        self.session_path = session_path

    async def run(
        self, code: str, *, stdin: list[str] | None = None, timeout: float = RUN_TIMEOUT
    ) -> Execution:
        """Execute ``code``; each input request is answered with the next of ``stdin``."""
        result = Execution()
        answers = list(stdin or [])

        def on_output(msg: dict[str, Any]) -> None:
            result.messages.append(msg)
            kind, content = msg["header"]["msg_type"], msg["content"]
            if kind == "stream":
                if content["name"] == "stdout":
                    result.stdout += content["text"]
                else:
                    result.stderr += content["text"]
            elif kind == "error":
                result.error = content

        def on_input(msg: dict[str, Any]) -> None:
            result.stdin_prompts.append(msg)
            self.client.input(answers.pop(0) if answers else "")

        reply = await self.client.execute_interactive(
            textwrap.dedent(code),
            allow_stdin=stdin is not None,
            output_hook=on_output,
            stdin_hook=on_input,
            timeout=timeout,
        )
        result.status = reply["content"]["status"]
        return result

    async def value(self, expression: str, *, setup: str = "") -> Any:
        """The JSON value of ``expression`` evaluated in the kernel after ``setup`` ran."""
        marker = "@@value@@"
        show = f"import json as _j\nprint({marker!r} + _j.dumps({expression}))"
        code = f"{textwrap.dedent(setup)}\n{show}"
        out = (await self.run(code)).check()
        line = next(line for line in out.stdout.splitlines() if line.startswith(marker))
        return json.loads(line[len(marker) :])

    async def environ(self) -> dict[str, str]:
        return await self.value("dict(__import__('os').environ)")  # type: ignore[no-any-return]

    async def lookup(self, name: str, field: str = "api_secret") -> dict[str, Any]:
        """``wd.connection(name)`` in the kernel: ``{"ok": True, "name", "digest"}`` (SHA-256 of
        ``field``, so the value itself never crosses) or ``{"ok": False, "error", "reason"}``."""
        setup = f"""
            import hashlib, watchdog_lab as wd
            try:
                _c = wd.connection({name!r})
                _r = {{"ok": True, "name": _c.name,
                       "digest": hashlib.sha256(_c[{field!r}].encode()).hexdigest()}}
            except wd.ConnectionNotAvailable as _e:
                _r = {{"ok": False, "error": str(_e), "reason": getattr(_e, "reason", None)}}
            """
        return await self.value("_r", setup=setup)  # type: ignore[no-any-return]

    async def broker(self, call: str) -> dict[str, Any]:
        """``BrokerClient.<call>`` in the kernel: its answer, or ``{"error", "reason",
        "status"}`` for a :class:`BrokerError`."""
        setup = f"""
            from watchdog_lab.sdk.broker import BrokerClient
            from watchdog_lab.sdk.errors import BrokerError
            try:
                _r = BrokerClient.from_environ().{call}
            except BrokerError as _e:
                _r = {{"error": str(_e), "reason": _e.reason, "status": _e.status}}
            """
        return await self.value("_r", setup=setup)  # type: ignore[no-any-return]


class KernelFactory:
    """Starts kernels on the test server; :meth:`close` stops every client it opened."""

    def __init__(self, jp_fetch: Any, serverapp: ServerApp) -> None:
        self._fetch = jp_fetch
        self._serverapp = serverapp
        self._kernels: list[RunningKernel] = []

    async def start(self, notebook: str | None = None) -> RunningKernel:
        """A ready kernel: bare (``POST api/kernels``) or, given a notebook path, the kernel of
        a new session for it (``POST api/sessions``), as JupyterLab opens a notebook."""
        if notebook is None:
            response = await self._fetch(
                "api", "kernels", method="POST", body=json.dumps({"name": "python3"})
            )
            kernel_id = json.loads(response.body)["id"]
        else:
            response = await self._fetch(
                "api",
                "sessions",
                method="POST",
                body=json.dumps(
                    {"path": notebook, "type": "notebook", "kernel": {"name": "python3"}}
                ),
            )
            kernel_id = json.loads(response.body)["kernel"]["id"]
        return await self.attach(kernel_id, notebook)

    async def attach(self, kernel_id: str, notebook: str | None = None) -> RunningKernel:
        client = self._serverapp.kernel_manager.get_kernel(kernel_id).client()
        client.start_channels()
        await client.wait_for_ready(timeout=KERNEL_READY_TIMEOUT)
        kernel = RunningKernel(kernel_id, client, notebook)
        self._kernels.append(kernel)
        return kernel

    async def restart(self, kernel: RunningKernel) -> RunningKernel:
        """Restart through the REST API (as the toolbar's restart does) and reconnect."""
        kernel.client.stop_channels()
        self._kernels.remove(kernel)
        await self._fetch("api", "kernels", kernel.id, "restart", method="POST", body="")
        return await self.attach(kernel.id, kernel.session_path)

    async def shutdown(self, kernel: RunningKernel) -> None:
        kernel.client.stop_channels()
        self._kernels.remove(kernel)
        await self._fetch("api", "kernels", kernel.id, method="DELETE")

    async def close(self) -> None:
        for kernel in self._kernels:
            kernel.client.stop_channels()
        self._kernels.clear()
