"""Request, response and on-disk models of bots, shared by the CLI, the server and the runner."""

from __future__ import annotations

import keyword
import unicodedata
from enum import Enum
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, JsonValue
from pydantic_core import PydanticCustomError

# Exchanges speak HTTPS (and some redirect from HTTP): the TCP ports a bot may connect to.
DEFAULT_CONNECT_PORTS = (443, 80)
# The longest cell timeout a bot takes (a week, like the longest interval), in seconds.
MAX_CELL_TIMEOUT = 7 * 86400


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BotMode(str, Enum):
    ONCE = "once"
    EVERY = "every"
    CONTINUOUS = "continuous"


class BotState(str, Enum):
    """What a runner reports; ``waiting-for-unlock`` is set by a supervisor, never a runner."""

    STARTING = "starting"
    RUNNING = "running"
    SLEEPING = "sleeping"
    STOPPED = "stopped"
    CRASHED = "crashed"
    WAITING_FOR_UNLOCK = "waiting-for-unlock"


class RestartPolicy(_Strict):
    """Exponential backoff after a failure; too many failures in a window is a crash loop."""

    backoff_initial: float = Field(0.5, ge=0, le=3600)
    backoff_max: float = Field(60.0, ge=0, le=86400)
    max_failures: int = Field(5, ge=1, le=1000)
    window_seconds: float = Field(300.0, gt=0, le=86400)

    def delay(self, consecutive_failures: int) -> float:
        if consecutive_failures <= 0:
            return 0.0
        return min(self.backoff_max, self.backoff_initial * 2.0 ** (consecutive_failures - 1))


#: A bot's log rotates past this many bytes (default), keeping this many files in all: 50 MiB
#: hold days of a bot printing a line a second (about 150 bytes a record) while a hundred bots
#: stay under 5 GB, and one file is read whole in a fraction of a second.
DEFAULT_LOG_MAX_BYTES = 10 * 2**20
DEFAULT_LOG_KEEP_FILES = 5
#: The smallest file size allowed: more than the longest record a writer can produce (64 KiB
#: of text, each character at most 6 bytes once escaped as JSON), so no file ever holds more
#: than its size and a bot's log never takes more than keep_files x max_bytes.
MIN_LOG_MAX_BYTES = 512 * 2**10
MAX_LOG_MAX_BYTES = 2**40
#: At least two: a reader following the log finishes the file just rotated away before it is
#: deleted.
MIN_LOG_KEEP_FILES = 2
MAX_LOG_KEEP_FILES = 1000


class LogRotation(_Strict):
    """How a bot's log (``logs/bot.jsonl``) rotates: by size, keeping a fixed number of files."""

    max_bytes: int = Field(DEFAULT_LOG_MAX_BYTES, ge=MIN_LOG_MAX_BYTES, le=MAX_LOG_MAX_BYTES)
    keep_files: int = Field(DEFAULT_LOG_KEEP_FILES, ge=MIN_LOG_KEEP_FILES, le=MAX_LOG_KEEP_FILES)


class BotConfig(_Strict):
    """Everything a runner needs to know about its bot, none of it secret (``bot.json``)."""

    id: str
    name: str
    mode: BotMode = BotMode.ONCE
    interval: float | None = Field(None, gt=0, le=7 * 86400)
    parameters: dict[str, object] = Field(default_factory=dict)
    notebook_version: int = 1
    restart: RestartPolicy = Field(default_factory=RestartPolicy)
    kernel_name: str
    sandbox: str = "best"
    rlimits: dict[str, int] = Field(default_factory=dict)
    # Seconds one cell may run before the run fails (None: no limit). A continuous bot's last
    # code cell, its loop, is never limited.
    cell_timeout: float | None = Field(None, gt=0, le=MAX_CELL_TIMEOUT)
    # TCP ports the kernel may connect to (Landlock ABI >= 4); others, such as local kernels'
    # and the Jupyter server's, are refused.
    connect_ports: list[Annotated[int, Field(ge=1, le=65535)]] = Field(
        default_factory=lambda: list(DEFAULT_CONNECT_PORTS)
    )
    # Written from the settings at every start: a changed setting applies from a bot's next start.
    log_rotation: LogRotation = Field(default_factory=LogRotation)
    # One kernel kept across runs (in-memory state survives between them); restarted fresh
    # only after a failure. Off: every run gets a fresh kernel.
    reuse_kernel: bool = False
    # Start the next run's fresh kernel while the bot waits, so the run begins on time.
    prewarm_kernel: bool = True


MAX_PARAMETERS = 100
MAX_PARAMETER_NAME = 64
PARAMETER_NAME_RULE = (
    "a parameter name must be a Python identifier (letters, digits and '_', not starting with "
    f"a digit), not a keyword nor a __dunder__ name, at most {MAX_PARAMETER_NAME} characters"
)


def parameter_name(name: str) -> str:
    """``name``, or a ``ValueError`` saying :data:`PARAMETER_NAME_RULE` if it would be anything
    but a plain assignment target.

    Parameters are injected as Python source, ``NAME = VALUE``, in a cell that runs before the
    notebook's own: a name is code there. Python reads identifiers in their NFKC form, so a
    name must already be in it (``__builtins`` and two FULLWIDTH LOW LINEs would otherwise
    assign ``__builtins__``).
    """
    if (
        len(name) > MAX_PARAMETER_NAME
        or not name.isidentifier()
        or unicodedata.normalize("NFKC", name) != name
        or keyword.iskeyword(name)
        or (name.startswith("__") and name.endswith("__"))
    ):
        raise PydanticCustomError("parameter_name", PARAMETER_NAME_RULE)
    return name


ParameterName = Annotated[str, AfterValidator(parameter_name)]


class PromoteBot(_Strict):
    notebook: str
    name: str
    connections: list[str] = Field(default_factory=list)
    mode: BotMode = BotMode.ONCE
    interval: float | None = Field(None, gt=0, le=7 * 86400)
    # Values are JSON (what papermill translates faithfully); an arbitrary object would be
    # pasted into the cell as its str().
    parameters: dict[ParameterName, JsonValue] = Field(
        default_factory=dict, max_length=MAX_PARAMETERS
    )
    allow_packages: list[str] = Field(default_factory=list)
    # Packages trusted to run code at every interpreter start (a .pth import line,
    # sitecustomize); any other package that does is refused at promote.
    allow_startup_code: list[str] = Field(default_factory=list, max_length=100)
    cell_timeout: float | None = Field(
        None,
        ge=0,
        le=MAX_CELL_TIMEOUT,
        description="seconds a cell may run before the run fails; 0: no limit; "
        "unset: the server's default",
    )
    reuse_kernel: bool = Field(
        False,
        description="keep one kernel across runs (in-memory state survives between runs; a "
        "failed run restarts it fresh); default: a fresh kernel for every run",
    )
    start: bool = False


class ErrorRecord(_Strict):
    """A failing cell, redacted: what AI Fix will send (never other cells' outputs).

    ``cell_index`` counts the cells of the notebook version that ran (``notebook_version``),
    not of the parameterised copy the kernel executed: a fix replaces that cell of that version.
    """

    cell_index: int | None = None
    notebook_version: int | None = None
    source: str = ""
    ename: str = ""
    evalue: str = ""
    traceback: list[str] = Field(default_factory=list)
    at: float = 0.0


class BotStatus(_Strict):
    """``status.json``: written by the runner (actual state) with a heartbeat."""

    bot_id: str
    state: BotState = BotState.STOPPED
    pid: int | None = None
    pid_start: int | None = None
    kernel_pid: int | None = None
    kernel_pid_start: int | None = None
    # The next run's kernel, started while the bot waits (ended with the bot, like the other).
    prewarmed_kernel_pid: int | None = None
    prewarmed_kernel_pid_start: int | None = None
    prewarmed_kernel_ready: bool = False
    started_at: float | None = None
    heartbeat_at: float | None = None
    runs: int = 0
    restarts: int = 0
    consecutive_failures: int = 0
    next_run_at: float | None = None
    last_error: ErrorRecord | None = None
    reason: str | None = None
    sandbox: str | None = None
    # What ends every process of the kernel with it: "pid namespace (at most 1024 tasks)", or
    # "process group only (...)" where a daemon could outlive the bot.
    containment: str | None = None
    last_seq: int = 0


class DescribeBot(_Strict):
    id: str
    name: str
    mode: BotMode
    interval: float | None = None
    parameters: dict[str, object] = Field(default_factory=dict)
    reuse_kernel: bool = False
    desired_state: str
    state: BotState
    connections: list[str] = Field(default_factory=list, description="granted connections")
    notebook_version: int
    status: BotStatus
    folder: str


class ListBotsResponse(_Strict):
    bots: list[DescribeBot]


class LogRecord(_Strict):
    seq: int
    ts: float
    stream: str
    text: str
    cell: int | None = None
    run: int | None = None


class UpdateGrants(_Strict):
    """Replace a bot's grants: the connection names it may use from its next start."""

    connections: list[str] = Field(max_length=100)


class DescribeGrants(_Strict):
    connections: list[str]
    restart_needed: bool = Field(
        False, description="the bot runs with its previous grants until it restarts"
    )


class DescribeBotVersion(_Strict):
    """One notebook version of a bot (``notebook/vN.ipynb``)."""

    version: int
    created_at: float
    current: bool = Field(description="the version the bot runs from its next start")
    sealed: bool = Field(
        description="a seal was written for it (checked at every start of a bot with connections)"
    )
    reason: str | None = Field(None, description="why it was written (none for the promoted one)")


class ListBotVersions(_Strict):
    versions: list[DescribeBotVersion]


class RollbackBot(_Strict):
    """Which notebook version a bot runs from now on."""

    to: int | None = Field(None, ge=1, description="the version to run; unset: the current - 1")


class DescribeRun(_Strict):
    """One executed notebook kept in ``runs/`` (outputs redacted)."""

    name: str
    created_at: float
    size: int


class ListRuns(_Strict):
    runs: list[DescribeRun]
