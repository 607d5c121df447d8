"""Which distribution provides an imported module: the promoting environment, then a table.

``import cv2`` says nothing about ``opencv-python`` by itself. The promoting environment
knows when the package is installed there (its metadata lists the modules each distribution
ships); when it is not, a table of the usual mismatches answers. The table is data, not code
(``watchdog_lab/data/import-names.tsv``), so it can grow without touching the logic, and it is
read once, on the first import that needs it.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, cached_property
from importlib import metadata
from types import MappingProxyType

from .errors import BotError
from .popular import canonical_name, data_rows, read_data_file

__all__ = [
    "IMPORT_NAMES_FILE",
    "NAMESPACE_PACKAGES",
    "InstalledEnvironment",
    "load_import_names",
    "module_prefixes",
    "parse_import_names",
    "table_distribution",
]

IMPORT_NAMES_FILE = "import-names.tsv"

# Namespace packages: many distributions share the top-level name and each one is named after
# its dotted path (``google.cloud.storage`` -> ``google-cloud-storage``).
NAMESPACE_PACKAGES = frozenset(
    {"azure", "backports", "google", "jaraco", "oslo", "ruamel", "sphinxcontrib", "zope"}
)


def parse_import_names(text: str) -> Mapping[str, str]:
    """``import name<TAB>distribution`` lines (``#`` comments allowed) -> a read-only mapping.

    A malformed or repeated line is an error rather than skipped: a line silently lost would
    turn an honest ``import cv2`` into a request for a distribution called ``cv2``.
    """
    table: dict[str, str] = {}
    for number, parts in data_rows(text):
        if len(parts) != 2 or not all(parts) or parts[0] in table:
            raise BotError(
                f"Import-name table line {number} is not a new 'import name<TAB>distribution'; "
                "reinstall watchdog-lab to restore the shipped table."
            )
        table[parts[0]] = parts[1]
    return MappingProxyType(table)


@cache
def load_import_names() -> Mapping[str, str]:
    """The table shipped with the package, parsed once per process."""
    return parse_import_names(read_data_file(IMPORT_NAMES_FILE, "import-name table"))


def module_prefixes(module: str) -> list[str]:
    """``a.b.c`` -> ``["a.b.c", "a.b", "a"]``: longest first, for most-specific lookups."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


def table_distribution(module: str) -> str | None:
    """The table's distribution for ``module``, matching the longest dotted prefix it lists.

    Longest first because ``google.protobuf`` and ``google.oauth2`` come from different
    distributions than a bare ``google`` would suggest.
    """
    table = load_import_names()
    return next((table[p] for p in module_prefixes(module) if p in table), None)


class InstalledEnvironment:
    """The promoting environment's installed distributions, read lazily and only once.

    ``packages_distributions()`` walks every installed distribution (about 0.1 s), so it is
    computed on first need and reused for every import of the notebook.
    """

    @cached_property
    def _modules(self) -> Mapping[str, list[str]]:
        return metadata.packages_distributions()

    def distributions_for(self, top_level: str) -> list[str]:
        """Names of installed distributions that provide top-level module ``top_level``."""
        return sorted(set(self._modules.get(top_level, ())), key=canonical_name)

    def version(self, distribution: str) -> str | None:
        try:
            return metadata.version(distribution)
        except metadata.PackageNotFoundError:
            return None

    def provides(self, distribution: str, module_path: str) -> bool:
        """Whether ``distribution`` ships the (dotted) module ``module_path``."""
        try:
            files = metadata.distribution(distribution).files or []
        except metadata.PackageNotFoundError:
            return False
        prefix = module_path.replace(".", "/")
        for file in files:
            path = file.as_posix()
            if path.startswith(prefix + "/") or path.split(".", 1)[0] == prefix:
                return True
        return False
