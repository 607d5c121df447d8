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
They are resolved first (:func:`resolve_environment`), so the caller can put every
distribution that will land through the policy, not only the names a notebook asked for; then
exactly that pinned set is installed with ``--no-deps``, so nothing unchecked slips in. The
kernel's baseline is also resolved alone, so the report can tell which packages a bot added
and which baseline ones it moved, which is what gets logged and audited.

No interpreter of the new venv runs with ``site`` while it is built: a package's ``.pth``
line or ``sitecustomize`` would run there, outside the bot's sandbox, next to the vault.
uv inspects the venv's interpreter only before any package is in it; afterwards the venv is
read from disk (``*.dist-info``, RECORD, ``pyvenv.cfg``), start-up code and files written
into someone else's package are refused from the file lists, and bytecode is compiled by the
base interpreter with ``-I -S``. Source builds are never run (``--no-build``): building a
source distribution executes its code on this machine, unconfined.
"""

from __future__ import annotations

import base64
import concurrent.futures
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
import tempfile
import time
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

import watchdog_lab

from .._version import __version__
from ..paths import ensure_private_dir, home_dir
from .errors import EnvironmentBuildFailed, PackageFileConflict, StartupCodeRefused
from .ownership import find_ownership_conflicts, record_files
from .uvtool import UvResult, find_uv, run_uv, uv_environment

__all__ = [
    "DEFAULT_TIMEOUT",
    "KERNEL_REQUIRES",
    "SDK_DISTRIBUTION",
    "SDK_REQUIRES",
    "SDK_SOURCES",
    "EnvironmentReport",
    "Package",
    "Resolution",
    "ResolvedPackage",
    "StartupFinding",
    "VersionChange",
    "build_environment",
    "check_requirements",
    "default_cache_dir",
    "environment_lock",
    "find_startup_code",
    "install_sdk",
    "installed_packages",
    "resolve_environment",
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
# ``watchdog_lab/__init__.py`` and these modules import at module level must be in here.
SDK_SOURCES: tuple[str, ...] = ("__init__.py", "_version.py", "sdk", "kinds")
_SKIP_NAMES = frozenset({"__pycache__"})
_SKIP_SUFFIXES = (".pyc", ".pyo")

# Startup code that venv creators and setuptools write on purpose, by file name and the
# distribution that must own it (None: written by the venv creator, owned by no package).
KNOWN_STARTUP_FILES: Mapping[str, str | None] = {
    "_virtualenv.pth": None,
    "distutils-precedence.pth": "setuptools",
}
# Modules the interpreter imports by name at every start when they are on sys.path, as a
# module file of any importable kind or as a package folder.
STARTUP_MODULES = ("sitecustomize.py", "usercustomize.py")
_STARTUP_MODULE_NAMES = tuple(name.removesuffix(".py") for name in STARTUP_MODULES)
_MAX_SHOWN_LINE = 300
# Where the build's requirement files are named in uv's "# via" annotations.
_BASELINE_INPUT = "baseline.in"
_BOT_INPUT = "bot.in"
_COMPILE_TIMEOUT = 300.0

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


@dataclass(frozen=True, order=True)
class ResolvedPackage:
    """A distribution the resolver chose, and the requested packages that pull it in.

    ``required_by`` names requested packages (the bot's or the baseline's) from which this
    one is reachable; a requested package lists itself.
    """

    name: str
    version: str
    required_by: tuple[str, ...] = ()

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class Resolution:
    """What a build will install, fixed before anything is installed.

    ``requirements`` are the bot's checked requirements the resolution was made for;
    ``packages`` is the complete set to install (baseline and bot); ``baseline`` is what the
    baseline alone resolves to, for telling new and moved packages apart.
    """

    requirements: tuple[str, ...]
    packages: tuple[ResolvedPackage, ...]
    baseline: tuple[Package, ...]


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


def baseline_requirements(bot_names: Collection[str], *, pin: bool) -> list[str]:
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


def installed_packages(site_packages: Path) -> dict[str, Package]:
    """What is installed in ``site_packages``, keyed by canonical name, read from disk.

    Each ``*.dist-info/METADATA`` gives a name and version. Asking an installer instead would
    start the venv's interpreter, and with it every ``.pth`` line a package installed.
    """
    packages: dict[str, Package] = {}
    for dist_info in sorted(site_packages.glob("*.dist-info")):
        name, version = _dist_name_version(dist_info)
        packages[name] = Package(name, version)
    return packages


def _startup_file_owners(files: Mapping[str, list[str]]) -> dict[str, str]:
    """Top-level entry name -> the distribution whose RECORD lists a file there."""
    owners: dict[str, str] = {}
    for dist, paths in files.items():
        for path in paths:
            first = path.split("/", 1)[0]
            if first != "..":
                owners.setdefault(first, dist)
    return owners


def _shown(line: str) -> str:
    return line if len(line) <= _MAX_SHOWN_LINE else line[: _MAX_SHOWN_LINE - 3] + "..."


def _is_startup_module(entry: Path) -> bool:
    """``sitecustomize``/``usercustomize`` in any form the import system would load."""
    if entry.suffix == ".pth":
        return False
    stem = entry.name if entry.is_dir() else entry.name.split(".", 1)[0]
    return stem in _STARTUP_MODULE_NAMES and (entry.is_dir() or "." in entry.name)


def find_startup_code(
    site_packages: Path, files: Mapping[str, list[str]] | None = None
) -> list[StartupFinding]:
    """Files in ``site_packages`` that run code whenever the venv's Python starts.

    Reads files only, so it is safe before any interpreter of the venv has run. ``site``
    executes each ``.pth`` line that starts with ``import`` + space or tab (exactly that;
    anything else is a path or a comment), and imports ``sitecustomize`` and
    ``usercustomize`` if found, as a module (``.py``, ``.pyc``, extension) or a package
    folder. The known files are exempt only when owned as expected, so a package cannot hide
    code behind a familiar file name. ``files`` is :func:`.ownership.record_files` when the
    caller has it already.
    """
    owners = _startup_file_owners(record_files(site_packages) if files is None else files)
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
    for entry in sorted(site_packages.iterdir()):
        if _is_startup_module(entry):
            findings.append(StartupFinding(entry.name, owners.get(entry.name), "module", ()))
    return findings


def unique_disk_bytes(root: Path) -> int:
    """Disk blocks (as ``du`` counts them) held by ``root`` alone.

    A file hardlinked from the shared cache costs nothing extra, so an inode counts only when
    every one of its links lies inside ``root``; directories and symlinks cannot be shared and
    always count.
    """
    linked: dict[tuple[int, int], list[int]] = {}
    total = _unshared_bytes(Path(root), linked)
    total += sum(size for links, nlink, size in linked.values() if links >= nlink)
    return total


def _unshared_bytes(path: Path, linked: dict[tuple[int, int], list[int]]) -> int:
    """Bytes under ``path`` that cannot be shared; hardlinked files are tallied in ``linked``.

    ``linked`` maps an inode to [links seen here, links it has, its bytes]: only once the
    whole tree is walked can one tell whether every link of it was inside.
    """
    info = path.lstat()
    if stat.S_ISDIR(info.st_mode):
        total = info.st_blocks * 512
        with os.scandir(path) as entries:
            for entry in entries:
                total += _unshared_bytes(Path(entry.path), linked)
        return total
    if stat.S_ISLNK(info.st_mode) or info.st_nlink <= 1:
        return info.st_blocks * 512
    key = (info.st_dev, info.st_ino)
    if key in linked:
        linked[key][0] += 1
    else:
        linked[key] = [1, info.st_nlink, info.st_blocks * 512]
    return 0


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


def _compile_bytecode(
    interpreter: Path, targets: Sequence[str], timeout: float, quiet_errors: bool = True
) -> bool:
    """Run ``compileall`` over ``targets`` with ``-I -S``; whether it ran to completion.

    ``-S`` is the point: without it the interpreter's ``site`` would process every ``.pth``
    file and import ``sitecustomize`` of the venv it belongs to, running package code here,
    outside any sandbox. ``-I`` keeps the environment and the working folder out too.
    Compiling only parses sources, it never imports them.
    """
    try:
        done = subprocess.run(
            [str(interpreter), "-I", "-S", "-m", "compileall", "-q", "-j", "0", *targets],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=timeout,
            check=False,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin")},
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return quiet_errors or done.returncode == 0


def precompile_cache_entries(
    python: Path, entries: Iterable[Path], progress: Callable[[str], None] | None = None
) -> None:
    """Compile bytecode once, inside uv's cache, so later venvs hardlink the ``.pyc`` files too.

    A bot's venv is read-only to the bot, so without bytecode every kernel start would compile
    IPython in memory (about 0.35 s more per start here), or a per-bot bytecode folder would
    cost ~12 MB of unique disk per bot. Bytecode in the shared cache costs neither: uv links
    ``__pycache__`` along with the sources, and the interpreter checks each ``.pyc`` against
    its source's size and mtime (the same inode) and rewrites its file name on load. Best
    effort: a failure here only loses the speed-up. ``python`` must be the base interpreter
    of the venv (same version, so the same bytecode); it runs with ``-I -S``.
    """
    targets = sorted(str(e) for e in entries if e.is_dir())
    if not targets:
        return
    _say(progress, f"Compiling bytecode for {len(targets)} new cached package(s)")
    if not _compile_bytecode(python, targets, _COMPILE_TIMEOUT):
        _say(progress, "Warning: could not precompile bytecode (bots will start slower)")


def _base_interpreter(venv: Path) -> Path:
    """The interpreter the venv's ``bin/python`` links to, read before any package lands.

    Compiling with it rather than through the venv's link means no file a package installs
    (a script named ``python`` in ``bin/``, say) can decide what runs.
    """
    return venv_python(venv).resolve(strict=True)


def _parse_compiled(text: str, inputs: Collection[str]) -> list[ResolvedPackage]:
    """``uv pip compile --annotation-style line`` output -> resolved packages with roots.

    ``inputs`` are the requirement files' names, as ``-r NAME`` annotations cite them. A
    package's roots are the requested packages it is reachable from, walking the ``# via``
    parents upward.
    """
    pins: dict[str, str] = {}
    parents: dict[str, set[str]] = {}
    requested: set[str] = set()
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        spec, _, via = line.partition("#")
        spec = spec.strip()
        name, sep, version = spec.partition("==")
        if not sep or not name or not version or " " in version or ";" in spec:
            raise EnvironmentBuildFailed(f"uv resolved the packages in an unexpected form: {raw}")
        name = canonicalize_name(name)
        pins[name] = version.strip()
        via = via.strip().removeprefix("via").strip()
        found = parents.setdefault(name, set())
        for parent in (p.strip() for p in via.split(",")):
            if parent.startswith("-r "):
                if parent.removeprefix("-r ").strip() in inputs:
                    requested.add(name)
            elif parent:
                found.add(canonicalize_name(parent))

    return sorted(
        ResolvedPackage(name, version, tuple(sorted(_roots(name, parents, requested))))
        for name, version in pins.items()
    )


def _roots(name: str, parents: Mapping[str, set[str]], requested: Collection[str]) -> set[str]:
    """The requested packages ``name`` is reachable from, walking ``# via`` parents upward.

    Iterative with a seen-set: a dependency cycle in the index's metadata must not loop.
    """
    seen: set[str] = set()
    out: set[str] = set()
    stack = [name]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in requested:
            out.add(current)
        stack.extend(parents.get(current, ()))
    return out


@dataclass(frozen=True)
class _CompileStep:
    """One ``uv pip compile`` run over named requirement files, under the resolution's deadline.

    The baseline and the bot are resolved at once on two threads, so the shared settings live
    here and each run gets only its files and what to call it in an error.
    """

    uv: str
    args: Sequence[str]
    env: Mapping[str, str]
    deadline: float
    timeout: float
    progress: Progress | None

    def run(self, files: Mapping[str, Sequence[str]], action: str) -> list[ResolvedPackage]:
        with tempfile.TemporaryDirectory(prefix="wd-resolve-") as folder:
            for file_name, lines in files.items():
                text = "".join(f"{line}\n" for line in lines)
                (Path(folder) / file_name).write_text(text, encoding="utf-8")
            argv = [*self.args, "--", *files]
            result = _offline_first(
                self.uv,
                argv,
                self.env,
                Path(folder),
                self.deadline,
                self.timeout,
                action,
                self.progress,
            )
        return _parse_compiled(result.stdout, set(files))


def resolve_environment(
    requirements: Sequence[str],
    *,
    python: str | os.PathLike[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
    find_links: Sequence[str | os.PathLike[str]] = (),
    timeout: float = DEFAULT_TIMEOUT,
    progress: Progress | None = None,
    uv_bin: str | None = None,
) -> Resolution:
    """Every distribution a build of ``requirements`` would install, decided before it does.

    uv resolves against the base interpreter (``python``, the promoting one by default):
    the same version and platform the venv will have, and no venv is needed yet. Wheels only:
    resolving with source distributions allowed would build them to read their metadata,
    which runs their code. Nothing is installed and no package code runs.
    """
    deadline = time.monotonic() + timeout
    bot_reqs = check_requirements(requirements)
    uv = uv_bin or find_uv()
    cache = _cache_path(cache_dir)
    env = uv_environment(cache)
    interpreter = sys.executable if python is None else python
    bot_names = {canonicalize_name(req.name) for req in bot_reqs}
    baseline_reqs = baseline_requirements(bot_names, pin=_is_promoting_interpreter(interpreter))
    args = [
        "pip",
        "compile",
        "--no-config",
        "--no-header",
        "--annotation-style",
        "line",
        "--no-python-downloads",
        "--python",
        str(interpreter),
        "--no-build",
    ]
    for location in find_links:
        args += ["--find-links", str(Path(location).absolute())]
    compile_step = _CompileStep(uv, args, env, deadline, timeout, progress)
    _say(progress, "Resolving: " + " ".join([*baseline_reqs, *(str(r) for r in bot_reqs)]))
    if not bot_reqs:
        alone = combined = compile_step.run(
            {_BASELINE_INPUT: baseline_reqs}, "resolving the kernel's packages"
        )
    else:
        # Two independent resolutions: run together, they cost about one.
        with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
            baseline_only = pool.submit(
                compile_step.run,
                {_BASELINE_INPUT: baseline_reqs},
                "resolving the kernel's packages",
            )
            combined = compile_step.run(
                {_BASELINE_INPUT: baseline_reqs, _BOT_INPUT: [str(r) for r in bot_reqs]},
                "resolving the bot's packages",
            )
            alone = baseline_only.result()
    return Resolution(
        requirements=tuple(str(req) for req in bot_reqs),
        packages=tuple(combined),
        baseline=tuple(Package(pkg.name, pkg.version) for pkg in alone),
    )


def _offline_first(
    uv: str,
    args: list[str],
    env: Mapping[str, str],
    cwd: Path,
    deadline: float,
    limit: float,
    action: str,
    progress: Progress | None,
) -> UvResult:
    """Offline first: with a warm cache this skips the index round trips (~0.3 s of a
    promote); anything missing from the cache makes uv fail fast, then it runs online. The
    offline attempt's lines reach ``progress`` only if it succeeds, so its failure is silent.
    """
    held: list[str] = []
    try:
        result = run_uv(
            uv,
            [*args[:2], "--offline", *args[2:]],
            env=env,
            cwd=cwd,
            timeout=deadline - time.monotonic(),
            action=action,
            on_line=held.append,
            limit=limit,
        )
    except EnvironmentBuildFailed:
        return run_uv(
            uv,
            args,
            env=env,
            cwd=cwd,
            timeout=deadline - time.monotonic(),
            action=action,
            on_line=progress,
            limit=limit,
        )
    for line in held:
        _say(progress, line)
    return result


def _cache_path(cache_dir: str | os.PathLike[str] | None) -> Path:
    if cache_dir is None:
        return ensure_private_dir(default_cache_dir())
    cache = Path(cache_dir).absolute()
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    return cache


def _same_version(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return a == b


def _refuse_unchecked(installed: Mapping[str, Package], resolution: Resolution) -> None:
    """The venv must hold exactly the checked set: ``--no-deps`` says so, this proves it."""
    expected = {pkg.name: pkg.version for pkg in resolution.packages}
    differ = sorted(
        name
        for name in set(installed) | set(expected)
        if name not in installed
        or name not in expected
        or not _same_version(installed[name].version, expected[name])
    )
    if differ:
        raise EnvironmentBuildFailed(
            "The installed packages differ from the checked set (" + ", ".join(differ) + "); "
            "the environment was removed so that nothing unchecked is kept."
        )


def _refuse_foreign_files(site_packages: Path, venv: Path, files: Mapping[str, list[str]]) -> None:
    conflicts = find_ownership_conflicts(
        site_packages, venv, reserved={"watchdog_lab": SDK_DISTRIBUTION}, files=files
    )
    if conflicts:
        raise PackageFileConflict([(c.distribution, c.file, c.owner) for c in conflicts])


def _refuse_startup_code(findings: Sequence[StartupFinding], allowed: frozenset[str]) -> None:
    refused = [f for f in findings if f.owner is None or f.owner not in allowed]
    if refused:
        raise StartupCodeRefused([(f.owner, f.file) for f in refused])


@dataclass
class _Build:
    """One build in progress: what every step needs, decided once before anything is created.

    The steps below take it in turn, so each step's inputs and results are explicit, and the
    warnings they collect end up, in order and without repeats, in the report.
    """

    venv: Path
    requirements: tuple[Requirement, ...]
    uv: str
    cache: Path
    env: Mapping[str, str]
    interpreter: str | os.PathLike[str]
    find_links: Sequence[str | os.PathLike[str]]
    allowed_startup: frozenset[str]
    progress: Progress | None
    timeout: float
    started: float
    deadline: float
    warnings: list[str] = field(default_factory=list)

    def warn(self, messages: Iterable[str]) -> None:
        """Keep uv's warnings once each: the offline and online attempts repeat them."""
        self.warnings.extend(m for m in messages if m not in self.warnings)


def _refuse_target(
    venv: Path, bot_reqs: Sequence[Requirement], resolution: Resolution | None
) -> None:
    """Refuse to build over an existing environment or from a resolution of other packages.

    Replacing a bot's environment is the caller's decision, and a resolution made for other
    requirements would install a set nobody checked against these.
    """
    if venv.exists() and (not venv.is_dir() or any(venv.iterdir())):
        raise EnvironmentBuildFailed(
            f"{venv} already exists; remove it first to rebuild the bot's environment."
        )
    if resolution is not None and resolution.requirements != tuple(str(r) for r in bot_reqs):
        raise EnvironmentBuildFailed(
            "The resolution given was made for other requirements; resolve these again."
        )


def _layout_warnings(venv: Path, cache: Path, wheels_only: bool) -> list[str]:
    """What the caller should know before the build starts: settings that cost disk or speed.

    Said up front rather than refused: a build on two filesystems works, it only copies.
    """
    warnings: list[str] = []
    if not wheels_only:
        warnings.append(
            "Source builds are not run even with wheels_only off: building one runs the "
            "package's own code outside the bot's sandbox. Provide wheels (find-links)."
        )
    if cache.stat().st_dev != venv.parent.stat().st_dev:
        warnings.append(
            f"The uv cache ({cache}) is on another filesystem than {venv.parent}: packages are "
            "copied instead of hardlinked, so each bot costs their full size."
        )
    return warnings


def _start(
    venv_dir: str | os.PathLike[str],
    requirements: Sequence[str],
    *,
    python: str | os.PathLike[str] | None,
    cache_dir: str | os.PathLike[str] | None,
    wheels_only: bool,
    find_links: Sequence[str | os.PathLike[str]],
    timeout: float,
    progress: Progress | None,
    uv_bin: str | None,
    resolution: Resolution | None,
    allow_startup_code: Iterable[str],
) -> _Build:
    """Check the inputs and settle the build's tools and folders before anything is created.

    Everything refused here is refused before uv runs, so a bad request leaves no trace.
    """
    started = time.monotonic()
    venv = Path(venv_dir).absolute()
    bot_reqs = check_requirements(requirements)
    _refuse_target(venv, bot_reqs, resolution)
    uv = uv_bin or find_uv()
    cache = _cache_path(cache_dir)
    venv.parent.mkdir(parents=True, exist_ok=True)
    build = _Build(
        venv=venv,
        requirements=tuple(bot_reqs),
        uv=uv,
        cache=cache,
        env=uv_environment(cache),
        interpreter=sys.executable if python is None else python,
        find_links=find_links,
        allowed_startup=frozenset(canonicalize_name(name) for name in allow_startup_code),
        progress=progress,
        timeout=timeout,
        started=started,
        deadline=started + timeout,
    )
    build.warnings.extend(_layout_warnings(venv, cache, wheels_only))
    return build


def _resolve(build: _Build, resolution: Resolution | None) -> Resolution:
    """The caller's checked resolution, or a fresh one when the caller brought none."""
    if resolution is not None:
        return resolution
    return resolve_environment(
        [str(r) for r in build.requirements],
        python=build.interpreter,
        cache_dir=build.cache,
        find_links=build.find_links,
        timeout=build.timeout,
        progress=build.progress,
        uv_bin=build.uv,
    )


def _create_venv(build: _Build) -> Path:
    """Create the empty venv; return its base interpreter, read before any package lands."""
    _say(build.progress, f"Creating the bot's environment with Python {build.interpreter}")
    result = run_uv(
        build.uv,
        [
            "venv",
            "--no-config",
            "--no-python-downloads",
            "--python",
            str(build.interpreter),
            str(build.venv),
        ],
        env=build.env,
        cwd=build.venv.parent,
        timeout=build.deadline - time.monotonic(),
        action="creating the virtual environment",
        on_line=build.progress,
        limit=build.timeout,
    )
    build.warn(result.warnings())
    return _base_interpreter(build.venv)


def _install(build: _Build, resolution: Resolution) -> None:
    """Install exactly the resolved pins with ``--no-deps``, so nothing unchecked lands.

    uv inspects the venv's interpreter before installing, while only the venv creator's files
    are in it; from here on the venv is only read from disk.
    """
    args = [
        "pip",
        "install",
        "--no-config",
        "--python",
        str(venv_python(build.venv)),
        "--link-mode",
        "hardlink",
        "--no-build",
        "--no-deps",
    ]
    for location in build.find_links:
        args += ["--find-links", str(Path(location).absolute())]
    pins = [pkg.pin for pkg in resolution.packages]
    if build.requirements:
        _say(build.progress, "Installing the bot's packages: " + " ".join(resolution.requirements))
    _say(build.progress, f"Installing {len(pins)} checked package(s) without further resolution")
    result = _offline_first(
        build.uv,
        [*args, "--", *pins],
        build.env,
        build.venv.parent,
        build.deadline,
        build.timeout,
        "installing the bot's packages" if build.requirements else "installing ipykernel",
        build.progress,
    )
    build.warn(result.warnings())


def _inspect(
    build: _Build, resolution: Resolution
) -> tuple[Path, dict[str, Package], list[StartupFinding]]:
    """Read what landed from disk and refuse what nobody checked.

    Refused: a package set other than the resolution, a file written into another package,
    and start-up code from a package not allowed to run any. Returns site-packages, the
    installed packages and the allowed start-up code.
    """
    site_packages = site_packages_dir(build.venv)
    installed = installed_packages(site_packages)
    _refuse_unchecked(installed, resolution)
    files = record_files(site_packages)
    _refuse_foreign_files(site_packages, build.venv, files)
    startup = find_startup_code(site_packages, files)
    _refuse_startup_code(startup, build.allowed_startup)
    return site_packages, installed, startup


def _add_sdk(build: _Build, site_packages: Path) -> Package:
    """Copy the SDK in last, after the checks, so no package can have written over it."""
    _say(build.progress, f"Installing the WatchDog SDK {__version__}")
    try:
        return install_sdk(site_packages)
    except OSError as exc:
        raise EnvironmentBuildFailed(f"Could not copy the SDK into the venv: {exc}") from exc


def _compile_venv(build: _Build, base_python: Path, site_packages: Path) -> None:
    """Write bytecode into the venv now, when asked: a read-only venv cannot later.

    A failure only makes bots start slower, so it is a warning, not a failed build.
    """
    if not _compile_bytecode(
        base_python, [str(site_packages)], build.deadline - time.monotonic(), quiet_errors=False
    ):
        build.warnings.append("Could not compile bytecode into the venv (bots will start slower).")


def _report(
    build: _Build,
    resolution: Resolution,
    installed: Mapping[str, Package],
    sdk: Package,
    startup: Sequence[StartupFinding],
    python_version: str,
) -> EnvironmentReport:
    """Sort what is installed into baseline, new and moved, as the logs and the audit say it."""
    baseline = {pkg.name: pkg for pkg in resolution.baseline}
    baseline[sdk.name] = sdk
    return EnvironmentReport(
        venv_dir=build.venv,
        python=venv_python(build.venv),
        python_version=python_version,
        sdk=sdk,
        baseline=tuple(sorted(installed[name] for name in baseline if name in installed)),
        new=tuple(sorted(pkg for name, pkg in installed.items() if name not in baseline)),
        changed=tuple(
            VersionChange(name, baseline[name].version, installed[name].version)
            for name in sorted(baseline)
            if name in installed and installed[name].version != baseline[name].version
        ),
        startup_code=tuple(startup),
        warnings=tuple(build.warnings),
        seconds=time.monotonic() - build.started,
        requirements=tuple(str(req) for req in build.requirements),
    )


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
    resolution: Resolution | None = None,
    allow_startup_code: Iterable[str] = (),
) -> EnvironmentReport:
    """Create ``venv_dir`` with ipykernel, the SDK and ``requirements``; report what is in it.

    ``requirements`` are approved PEP 508 strings (names and versions only). ``python`` is
    the interpreter to base the venv on: the promoting one by default, or a path or version
    request uv understands (uv never downloads one). ``cache_dir`` defaults to the home's
    shared cache. ``find_links`` adds local wheel folders (an offline wheelhouse).
    ``compile_bytecode`` writes ``.pyc`` files into the venv now (~4 s and ~30 MB more per
    bot; without it a read-only venv compiles in memory at each start unless
    ``PYTHONPYCACHEPREFIX`` points somewhere writable). ``timeout`` bounds the whole build.
    ``progress`` receives human-readable lines as the build goes, uv's own output included.

    ``resolution`` is what :func:`resolve_environment` returned for the same requirements,
    typically after the caller put every distribution in it through its policy; exactly that
    set is installed. Without one the build resolves first itself. ``allow_startup_code``
    names packages trusted to run code at interpreter start (a ``.pth`` import line,
    ``sitecustomize``); any other such file fails the build with
    :class:`StartupCodeRefused`. A package writing into another's import package fails it
    with :class:`PackageFileConflict`. ``wheels_only`` is kept for callers' settings, but
    source builds are refused either way: they would run the package's code here, outside
    the sandbox; the report says so when it is off.

    ``venv_dir`` must not exist yet (or be empty): replacing a bot's environment is the
    caller's decision. On any failure the half-built venv is removed and
    :class:`EnvironmentBuildFailed` (or a subclass) says what went wrong, in uv's words where
    uv failed.
    """
    build = _start(
        venv_dir,
        requirements,
        python=python,
        cache_dir=cache_dir,
        wheels_only=wheels_only,
        find_links=find_links,
        timeout=timeout,
        progress=progress,
        uv_bin=uv_bin,
        resolution=resolution,
        allow_startup_code=allow_startup_code,
    )
    resolution = _resolve(build, resolution)
    entries_before = _cache_entries(build.cache)
    try:
        base_python = _create_venv(build)
        _install(build, resolution)
        site_packages, installed, startup = _inspect(build, resolution)
        sdk = _add_sdk(build, site_packages)
        installed[sdk.name] = sdk
        if compile_bytecode:
            _compile_venv(build, base_python, site_packages)
        python_version = _venv_python_version(build.venv)
    except BaseException:
        shutil.rmtree(build.venv, ignore_errors=True)
        raise
    for finding in startup:
        _say(progress, "Warning: allowed: " + finding.describe())
    precompile_cache_entries(base_python, _cache_entries(build.cache) - entries_before, progress)
    report = _report(build, resolution, installed, sdk, startup, python_version)
    _say(
        progress,
        f"Environment ready in {report.seconds:.1f} s: {len(report.baseline)} baseline "
        f"package(s), {len(report.new)} new",
    )
    return report
