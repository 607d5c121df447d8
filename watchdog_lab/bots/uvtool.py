"""Finding and running ``uv``, the installer behind every bot environment.

``uv`` is a dependency of WatchDog Lab (the PyPI package ships the binary), so a bot can be
built on a machine that never had uv installed by hand; a ``uv`` on ``PATH`` is only the
fallback for installs that stripped the package's binary.

uv is always run from an argv list (never a shell) with an environment built here from an
allowlist, not inherited: the promoting process may be a Jupyter server whose environment is
none of the installer's business, and an installer that sees only what it needs cannot leak
the rest into a build backend or an error message. What passes through:

- ``PATH``, ``HOME`` and ``TMPDIR``: uv needs them to find tools, its credential store and
  ``~/.netrc``, and scratch space.
- ``UV_CACHE_DIR``: always set, to the shared cache the caller names.
- uv's own index, TLS and network settings (:data:`UV_PASSTHROUGH`, plus per-index
  credentials ``UV_INDEX_<NAME>_USERNAME`` / ``_PASSWORD``) and the standard proxy variables,
  so a machine behind a mirror or a proxy builds bots the way it installs anything else.
- pip's equivalents, translated (:data:`PIP_TO_UV`): uv does not read ``PIP_*`` variables, yet
  a machine configured for pip (a company mirror in ``PIP_INDEX_URL``, a CA bundle in
  ``PIP_CERT``) should not need a second configuration for bots. A uv variable that is set
  wins over its pip counterpart. ``PIP_TRUSTED_HOST`` is deliberately not translated: turning
  off TLS verification is not something to inherit silently.

uv's configuration files are ignored (``--no-config``): a ``uv.toml`` or ``pyproject.toml``
discovered around the working directory must not be able to redirect where a bot's packages
come from. Configure bots' installs with the variables above.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from .errors import EnvironmentBuildFailed

__all__ = [
    "PIP_TO_UV",
    "UV_PASSTHROUGH",
    "UvResult",
    "error_summary",
    "find_uv",
    "run_uv",
    "scrub_credentials",
    "uv_environment",
]

BASE_PASSTHROUGH: tuple[str, ...] = ("PATH", "HOME", "TMPDIR")

UV_PASSTHROUGH: tuple[str, ...] = (
    "UV_INDEX_URL",
    "UV_EXTRA_INDEX_URL",
    "UV_DEFAULT_INDEX",
    "UV_INDEX",
    "UV_FIND_LINKS",
    "UV_INDEX_STRATEGY",
    "UV_KEYRING_PROVIDER",
    "UV_OFFLINE",
    "UV_HTTP_TIMEOUT",
    "UV_HTTP_RETRIES",
    "UV_NATIVE_TLS",
    "UV_SYSTEM_CERTS",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "SSL_CLIENT_CERT",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
)

_INDEX_CREDENTIAL = re.compile(r"^UV_INDEX_[A-Z0-9_]+_(USERNAME|PASSWORD)$")


def _words_to_commas(value: str) -> str:
    return ",".join(value.split())


def _same(value: str) -> str:
    return value


# (pip variable, uv variable, how pip's value is spelled for uv). pip separates lists with
# whitespace; uv reads --find-links from a comma-separated variable.
PIP_TO_UV: tuple[tuple[str, str, Callable[[str], str]], ...] = (
    ("PIP_INDEX_URL", "UV_INDEX_URL", _same),
    ("PIP_EXTRA_INDEX_URL", "UV_EXTRA_INDEX_URL", _same),
    ("PIP_FIND_LINKS", "UV_FIND_LINKS", _words_to_commas),
    ("PIP_CERT", "SSL_CERT_FILE", _same),
)

# How many trailing lines of uv's stderr an error message keeps: enough for uv's
# "error / cause / hint" block, short enough to read in a sidebar.
ERROR_LINES = 8
ERROR_CHARS = 1500

_URL_USERINFO = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@]+@")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")


def find_uv() -> str:
    """The uv binary: the one the ``uv`` package ships, else the first ``uv`` on ``PATH``."""
    try:
        import uv

        found = uv.find_uv_bin()
    except (ImportError, FileNotFoundError):
        found = None
    if found and os.access(found, os.X_OK):
        return str(found)
    on_path = shutil.which("uv")
    if on_path:
        return on_path
    raise EnvironmentBuildFailed(
        "uv was not found: reinstall watchdog-lab (it depends on the 'uv' package) "
        "or put a uv binary on PATH."
    )


def uv_environment(cache_dir: Path, source: Mapping[str, str] | None = None) -> dict[str, str]:
    """The whole environment uv runs with: the allowlist above, read from ``source``."""
    source = os.environ if source is None else source
    env: dict[str, str] = {}
    for name in (*BASE_PASSTHROUGH, *UV_PASSTHROUGH):
        if source.get(name):
            env[name] = source[name]
    for name, value in source.items():
        if value and _INDEX_CREDENTIAL.match(name):
            env[name] = value
    for pip_name, uv_name, convert in PIP_TO_UV:
        if source.get(pip_name) and uv_name not in env:
            env[uv_name] = convert(source[pip_name])
    env.setdefault("PATH", os.defpath)
    env["UV_CACHE_DIR"] = str(cache_dir)
    # uv's messages end up in bot logs and error messages: no colour codes, no progress bars.
    env["NO_COLOR"] = "1"
    env["UV_NO_PROGRESS"] = "1"
    return env


def scrub_credentials(text: str) -> str:
    """Hide ``user:password@`` in URLs: an index URL may carry a token and uv may echo it."""
    return _URL_USERINFO.sub(r"\g<scheme>****@", text)


def error_summary(stderr: str) -> str:
    """The part of uv's stderr a user acts on: from its last ``error:`` line to the end."""
    lines = [_ANSI.sub("", line).rstrip() for line in stderr.splitlines()]
    lines = [line for line in lines if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.lstrip().lower().startswith("error")]
    tail = lines[starts[-1] :] if starts else lines
    tail = tail[-ERROR_LINES:]
    text = scrub_credentials("\n".join(tail))
    if len(text) > ERROR_CHARS:
        text = text[: ERROR_CHARS - 3] + "..."
    return text or "(uv printed nothing)"


@dataclass(frozen=True)
class UvResult:
    """A finished uv run that exited 0."""

    argv: tuple[str, ...]
    stdout: str
    stderr: str
    seconds: float

    def warnings(self) -> list[str]:
        """uv's ``warning:`` lines, which the caller should show (e.g. "falling back to copy")."""
        return [
            scrub_credentials(line.strip())
            for line in self.stderr.splitlines()
            if line.strip().lower().startswith("warning")
        ]


def _pump(stream: Iterable[str], sink: list[str], on_line: Callable[[str], None] | None) -> None:
    """Drain one pipe to the end; a failing callback is dropped, never left to block uv."""
    for line in stream:
        sink.append(line)
        if on_line is not None:
            try:
                on_line(scrub_credentials(line.rstrip("\n")))
            except Exception:
                on_line = None


def run_uv(
    uv_bin: str,
    args: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    action: str,
    on_line: Callable[[str], None] | None = None,
    limit: float | None = None,
) -> UvResult:
    """Run ``uv args...`` and return its output, or raise :class:`EnvironmentBuildFailed`.

    ``action`` names the step for the error message ("installing the bot's packages"). uv's
    stderr is streamed line by line to ``on_line`` while it runs, so a long install shows
    progress instead of silence. uv runs in its own process group: on timeout the whole group
    is killed, including any build backend uv started. ``limit`` is the time limit to name
    in the timeout message when ``timeout`` is what remains of a larger budget.
    """
    argv = (uv_bin, *args)
    if timeout <= 0:
        raise EnvironmentBuildFailed(
            f"Timed out after {limit or 0:g} s, before {action} could start; a slow index or "
            "a large package may need a longer timeout."
        )
    started = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=cwd,
            env=dict(env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            start_new_session=True,
        )
    except OSError as exc:
        raise EnvironmentBuildFailed(f"Could not run uv for {action}: {exc.strerror}.") from exc
    out: list[str] = []
    err: list[str] = []
    with proc:  # closes the pipes on every way out
        readers = [
            threading.Thread(target=_pump, args=(proc.stdout, out, None), daemon=True),
            threading.Thread(target=_pump, args=(proc.stderr, err, on_line), daemon=True),
        ]
        for reader in readers:
            reader.start()
        try:
            returncode = proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise EnvironmentBuildFailed(
                f"Timed out after {limit or timeout:g} s while {action}; a slow index or a "
                "large package may need a longer timeout."
            ) from None
        finally:
            for reader in readers:
                reader.join(timeout=5)
    stderr = "".join(err)
    if returncode != 0:
        raise EnvironmentBuildFailed(
            f"uv failed while {action} (exit {returncode}):\n{error_summary(stderr)}"
        )
    return UvResult(argv, "".join(out), stderr, time.monotonic() - started)
