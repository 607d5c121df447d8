"""The most downloaded PyPI distributions, as the yardstick of the typosquat check.

A typosquat is only recognisable next to what it imitates: the policy needs to know which
names are popular and how popular. The snapshot ships inside the package so the check works
offline and gives the same answer on every machine; it is read once per process.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from functools import cache
from importlib import resources
from types import MappingProxyType

from .errors import BotError

# ``data`` is a plain folder, not a package: resolve it from the parent package, which works
# on every supported Python (namespace-package resources do not before 3.12).
DATA_PACKAGE = "watchdog_lab"
DATA_FOLDER = "data"
DATA_FILE = "pypi-top-15000.tsv"

_SEPARATORS = re.compile(r"[-_.]+")


def lookalike_key(name: str) -> str:
    """PyPI's "ultranormalised" form: no separators, ``l``/``i`` as ``1``, ``o`` as ``0``.

    PyPI refuses to register a name whose key collides with an existing project's, because the
    two are too easy to confuse; the same key catches ``p.i.p`` or ``set_up_tools``, which PEP
    503 normalisation alone keeps distinct from ``pip`` and ``setuptools``.
    """
    key = _SEPARATORS.sub("", name.lower())
    return key.replace("l", "1").replace("i", "1").replace("o", "0")


def canonical_name(name: str) -> str:
    """PEP 503 normal form: the one spelling under which an index treats names as equal.

    Every comparison of names (denylist, allow list, popularity) goes through it, so that
    ``Pip``, ``PIP`` and ``pip`` can never be three different packages to us while being one
    package to the installer.
    """
    return _SEPARATORS.sub("-", name).lower()


class PopularPackages(Mapping[str, int]):
    """Canonical distribution name -> download rank (1 = most downloaded).

    A read-only mapping so callers look names up in O(1) instead of scanning the list: the
    typosquat check looks up dozens of spelling variants per requirement.
    """

    def __init__(self, ranks: Mapping[str, int]) -> None:
        self._ranks: Mapping[str, int] = MappingProxyType(
            {canonical_name(name): rank for name, rank in ranks.items()}
        )
        self._by_lookalike: Mapping[str, tuple[str, ...]] | None = None

    def __getitem__(self, name: str) -> int:
        return self._ranks[canonical_name(name)]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and canonical_name(name) in self._ranks

    def __iter__(self) -> Iterator[str]:
        return iter(self._ranks)

    def __len__(self) -> int:
        return len(self._ranks)

    def __repr__(self) -> str:
        return f"PopularPackages({len(self)} names)"

    def rank(self, name: str) -> int | None:
        """The rank of ``name`` (any spelling), or None when it is not in the list."""
        return self._ranks.get(canonical_name(name))

    @property
    def canonical_ranks(self) -> Mapping[str, int]:
        """The ranks keyed by canonical name, for callers that already hold canonical names.

        Exact lookups only: a string that merely canonicalises to a listed name (``a--b``)
        is not found, which is what a caller generating spelling variants needs.
        """
        return self._ranks

    def lookalikes(self, name: str) -> tuple[str, ...]:
        """Listed canonical names with the same :func:`lookalike_key` as ``name``."""
        if self._by_lookalike is None:
            index: dict[str, list[str]] = {}
            for listed in self._ranks:
                index.setdefault(lookalike_key(listed), []).append(listed)
            self._by_lookalike = {key: tuple(names) for key, names in index.items()}
        return self._by_lookalike.get(lookalike_key(name), ())

    @classmethod
    def parse(cls, text: str) -> PopularPackages:
        """Read ``rank<TAB>name`` lines; ``#`` lines and blank lines are skipped.

        A malformed line is an error rather than skipped: a silently shortened list would
        quietly weaken the typosquat check. When a name appears twice (two spellings of one
        canonical name) the better rank is kept.
        """
        ranks: dict[str, int] = {}
        for number, parts in data_rows(text):
            if len(parts) != 2 or not parts[0].isdigit() or not parts[1]:
                raise BotError(
                    f"Popular-packages list line {number} is not 'rank<TAB>name'; "
                    "reinstall watchdog-lab to restore the shipped list."
                )
            rank, name = int(parts[0]), canonical_name(parts[1])
            if rank < 1:
                raise BotError(
                    f"Popular-packages list line {number} has rank {rank}; ranks start at 1."
                )
            ranks[name] = min(rank, ranks.get(name, rank))
        return cls(ranks)


def data_rows(text: str) -> Iterator[tuple[int, list[str]]]:
    """(line number, tab-separated fields) of a shipped data file, skipping ``#`` and blanks."""
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield number, stripped.split("\t")


def read_data_file(file_name: str, what: str) -> str:
    """The text of a file shipped in the package's ``data`` folder; ``what`` names it for errors.

    A missing file means a broken installation, which only reinstalling mends.
    """
    try:
        source = resources.files(DATA_PACKAGE).joinpath(DATA_FOLDER).joinpath(file_name)
        return source.read_text(encoding="utf-8")
    except (FileNotFoundError, ModuleNotFoundError) as exc:
        raise BotError(
            f"The {what} {file_name} is missing from the installed package; reinstall watchdog-lab."
        ) from exc


@cache
def load_popular() -> PopularPackages:
    """The list shipped with the package, parsed once per process."""
    return PopularPackages.parse(read_data_file(DATA_FILE, "popular-packages list"))
