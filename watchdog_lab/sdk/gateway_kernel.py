"""The bot kernel a Jupyter Enterprise Gateway runs, and how it receives its connections.

On a gateway the kernel starts far from the runner: no pipe can be inherited, and the
gateway's environment (``KERNEL_*`` variables), its command line and its logs are the wrong
places for a secret. So the kernel opens a door instead, before any cell can run: it registers
the comm target :data:`COMM_TARGET`, and the runner, once the kernel answers on its
authenticated channels, opens that comm once with the encoded connections in the open
message's data. Comm messages are not code: IPython's history never sees them.

The door closes for good at the first of: the first comm opened on it (accepted or not), or
the first code the kernel runs (``pre_execute``, silent executions included). Whoever reaches
the channels later, bot code included, finds no target. The kernel then answers on the comm
with the number of connections it accepted, and the runner starts the notebook only after that.

Run as the gateway kernelspec's command::

    python -m watchdog_lab.sdk.gateway_kernel -f {connection_file} [ipykernel options]

or, where the gateway's own launcher starts the kernel (Enterprise Gateway's remote kernels on
Kubernetes), as its kernel class ``watchdog_lab.sdk.gateway_kernel.GatewayBotKernel``. It is
ipykernel with this door, IPython's history off (the command's options override that), and the
bot's id and name taken from ``KERNEL_WATCHDOG_LAB_BOT_ID`` / ``_NAME``, which the runner sends
when it asks the gateway for the kernel.
"""

from __future__ import annotations

import os
import sys
import threading
from typing import Any, Final

from .bot import BOT_DIR_VAR, BOT_ID_VAR, BOT_NAME_VAR
from .connection import Connection
from .errors import InjectionError
from .injection import decode_connections

__all__ = ["COMM_TARGET", "KERNEL_PREFIX", "CommSource", "main"]

COMM_TARGET: Final = "watchdog_lab.connections"
#: What a gateway lets a client put in a kernel's environment (never a secret: it is logged).
KERNEL_PREFIX: Final = "KERNEL_"
#: The key of the open message's data that holds the encoded connections.
PAYLOAD_KEY: Final = "connections"
_ORIGIN: Final = "the connections sent over the kernel channel"
# IPython's history on disk: a bot kernel has no use for it (the kernelspec may turn it on).
_DEFAULT_OPTIONS: Final = ("--HistoryManager.enabled=False",)
# Output reaches the runner's log sooner than ipykernel's 0.2 s batches.
_FLUSH_SECONDS: Final = 0.05


class CommSource:
    """Connections handed over once on the comm :data:`COMM_TARGET` (a :class:`~.sources.Source`).

    Until the door closes, the source has nothing; after, it has what the one accepted open
    message carried (possibly nothing).
    """

    def __init__(self) -> None:
        self._by_key: dict[str, Connection] = {}
        self._lock = threading.Lock()
        self._open = False
        self._close_door: Any = None

    def get(self, key: str) -> Connection | None:
        return self._by_key.get(key)

    def names(self) -> list[str]:
        return [conn.name for conn in self._by_key.values()]

    def preload(self) -> None:
        """Nothing to read: the runner sends before any code runs."""

    def install(self, comm_manager: Any, events: Any) -> None:
        """Open the door on ``comm_manager`` (ipykernel's) and close it at ``events``'
        first ``pre_execute`` (IPython's event manager)."""

        def close_door(*_: Any) -> None:
            with self._lock:
                if not self._open:
                    return
                self._open = False
            comm_manager.unregister_target(COMM_TARGET, self._on_open)
            events.unregister("pre_execute", close_door)

        self._close_door = close_door
        self._open = True
        comm_manager.register_target(COMM_TARGET, self._on_open)
        events.register("pre_execute", close_door)

    def _on_open(self, comm: Any, msg: dict[str, Any]) -> None:
        with self._lock:
            first = self._open
        self._close_door()
        if not first:  # a second comm raced the first: refuse it, keep what was accepted
            comm.close(data={"accepted": False, "reason": "connections were already received"})
            return
        data = msg.get("content", {}).get("data")
        outcome = _take(data)
        if isinstance(outcome, str):
            comm.close(data={"accepted": False, "reason": outcome})
            return
        if outcome:
            from .hardening import make_undumpable

            make_undumpable()  # this process holds secrets from now on
        self._by_key = {conn.name.casefold(): conn for conn in outcome}
        comm.send({"accepted": len(outcome)})
        comm.close()


def _take(data: object) -> list[Connection] | str:
    """The connections in an open message's ``data`` (removed from it), or a problem."""
    if not isinstance(data, dict) or set(data) != {PAYLOAD_KEY}:
        return f'the open message\'s data must hold exactly "{PAYLOAD_KEY}"'
    if not isinstance(data[PAYLOAD_KEY], str):
        return f'"{PAYLOAD_KEY}" is not text'
    if not data[PAYLOAD_KEY]:
        data.clear()
        return []
    try:
        # Popped straight into the decoder: no local of this frame holds the payload.
        return decode_connections(data.pop(PAYLOAD_KEY), origin=_ORIGIN)
    except InjectionError as error:
        return str(error)


class _NoOutputHistory(dict[int, list[Any]]):
    """IPython keeps what each cell printed until the cell ends, history off too; a continuous
    bot's loop never ends. The runner logs the output; the kernel keeps none."""

    def __missing__(self, key: int) -> list[Any]:
        return []


def _bot_identity(environ: dict[str, str] | Any) -> None:
    """The bot's id and name as ``wd.bot`` reads them, from the gateway's ``KERNEL_*``."""
    for name in (BOT_ID_VAR, BOT_NAME_VAR):
        value = environ.get(KERNEL_PREFIX + name)
        if value and name not in environ:
            environ[name] = value
    if BOT_ID_VAR in environ and BOT_DIR_VAR not in environ:
        environ[BOT_DIR_VAR] = os.getcwd()


def _defaults(given: list[str]) -> list[str]:
    """The default options the kernelspec's own do not set (traitlets refuses a scalar
    option given twice)."""
    named = {arg.split("=", 1)[0] for arg in given}
    return [option for option in _DEFAULT_OPTIONS if option.split("=", 1)[0] not in named]


def _silence_echo(stream: Any) -> None:
    """Send ipykernel's echo of descriptor-level output to ``/dev/null``.

    ipykernel forwards what is written to descriptors 1 and 2 to the runner (which redacts it)
    and also echoes it to the kernel's original descriptors: on a gateway, its log (a pod's
    log), where nothing is redacted. The echo is the copy ipykernel keeps of the original
    descriptor; pointing that copy at ``/dev/null`` leaves the runner as the only reader.
    """
    echo_fd = getattr(stream, "_original_stdstream_copy", None)
    if not isinstance(echo_fd, int):
        return
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, echo_fd)
    finally:
        os.close(null)


def _kernel_class() -> type:
    """ipykernel's kernel with the door opened at :meth:`start`: after the kernel's start-up
    code ran (``exec_lines``, startup files), before it reads its first request."""
    global _KERNEL_CLASS
    if _KERNEL_CLASS is not None:
        return _KERNEL_CLASS
    from ipykernel.ipkernel import IPythonKernel

    from .lookup import register_source

    class GatewayBotKernel(IPythonKernel):
        """A bot's kernel on a gateway (see :mod:`watchdog_lab.sdk.gateway_kernel`)."""

        def start(self) -> None:
            _bot_identity(os.environ)
            shell = self.shell
            assert shell is not None  # made with the kernel
            shell.history_manager.outputs = _NoOutputHistory()
            for stream in (sys.stdout, sys.stderr):
                if hasattr(stream, "flush_interval"):
                    stream.flush_interval = _FLUSH_SECONDS
                _silence_echo(stream)
            source = CommSource()
            register_source(source, first=True)
            source.install(self.comm_manager, shell.events)
            super().start()  # type: ignore[no-untyped-call]

    GatewayBotKernel.__module__ = __name__
    _KERNEL_CLASS = GatewayBotKernel
    return GatewayBotKernel


_KERNEL_CLASS: type | None = None


def __getattr__(name: str) -> Any:
    # ``GatewayBotKernel`` is built on first use: importing this module (for its constants)
    # must not import ipykernel. Gateways' own launchers name it as a kernel class
    # (Enterprise Gateway's ``--kernel-class-name``, ``KERNEL_CLASS_NAME``).
    if name == "GatewayBotKernel":
        return _kernel_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main(argv: list[str] | None = None) -> None:
    """Start ipykernel with the door (see the module's text), for a kernelspec's command."""
    from ipykernel.kernelapp import IPKernelApp

    _bot_identity(os.environ)
    given = sys.argv[1:] if argv is None else argv
    app = IPKernelApp.instance(kernel_class=_kernel_class())
    app.initialize([*_defaults(given), *given])  # type: ignore[no-untyped-call]
    app.start()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
