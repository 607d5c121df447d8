"""A bot's own virtual environment: ipykernel, the WatchDog SDK and only the approved packages.

Every bot gets a venv of its own so that one bot's upgrade cannot break another, and so that
its sandbox can make the whole interpreter read-only. What keeps that cheap is uv with one
cache shared by all bots (``$WATCHDOG_LAB_HOME/cache/uv``) and ``--link-mode hardlink``: files
are linked from the cache rather than copied, so a bot costs megabytes, not a hundred of them.
Hardlinks need the cache and the venvs on one filesystem, which the common home gives; if they
are not, uv copies and the report carries a warning. A consequence to keep in mind: a file in
a venv *is* the cached file, so a bot must never be able to write into its venv (the sandbox
mounts it read-only).

The SDK is not installed from an index: the full ``watchdog-lab`` distribution pulls in the
Jupyter server, which has no business in a bot. Instead the SDK's own modules are copied from
the promoting installation with a ``dist-info`` of their own, so ``import watchdog_lab as wd``
gives the bot exactly the SDK, of exactly the version that promoted it, and uv lists it.

Requirements arrive already approved by the dependency policy; they are checked again here
(no options, no URLs, valid PEP 508) because this is the last step before the installer runs.
Packages are installed in two steps, the kernel's baseline first, then the bot's own, so the
report can tell which packages a bot added, which is what gets logged and audited.
"""

from __future__ import annotations

import base64
import contextlib
import csv
import hashlib
import importlib.metadata
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

import watchdog_lab

from .._version import __version__
from ..paths import ensure_private_dir, home_dir
from .errors import EnvironmentBuildFailed
from .uvtool import UvResult, find_uv, run_uv, uv_environment

__all__ = [
    "DEFAULT_TIMEOUT",
    "KERNEL_REQUIRES",
    "SDK_DISTRIBUTION",
    "SDK_REQUIRES",
    "SDK_SOURCES",
    "EnvironmentReport",
    "Package",
    "StartupFinding",
    "VersionChange",
    "build_environment",
    "check_requirements",
    "default_cache_dir",
    "environment_lock",
    "find_startup_code",
    "install_sdk",
    "installed_packages",
    "site_packages_dir",
    "unique_disk_bytes",
    "venv_python",
]

DEFAULT_TIMEOUT = 600.0

# What every bot venv holds besides its own packages. The floors are what the kernelspec and
# the SDK need; when the target interpreter is the promoting one, each is pinned to the version
# the promoting environment runs, so the bot's kernel behaves like the one it was researched in.
KERNEL_REQUIRES: tuple[str, ...] = ("ipykernel>=6",)
SDK_REQUIRES: tuple[str, ...] = ("cryptography>=42",)
SDK_DISTRIBUTION = "watchdog-lab"

# The SDK as a bot sees it: paths relative to the ``watchdog_lab`` package. Everything
# ``watchdog_lab/__init__.py`` imports at module level must be in here.
SDK_SOURCES: tuple[str, ...] = ("__init__.py", "_version.py", "sdk")
_SKIP_NAMES = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")

# Startup code that venv creators and setuptools write on purpose, by file name and the
# distribution that must own it (None: written by the venv creator, owned by no package).
KNOWN_STARTUP_FILES: Mapping[str, str | None] = {
    "_virtualenv.pth": None,
    "distutils-precedence.pth": "setuptools",
}
# Modules the interpreter imports by name at every start when they are on sys.path.
STARTUP_MODULES = ("sitecustomize.py", "usercustomize.py")
_MAX_SHOWN_LINE = 300

Progress = Callable[[str], None]


@dataclass(frozen=True, order=True)
class Package:
    """An installed distribution, named the way uv lists it."""

    name: str
    version: str

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class VersionChange:
    """A baseline package whose version the bot's own requirements moved."""

    name: str
    before: str
    after: str


@dataclass(frozen=True)
class StartupFinding:
    """A file in site-packages that makes the interpreter run code at every start.

    A ``.pth`` line starting with ``import`` is executed by ``site`` before any notebook
    code, in every process of the venv; packages rarely need that, and malicious ones love it.
    """

    file: str
    owner: str | None
    kind: Literal["pth", "module"]
    lines: tuple[str, ...]

    def describe(self) -> str:
        by = f"installed by {self.owner}" if self.owner else "owned by no installed package"
        return f"{self.file} ({by}) runs code at interpreter start"


@dataclass(frozen=True)
class EnvironmentReport:
    """What a build produced, for the bot's log, the audit log and the UI."""

    venv_dir: Path
    python: Path
    python_version: str
    sdk: Package
    baseline: tuple[Package, ...]
    new: tuple[Package, ...]
    changed: tuple[VersionChange, ...]
    startup_code: tuple[StartupFinding, ...]
    warnings: tuple[str, ...]
    seconds: float
    requirements: tuple[str, ...] = field(default=())

    @property
    def packages(self) -> tuple[Package, ...]:
        """Everything installed, baseline and new, sorted by name."""
        return tuple(sorted((*self.baseline, *self.new)))

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready form (paths as strings) for ``status.json`` and log records."""
        data = asdict(self)
        data["venv_dir"] = str(self.venv_dir)
        data["python"] = str(self.python)
        return data


# --- requirements ---------------------------------------------------------------------------


def check_requirements(requirements: Iterable[str]) -> list[Requirement]:
    """Parse approved requirement strings, refusing anything that is not a plain PEP 508 name.

    The dependency policy refuses these first; refusing again here means a bug or a bypass
    upstream still cannot hand the installer an option (``--index-url ...``), a URL or a path.
    """
    parsed: list[Requirement] = []
    for raw in requirements:
        if not isinstance(raw, str):
            raise EnvironmentBuildFailed(f"Requirement {raw!r} is not a string.")
        text = raw.strip()
        shown = text if len(text) <= 80 else text[:77] + "..."
        if not text:
            raise EnvironmentBuildFailed("An empty requirement was given.")
        if text.startswith("-"):
            raise EnvironmentBuildFailed(
                f"Requirement {shown!r} looks like an installer option; only package names "
                "with optional versions are accepted."
            )
        try:
            req = Requirement(text)
        except InvalidRequirement as exc:
            raise EnvironmentBuildFailed(
                f"Requirement {shown!r} is not a valid package requirement: {exc}"
            ) from None
        if req.url:
            raise EnvironmentBuildFailed(
                f"Requirement {shown!r} points at a URL or path; bots install from the "
                "package index only."
            )
        if canonicalize_name(req.name) == SDK_DISTRIBUTION:
            raise EnvironmentBuildFailed(
                f"Requirement {shown!r} is not needed: every bot already has the WatchDog SDK, "
                "and the full watchdog-lab distribution does not belong in a bot."
            )
        parsed.append(req)
    return parsed


def _promoting_pin(requirement: str) -> str:
    """``name==<version the promoting environment runs>`` when that version fits, else as is."""
    req = Requirement(requirement)
    try:
        running = importlib.metadata.version(req.name)
        version = Version(running)
    except (importlib.metadata.PackageNotFoundError, InvalidVersion):
        return requirement
    if version.local or version.is_devrelease or version not in req.specifier:
        # A locally patched or development build is not on any index.
        return requirement
    return f"{canonicalize_name(req.name)}=={version}"


def baseline_requirements(bot_names: set[str], *, pin: bool) -> list[str]:
    """ipykernel and the SDK's dependency, pinned unless the bot names them itself."""
    reqs = []
    for requirement in (*KERNEL_REQUIRES, *SDK_REQUIRES):
        name = canonicalize_name(Requirement(requirement).name)
        reqs.append(_promoting_pin(requirement) if pin and name not in bot_names else requirement)
    return reqs


# --- venv layout ----------------------------------------------------------------------------


def default_cache_dir(home: str | os.PathLike[str] | None = None) -> Path:
    """The uv cache every bot shares: under the home, so on the venvs' filesystem."""
    return home_dir(home) / "cache" / "uv"


def venv_python(venv_dir: Path) -> Path:
    """The venv's interpreter. Not resolved: the symlink is what makes it the venv's."""
    return Path(venv_dir).absolute() / "bin" / "python"


def site_packages_dir(venv_dir: Path) -> Path:
    """The venv's one ``site-packages`` (``lib/pythonX.Y/`` on CPython, ``lib/pypyX.Y/`` …)."""
    found = sorted(Path(venv_dir).glob("lib/*/site-packages"))
    if len(found) != 1:
        raise EnvironmentBuildFailed(
            f"Expected one site-packages folder in {venv_dir}, found {len(found)}."
        )
    return found[0]


def _venv_python_version(venv_dir: Path) -> str:
    values: dict[str, str] = {}
    cfg = Path(venv_dir) / "pyvenv.cfg"
    for line in cfg.read_text(encoding="utf-8").splitlines():
        key, sep, value = line.partition("=")
        if sep:
            values[key.strip()] = value.strip()
    return values.get("version_info") or values.get("version") or "unknown"


# --- the SDK as a minimal distribution ------------------------------------------------------


def _sdk_files(package_dir: Path) -> list[Path]:
    files: list[Path] = []
    for entry in SDK_SOURCES:
        source = package_dir / entry
        if source.is_file():
            files.append(source)
        elif source.is_dir():
            for path in sorted(source.rglob("*")):
                relative = path.relative_to(package_dir)
                if any(part in _SKIP_NAMES for part in relative.parts):
                    continue
                if path.is_file() and not path.name.endswith(_SKIP_SUFFIXES):
                    files.append(path)
        else:
            raise EnvironmentBuildFailed(f"The SDK source {entry!r} is missing from {package_dir}.")
    return files


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return "sha256=" + digest.decode("ascii")


def _sdk_metadata(version: str) -> str:
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {SDK_DISTRIBUTION}",
        f"Version: {version}",
        "Summary: WatchDog Lab SDK for bots: connections only, no Jupyter server.",
        "Requires-Python: >=3.10",
        *(f"Requires-Dist: {requirement}" for requirement in SDK_REQUIRES),
    ]
    return "\n".join(lines) + "\n"


def install_sdk(site_packages: Path, package_dir: Path | None = None) -> Package:
    """Copy the SDK modules into ``site_packages`` as the ``watchdog-lab`` distribution.

    The ``dist-info`` carries METADATA (so installers list it and see its cryptography
    requirement), INSTALLER, REQUESTED and a RECORD with hashes (so ``uv pip uninstall`` and
    ``uv pip check`` treat it like any wheel-installed package).
    """
    package_dir = package_dir or Path(watchdog_lab.__file__).parent
    target = site_packages / "watchdog_lab"
    if target.exists():
        raise EnvironmentBuildFailed(f"{target} already exists; the SDK is installed once.")
    records: list[tuple[str, str, str]] = []
    for source in _sdk_files(package_dir):
        relative = source.relative_to(package_dir)
        destination = target / relative
        destination.parent.mkdir(parents=True, exist_ok=True)
        data = source.read_bytes()
        destination.write_bytes(data)
        records.append(
            ((Path("watchdog_lab") / relative).as_posix(), _record_hash(data), str(len(data)))
        )
    dist_info_name = f"watchdog_lab-{__version__}.dist-info"
    dist_info = site_packages / dist_info_name
    dist_info.mkdir()
    for name, text in (
        ("METADATA", _sdk_metadata(__version__)),
        ("INSTALLER", "watchdog-lab\n"),
        ("REQUESTED", ""),
    ):
        data = text.encode("utf-8")
        (dist_info / name).write_bytes(data)
        records.append((f"{dist_info_name}/{name}", _record_hash(data), str(len(data))))
    records.append((f"{dist_info_name}/RECORD", "", ""))
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(records)
    (dist_info / "RECORD").write_text(buffer.getvalue(), encoding="utf-8")
    return Package(SDK_DISTRIBUTION, __version__)


# --- inspecting a venv ----------------------------------------------------------------------


def installed_packages(
    uv_bin: str,
    python: Path,
    *,
    env: Mapping[str, str],
    cwd: Path,
    timeout: float,
    limit: float | None = None,
) -> dict[str, Package]:
    """What uv sees installed in the venv of ``python``, keyed by canonical name."""
    result = run_uv(
        uv_bin,
        ["pip", "list", "--no-config", "--format", "json", "--python", str(python)],
        env=env,
        cwd=cwd,
        timeout=timeout,
        action="listing the installed packages",
        limit=limit,
    )
    try:
        rows = json.loads(result.stdout)
        return {
            canonicalize_name(row["name"]): Package(canonicalize_name(row["name"]), row["version"])
            for row in rows
        }
    except (ValueError, KeyError, TypeError) as exc:
        raise EnvironmentBuildFailed(
            f"uv listed the packages in an unexpected form: {exc}"
        ) from None


def _startup_file_owners(site_packages: Path) -> dict[str, str]:
    """Top-level file name -> the distribution whose RECORD lists it."""
    owners: dict[str, str] = {}
    for record in site_packages.glob("*.dist-info/RECORD"):
        owner = canonicalize_name(record.parent.name.removesuffix(".dist-info").rsplit("-", 1)[0])
        try:
            rows = list(csv.reader(record.read_text(encoding="utf-8").splitlines()))
        except (OSError, UnicodeDecodeError, csv.Error):
            continue
        for row in rows:
            if row and "/" not in row[0] and "\\" not in row[0]:
                owners[row[0]] = owner
    return owners


def _shown(line: str) -> str:
    return line if len(line) <= _MAX_SHOWN_LINE else line[: _MAX_SHOWN_LINE - 3] + "..."


def find_startup_code(site_packages: Path) -> list[StartupFinding]:
    """Files that run code whenever the venv's interpreter starts, except the expected ones.

    ``site`` executes each ``.pth`` line that starts with ``import`` + space or tab (exactly
    that; anything else is a path or a comment), and imports ``sitecustomize`` and
    ``usercustomize`` if found. The known files are exempt only when owned as expected, so a
    package cannot hide code behind a familiar file name.
    """
    owners = _startup_file_owners(site_packages)
    findings: list[StartupFinding] = []
    for path in sorted(site_packages.glob("*.pth")):
        text = path.read_bytes().decode("utf-8-sig", errors="replace")
        code = tuple(
            _shown(line.rstrip())
            for line in text.splitlines()
            if line.startswith(("import ", "import\t"))
        )
        owner = owners.get(path.name)
        known = path.name in KNOWN_STARTUP_FILES and KNOWN_STARTUP_FILES[path.name] == owner
        if code and not known:
            findings.append(StartupFinding(path.name, owner, "pth", code))
    for name in STARTUP_MODULES:
        if (site_packages / name).is_file():
            findings.append(StartupFinding(name, owners.get(name), "module", ()))
    return findings


def unique_disk_bytes(root: Path) -> int:
    """Disk blocks (as ``du`` counts them) held by ``root`` alone.

    A file hardlinked from the shared cache costs nothing extra, so an inode counts only when
    every one of its links lies inside ``root``; directories and symlinks cannot be shared and
    always count.
    """
    seen: dict[tuple[int, int], list[int]] = {}
    total = 0

    def visit(path: Path) -> None:
        nonlocal total
        info = path.lstat()
        if stat.S_ISDIR(info.st_mode):
            total += info.st_blocks * 512
            with os.scandir(path) as entries:
                for entry in entries:
                    visit(Path(entry.path))
            return
        if stat.S_ISLNK(info.st_mode) or info.st_nlink <= 1:
            total += info.st_blocks * 512
            return
        key = (info.st_dev, info.st_ino)
        if key in seen:
            seen[key][0] += 1
        else:
            seen[key] = [1, info.st_nlink, info.st_blocks * 512]

    visit(Path(root))
    total += sum(size for links, nlink, size in seen.values() if links >= nlink)
    return total


# --- the lock -------------------------------------------------------------------------------

LOCK_HEADER = "# WatchDog Lab bot environment lock v1: written and sealed at promote. Do not edit."


def _sha256_hex(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _dist_name_version(dist_info: Path) -> tuple[str, str]:
    """Name and version from METADATA's headers (the folder name can be normalised away)."""
    name = version = ""
    try:
        text = (dist_info / "METADATA").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    for line in text.splitlines():
        if not line.strip():
            break
        key, sep, value = line.partition(":")
        if sep and key == "Name" and not name:
            name = value.strip()
        elif sep and key == "Version" and not version:
            version = value.strip()
    stem = dist_info.name.removesuffix(".dist-info")
    fallback_name, _, fallback_version = stem.rpartition("-")
    return canonicalize_name(name or fallback_name or stem), version or fallback_version or "?"


def environment_lock(venv_dir: str | os.PathLike[str]) -> bytes:
    """What a bot's venv holds, as deterministic text: the lock that promote writes and seals.

    One line per installed distribution, ``name==version record-sha256=<hex>``: a RECORD lists
    the hash of every file its wheel installed, so hashing RECORD pins each file's expected
    content without reading the files (which would cost a second per start for a big
    environment). Also pinned: ``pyvenv.cfg`` and the interpreter link (which interpreter runs
    the bot), every ``.pth`` file and ``sitecustomize``/``usercustomize`` (code that runs at
    interpreter start, owned by no RECORD when planted), and the names at the top of
    ``site-packages`` (a planted module that would shadow a real one). Recomputed at every
    start that hands out connections and compared with the sealed lock, so a package added,
    removed, upgraded or planted outside WatchDog Lab is caught. Not caught: a file edited in
    place under an unchanged RECORD (the venv is read-only to a sandboxed bot, and hardlinked
    from the uv cache).
    """
    venv = Path(venv_dir)
    site = site_packages_dir(venv)
    lines = [LOCK_HEADER]
    python = venv / "bin" / "python"
    target = os.readlink(python) if python.is_symlink() else f"file sha256={_sha256_hex(python)}"
    lines.append(f"interpreter {target}")
    lines.append(f"pyvenv.cfg sha256={_sha256_hex(venv / 'pyvenv.cfg')}")
    packages = []
    for dist_info in sorted(site.glob("*.dist-info")):
        name, version = _dist_name_version(dist_info)
        record = dist_info / "RECORD"
        digest = _sha256_hex(record) if record.is_file() else "none"
        packages.append(f"package {name}=={version} record-sha256={digest}")
    lines.extend(sorted(packages))
    startup = sorted({p.name for p in site.glob("*.pth")} | set(STARTUP_MODULES))
    for name in startup:
        path = site / name
        if path.is_file():
            lines.append(f"startup {name} sha256={_sha256_hex(path)}")
    entries = sorted(e.name for e in site.iterdir() if e.name not in _SKIP_NAMES)
    lines.append("site-packages " + json.dumps(entries))
    return ("\n".join(lines) + "\n").encode("utf-8")


# --- building -------------------------------------------------------------------------------


def _is_promoting_interpreter(python: str | os.PathLike[str]) -> bool:
    try:
        return os.path.samefile(python, sys.executable)
    except OSError:
        return False


def _say(progress: Progress | None, message: str) -> None:
    """Report a step; a broken progress sink must not fail (and so delete) a good build."""
    if progress is not None:
        with contextlib.suppress(Exception):
            progress(message)


def _cache_entries(cache: Path) -> set[Path]:
    """The unpacked wheels in uv's cache (the files venvs hardlink to)."""
    return {entry for archive in cache.glob("archive-v*") for entry in archive.iterdir()}


def precompile_cache_entries(
    python: Path, entries: Iterable[Path], progress: Callable[[str], None] | None = None
) -> None:
    """Compile bytecode once, inside uv's cache, so later venvs hardlink the ``.pyc`` files too.

    A bot's venv is read-only to the bot, so without bytecode every kernel start would compile
    IPython in memory (about 0.35 s more per start here), or a per-bot bytecode folder would
    cost ~12 MB of unique disk per bot. Bytecode in the shared cache costs neither: uv links
    ``__pycache__`` along with the sources, and the interpreter checks each ``.pyc`` against
    its source's size and mtime (the same inode) and rewrites its file name on load. Best
    effort: a failure here only loses the speed-up.
    """
    targets = sorted(str(e) for e in entries if e.is_dir())
    if not targets:
        return
    _say(progress, f"Compiling bytecode for {len(targets)} new cached package(s)")
    try:
        subprocess.run(
            [str(python), "-m", "compileall", "-q", "-j", "0", *targets],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=300,
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    except (OSError, subprocess.TimeoutExpired):
        _say(progress, "Warning: could not precompile bytecode (bots will start slower)")


def build_environment(
    venv_dir: str | os.PathLike[str],
    requirements: Sequence[str],
    *,
    python: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    wheels_only: bool = True,
    find_links: Sequence[str | os.PathLike[str]] = (),
    compile_bytecode: bool = False,
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    uv_bin: str | None = None,
) -> EnvironmentReport:
    """Create ``venv_dir`` with ipykernel, the SDK and ``requirements``; report what is in it.

    ``requirements`` are approved PEP 508 strings (names and versions only). ``python`` is
    the interpreter to base the venv on: the promoting one by default, or a path or version
    request uv understands (uv never downloads one). ``cache_dir`` defaults to the home's
    shared cache. ``wheels_only`` refuses source builds, which would run a package's own code
    at install time. ``find_links`` adds local wheel folders (an offline wheelhouse).
    ``compile_bytecode`` writes ``.pyc`` files now (~4 s and ~30 MB more per bot; without it a
    read-only venv compiles in memory at each start unless ``PYTHONPYCACHEPREFIX`` points
    somewhere writable). ``timeout`` bounds the whole build. ``progress`` receives
    human-readable lines as the build goes, uv's own output included.

    ``venv_dir`` must not exist yet (or be empty): replacing a bot's environment is the
    caller's decision. On any failure the half-built venv is removed and
    :class:`EnvironmentBuildFailed` says what went wrong, in uv's words where uv failed.
    """
    started = time.monotonic()
    deadline = started + timeout
    venv = Path(venv_dir).absolute()
    bot_reqs = check_requirements(requirements)
    if venv.exists() and (not venv.is_dir() or any(venv.iterdir())):
        raise EnvironmentBuildFailed(
            f"{venv} already exists; remove it first to rebuild the bot's environment."
        )
    uv = uv_bin or find_uv()
    if cache_dir is None:
        cache = ensure_private_dir(default_cache_dir())
    else:
        cache = Path(cache_dir).absolute()
        cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    venv.parent.mkdir(parents=True, exist_ok=True)
    env = uv_environment(cache)
    interpreter = sys.executable if python is None else python
    warnings: list[str] = []
    if cache.stat().st_dev != venv.parent.stat().st_dev:
        warnings.append(
            f"The uv cache ({cache}) is on another filesystem than {venv.parent}: packages are "
            "copied instead of hardlinked, so each bot costs their full size."
        )

    def remaining() -> float:
        return deadline - time.monotonic()

    def uv_step(args: list[str], action: str) -> UvResult:
        result = run_uv(
            uv,
            args,
            env=env,
            cwd=venv.parent,
            timeout=remaining(),
            action=action,
            on_line=progress,
            limit=timeout,
        )
        warnings.extend(w for w in result.warnings() if w not in warnings)
        return result

    def install_step(args: list[str], action: str) -> UvResult:
        """Offline first: with a warm cache this skips the index round trips (~0.3 s of a
        promote); anything missing from the cache makes uv fail fast, then it runs online."""
        try:
            return run_uv(
                uv,
                [*args[:2], "--offline", *args[2:]],
                env=env,
                cwd=venv.parent,
                timeout=remaining(),
                action=action,
                on_line=None,
                limit=timeout,
            )
        except EnvironmentBuildFailed:
            return uv_step(args, action)

    def list_packages() -> dict[str, Package]:
        python = venv_python(venv)
        return installed_packages(
            uv, python, env=env, cwd=venv.parent, timeout=remaining(), limit=timeout
        )

    install_args = [
        "pip",
        "install",
        "--no-config",
        "--python",
        str(venv_python(venv)),
        "--link-mode",
        "hardlink",
    ]
    if wheels_only:
        install_args += ["--only-binary", ":all:"]
    for location in find_links:
        install_args += ["--find-links", str(location)]
    if compile_bytecode:
        install_args.append("--compile-bytecode")

    bot_names = {canonicalize_name(req.name) for req in bot_reqs}
    baseline_reqs = baseline_requirements(bot_names, pin=_is_promoting_interpreter(interpreter))
    entries_before = _cache_entries(cache)
    try:
        _say(progress, f"Creating the bot's environment with Python {interpreter}")
        uv_step(
            [
                "venv",
                "--no-config",
                "--no-python-downloads",
                "--python",
                str(interpreter),
                str(venv),
            ],
            "creating the virtual environment",
        )
        _say(progress, "Installing the kernel: " + " ".join(baseline_reqs))
        install_step([*install_args, "--", *baseline_reqs], "installing ipykernel")
        site_packages = site_packages_dir(venv)
        _say(progress, f"Installing the WatchDog SDK {__version__}")
        try:
            sdk = install_sdk(site_packages)
        except OSError as exc:
            raise EnvironmentBuildFailed(f"Could not copy the SDK into the venv: {exc}") from exc
        baseline = list_packages()
        final = baseline
        if bot_reqs:
            wanted = [str(req) for req in bot_reqs]
            _say(progress, "Installing the bot's packages: " + " ".join(wanted))
            # The baseline goes in again so that one resolution covers both: the bot's
            # packages cannot silently break ipykernel's or the SDK's requirements.
            install_step(
                [*install_args, "--", *baseline_reqs, *wanted], "installing the bot's packages"
            )
            final = list_packages()
        startup = find_startup_code(site_packages)
        version = _venv_python_version(venv)
    except BaseException:
        shutil.rmtree(venv, ignore_errors=True)
        raise
    for finding in startup:
        _say(progress, "Warning: " + finding.describe())
    precompile_cache_entries(venv_python(venv), _cache_entries(cache) - entries_before, progress)
    report = EnvironmentReport(
        venv_dir=venv,
        python=venv_python(venv),
        python_version=version,
        sdk=sdk,
        baseline=tuple(sorted(final[name] for name in baseline if name in final)),
        new=tuple(sorted(pkg for name, pkg in final.items() if name not in baseline)),
        changed=tuple(
            VersionChange(name, baseline[name].version, final[name].version)
            for name in sorted(baseline)
            if name in final and final[name].version != baseline[name].version
        ),
        startup_code=tuple(startup),
        warnings=tuple(warnings),
        seconds=time.monotonic() - started,
        requirements=tuple(str(req) for req in bot_reqs),
    )
    _say(
        progress,
        f"Environment ready in {report.seconds:.1f} s: {len(report.baseline)} baseline "
        f"package(s), {len(report.new)} new",
    )
    return report
