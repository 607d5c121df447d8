"""Which installed distribution owns which import package, read from RECORD files only.

An installer unpacks a wheel wherever its file list says, so a wheel can drop
``watchdog_lab/_version.py`` into the SDK, ``ipykernel/kernelapp.py`` into the kernel, or an
``email/`` package that stands in for the standard library's, and nothing about its name
gives it away. A bot's venv is checked before any interpreter of it starts: a distribution
that lists a file under a top-level package another distribution owns as a regular package
(it ships ``__init__``), a file whose top-level name is a standard-library module, or a file
outside ``site-packages`` that decides which interpreter the venv runs, is refused.

Namespace packages (a folder without ``__init__``, such as ``google/``) are meant to be shared
by several distributions and stay allowed. Only RECORD is read, never imported or executed;
uv writes each RECORD from the files it actually linked, so a wheel whose own RECORD leaves a
file out cannot hide it.
"""

from __future__ import annotations

import csv
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from packaging.utils import canonicalize_name

__all__ = [
    "OwnershipConflict",
    "dist_name_from_folder",
    "find_ownership_conflicts",
    "record_files",
]

# What makes a folder a regular package, and what makes a top-level file a module.
_INIT_STEM = "__init__"
_MODULE_SUFFIXES = (".py", ".pyc", ".so", ".pyd")
_METADATA_SUFFIXES = (".dist-info", ".data", ".egg-info")
_BYTECODE_FOLDER = "__pycache__"
# Files outside site-packages that decide what runs when the venv's interpreter starts.
_VENV_CONFIG = "pyvenv.cfg"
_INTERPRETER_PREFIX = "python"


@dataclass(frozen=True)
class OwnershipConflict:
    """One distribution file that lands where another owner's code lives."""

    distribution: str
    file: str
    owner: str

    def describe(self) -> str:
        return f"{self.distribution} installs {self.file}, which belongs to {self.owner}"


def dist_name_from_folder(dist_info: Path) -> str:
    """The canonical distribution name a ``*.dist-info`` folder stands for."""
    return canonicalize_name(dist_info.name.removesuffix(".dist-info").rsplit("-", 1)[0])


def record_files(site_packages: Path) -> dict[str, list[str]]:
    """Distribution -> the paths its RECORD lists, relative to site-packages and normalised.

    A path that leaves site-packages (``../../../bin/tool``) stays relative with its ``..``
    parts collapsed as far as they go, so ``../../../lib/pythonX.Y/site-packages/x.pth``
    is seen as the ``x.pth`` it really is.
    """
    files: dict[str, list[str]] = {}
    for record in sorted(site_packages.glob("*.dist-info/RECORD")):
        try:
            rows = list(csv.reader(record.read_text(encoding="utf-8").splitlines()))
        except (OSError, UnicodeDecodeError, csv.Error):
            rows = []
        paths = files.setdefault(dist_name_from_folder(record.parent), [])
        for row in rows:
            if row and row[0]:
                paths.append(_normalised(site_packages, row[0]))
    return files


def _normalised(site_packages: Path, entry: str) -> str:
    if ".." not in entry and "\\" not in entry and not entry.startswith(("/", "./")):
        return entry  # the common case, and a wheel may list tens of thousands of files
    joined = os.path.normpath(os.path.join(site_packages, entry.replace("\\", "/")))
    return PurePosixPath(os.path.relpath(joined, site_packages)).as_posix()


def _top_level(path: str) -> tuple[str, bool] | None:
    """``(import name, owns it)`` for a file in site-packages; None if not importable code.

    A top-level module file owns its name; so does a package's ``__init__``.
    """
    parts = path.split("/")
    first = parts[0]
    if first in ("", "..", _BYTECODE_FOLDER) or first.endswith(_METADATA_SUFFIXES):
        return None
    if len(parts) == 1:
        if not first.endswith(_MODULE_SUFFIXES):
            return None  # .pth files, READMEs: not importable by name
        return first.split(".", 1)[0], True
    return first, len(parts) == 2 and parts[1].split(".", 1)[0] == _INIT_STEM


def _outside_site(venv_dir: Path, site_packages: Path, path: str) -> str | None:
    """The venv-relative path of a file that must never come from a package, else None."""
    target = Path(os.path.normpath(site_packages / path))
    try:
        relative = target.relative_to(venv_dir)
    except ValueError:
        return target.as_posix()  # outside the venv altogether
    parts = relative.parts
    if parts == (_VENV_CONFIG,):
        return relative.as_posix()
    if len(parts) == 2 and parts[0] == "bin" and parts[1].startswith(_INTERPRETER_PREFIX):
        return relative.as_posix()
    return None


def _conflicts(
    files: Mapping[str, list[str]], reserved: Mapping[str, str], stdlib: frozenset[str]
) -> Iterator[OwnershipConflict]:
    tops: dict[str, dict[str, str]] = {}  # dist -> top-level name -> first file there
    owners: dict[str, set[str]] = {}
    for dist, paths in files.items():
        seen = tops.setdefault(dist, {})
        for path in paths:
            top = _top_level(path)
            if top is None:
                continue
            seen.setdefault(top[0], path)
            if top[1]:
                owners.setdefault(top[0], set()).add(dist)
    for dist, seen in tops.items():
        for name, path in seen.items():
            if name in reserved:
                if reserved[name] != dist:
                    yield OwnershipConflict(dist, path, reserved[name])
            elif name in stdlib:
                yield OwnershipConflict(dist, path, "the Python standard library")
            else:
                others = sorted(owners.get(name, set()) - {dist})
                if others:
                    yield OwnershipConflict(dist, path, ", ".join(others))


def find_ownership_conflicts(
    site_packages: Path,
    venv_dir: Path,
    reserved: Mapping[str, str] | None = None,
    stdlib: frozenset[str] | None = None,
    files: Mapping[str, list[str]] | None = None,
) -> list[OwnershipConflict]:
    """Every RECORD entry that writes into code owned by someone else, one per distribution
    and top-level name (the first file is enough to act on).

    ``reserved`` maps top-level import names the environment itself provides (the SDK,
    installed after the packages) to the distribution that alone may write there.
    ``stdlib`` defaults to the promoting interpreter's ``sys.stdlib_module_names``.
    ``files`` is :func:`record_files` when the caller has it already.
    """
    names = frozenset(sys.stdlib_module_names) if stdlib is None else stdlib
    files = record_files(site_packages) if files is None else files
    found = {(c.distribution, c.file): c for c in _conflicts(files, reserved or {}, names)}
    for dist, paths in files.items():
        for path in paths:
            if not path.startswith(".."):
                continue
            outside = _outside_site(Path(venv_dir), site_packages, path)
            if outside is not None:
                found.setdefault(
                    (dist, outside), OwnershipConflict(dist, outside, "the virtual environment")
                )
    return sorted(found.values(), key=lambda c: (c.distribution, c.file))
