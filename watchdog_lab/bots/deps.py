"""What a notebook needs installed, read from the notebook itself.

A bot's environment holds only the packages its notebook uses, so promoting must work them out
without running anything. :mod:`.notebook_scan` finds the imports, the ``%pip install`` /
``!pip install`` lines and the cell tagged ``requirements``; this module turns those findings
into requirements: which distribution an import means (:mod:`.import_names`), which request
wins when a distribution is asked for several ways, and which version to pin. Versions are
pinned to what the promoting environment has installed, because that is the environment in
which the notebook was seen to work.

Nothing here decides whether a package is acceptable: hostile requests (URLs, options, paths)
are kept verbatim so that :mod:`.policy` refuses them by name rather than this module quietly
dropping them.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import nbformat
from packaging.requirements import Requirement
from pydantic import BaseModel, ConfigDict

from .import_names import (
    NAMESPACE_PACKAGES,
    InstalledEnvironment,
    module_prefixes,
    table_distribution,
)
from .notebook_scan import (
    REQUIREMENTS_TAG,
    NotebookScanner,
    SourceKind,
    is_local_module,
    load_notebook,
    scan_notebook,
)
from .pip_args import STRICT_NAME, parse_spec
from .policy import redact_spec
from .popular import PopularPackages, canonical_name, load_popular

__all__ = [
    "PROVIDED_DISTRIBUTIONS",
    "PROVIDED_MODULES",
    "DetectedDeps",
    "DetectedRequirement",
    "InstalledEnvironment",
    "Origin",
    "SourceKind",
    "detect_requirements",
]

# Modules and distributions every bot environment already has: the SDK and the kernel.
PROVIDED_MODULES = frozenset({"watchdog_lab", "IPython", "ipykernel"})
PROVIDED_DISTRIBUTIONS = frozenset({"watchdog-lab", "ipython", "ipykernel"})

# Higher wins when one distribution is requested in several ways: a declared requirement says
# what the author meant, an import only that something by that name is used.
_PRIORITY = {SourceKind.IMPORT: 0, SourceKind.PIP: 1, SourceKind.REQUIREMENTS_CELL: 2}


class Origin(BaseModel):
    """One place a requirement came from: ``cell_index`` counts from 0 over all cells."""

    model_config = ConfigDict(frozen=True)

    kind: SourceKind
    cell_index: int
    text: str
    optional: bool = False

    def describe(self) -> str:
        where = f"cell {self.cell_index + 1}"
        if self.kind is SourceKind.REQUIREMENTS_CELL:
            return f"{self.text} (requirements {where})"
        guard = ", under except ImportError" if self.optional else ""
        return f"{self.text} ({where}{guard})"


class DetectedRequirement(BaseModel):
    """One distribution the bot needs, as the policy will see it.

    ``spec`` is what goes to the policy and, once approved, to the installer. ``name`` is the
    canonical distribution name, or None when the request is not a name at all (a URL, a path,
    an option). ``optional`` marks a package only imported under ``except ImportError``.
    """

    model_config = ConfigDict(frozen=True)

    spec: str
    name: str | None
    specifier: str = ""
    installed_version: str | None = None
    pinned_from_environment: bool = False
    explicit: bool = False
    optional: bool = False
    origins: list[Origin]


class DetectedDeps(BaseModel):
    """Everything a notebook asks to have installed, plus what could not be worked out."""

    model_config = ConfigDict(frozen=True)

    requirements: list[DetectedRequirement]
    warnings: list[str]
    # Top-level names the notebook imports from its own folder: never requested from an index,
    # where anyone could publish a package under the same name.
    local_modules: list[str] = []

    @property
    def specs(self) -> list[str]:
        return [requirement.spec for requirement in self.requirements]

    def get(self, name: str) -> DetectedRequirement | None:
        """The requirement for distribution ``name`` (any spelling), if detected."""
        wanted = canonical_name(name)
        return next((r for r in self.requirements if r.name == wanted), None)


def detect_requirements(
    notebook: nbformat.NotebookNode | Mapping[str, Any] | str | os.PathLike[str],
    *,
    folder: str | os.PathLike[str] | None = None,
    environment: InstalledEnvironment | None = None,
    popular: PopularPackages | None = None,
) -> DetectedDeps:
    """Work out what ``notebook`` needs installed.

    Modules in the notebook's own folder are what its kernel imported, so they are never
    turned into requirements: an index may well hold a package of the same name, published by
    anyone. The folder is the path's parent; for a notebook already read, pass ``folder``
    (reading the file again would let it change between the check and the freeze).

    Raises :class:`NotebookError` when the notebook cannot be read; a cell that cannot be parsed
    only produces a warning, so one broken cell does not block seeing the rest.
    """
    node, local_folder = load_notebook(notebook, folder)
    collector = _Collector(
        environment=environment or InstalledEnvironment(),
        popular=popular,
        folder=local_folder,
    )
    scan_notebook(node, NotebookScanner(collector))
    return collector.result()


class _Found:
    """A requirement being assembled from every place that asks for it."""

    def __init__(self, spec: str, name: str | None, clean: bool, kind: SourceKind) -> None:
        self.spec = spec
        self.name = name
        self.clean = clean  # a plain name + specifier whose specifier we may fill in
        self.kind = kind
        self.origins: list[Origin] = []


class _Collector:
    """Receives the scan's findings and assembles them into requirements (a ``ScanSink``)."""

    def __init__(
        self,
        environment: InstalledEnvironment,
        popular: PopularPackages | None,
        folder: Path | None,
    ) -> None:
        self._env = environment
        self._popular = popular
        self._folder = folder
        self._found: dict[str, _Found] = {}
        self._warnings: list[str] = []
        self._local: dict[str, None] = {}

    def warn(self, message: str) -> None:
        self._warnings.append(message)

    def on_request(self, index: int, spec: str, text: str, kind: SourceKind) -> None:
        """Record an explicit request; the strongest kind of request for a name decides it.

        Credentials in a URL are masked before anything is kept, so they reach no warning,
        report or log.
        """
        spec = redact_spec(spec)
        origin = Origin(kind=kind, cell_index=index, text=redact_spec(text))
        name, clean = parse_spec(spec)
        if name in PROVIDED_DISTRIBUTIONS:
            self._warnings.append(
                f"'{spec}' ({origin.describe()}) is ignored: every bot environment already "
                "provides it."
            )
            return
        key = name if name is not None else f"raw:{spec}"
        found = self._found.get(key)
        if found is None or _PRIORITY[kind] > _PRIORITY[found.kind]:
            replacement = _Found(spec, name, clean, kind)
            if found is not None:
                replacement.origins = found.origins
            self._found[key] = replacement
        elif _PRIORITY[kind] == _PRIORITY[found.kind]:
            if spec != found.spec:
                self._warnings.append(
                    f"'{found.spec}' and '{spec}' both ask for {name or spec}; the later "
                    f"one ({origin.describe()}) is used."
                )
            found.spec, found.clean = spec, clean
        self._found[key].origins.append(origin)

    def on_import(self, index: int, module: str, statement: str, optional: bool) -> None:
        """Record the distribution an import needs, unless the bot has it anyway.

        The standard library, the SDK and the kernel are always there, and a module next to
        the notebook must never become a request to an index.
        """
        top = module.split(".", 1)[0]
        if not top or top in sys.stdlib_module_names or top in PROVIDED_MODULES:
            return
        if top == "__main__":
            return
        if is_local_module(self._folder, top, self._env.distributions_for):
            if top not in self._local:
                self._local[top] = None
                self._warnings.append(
                    f"{statement} (cell {index + 1}) imports a module next to the notebook, not "
                    "a package: it is not installed from any index and is not copied into the "
                    "bot, so paste its code into the notebook for the bot to have it."
                )
            return
        distribution = self._distribution_for(module, statement, index)
        if distribution is None:
            return
        origin = Origin(kind=SourceKind.IMPORT, cell_index=index, text=statement, optional=optional)
        if not STRICT_NAME.match(distribution):
            # ``import _thing``: no distribution can have that name; let the policy say so.
            key = f"raw:{distribution}"
            raw = self._found.setdefault(key, _Found(distribution, None, False, SourceKind.IMPORT))
            raw.origins.append(origin)
            return
        name = canonical_name(distribution)
        if name in PROVIDED_DISTRIBUTIONS:
            return
        found = self._found.get(name)
        if found is None:
            found = self._found[name] = _Found(name, name, True, SourceKind.IMPORT)
        found.origins.append(origin)

    def _distribution_for(self, module: str, statement: str, index: int) -> str | None:
        """The distribution that provides ``module``: installed metadata first, then the table."""
        top = module.split(".", 1)[0]
        prefixes = module_prefixes(module)
        installed = self._env.distributions_for(top)
        if len(installed) == 1:
            return installed[0]
        table = table_distribution(module)
        if installed:
            for prefix in prefixes[:-1]:
                shipping = [d for d in installed if self._env.provides(d, prefix)]
                if len(shipping) == 1:
                    return shipping[0]
            if table is not None and canonical_name(table) in map(canonical_name, installed):
                return table
            if top not in NAMESPACE_PACKAGES:
                self._warnings.append(
                    f"{statement} (cell {index + 1}) is provided by several installed "
                    f"distributions ({', '.join(installed)}); using {installed[0]}. List the "
                    f"one you mean in a cell tagged '{REQUIREMENTS_TAG}' to choose."
                )
                return installed[0]
        if table is not None:
            return table
        if top in NAMESPACE_PACKAGES:
            ranks = (self._popular or load_popular()).canonical_ranks
            for prefix in prefixes[:-1]:
                if canonical_name(prefix) in ranks:
                    return canonical_name(prefix)
            self._warnings.append(
                f"{statement} (cell {index + 1}): cannot tell which '{top}' distribution "
                f"provides it; list it in a cell tagged '{REQUIREMENTS_TAG}'."
            )
            return None
        return top

    # -- result ----------------------------------------------------------------------------

    def result(self) -> DetectedDeps:
        requirements: list[DetectedRequirement] = []
        for found in self._found.values():
            if self._shadowed_by_local(found):
                continue
            requirement = self._finish(found)
            if requirement is not None:
                requirements.append(requirement)
        return DetectedDeps(
            requirements=requirements,
            warnings=list(self._warnings),
            local_modules=sorted(self._local),
        )

    def _shadowed_by_local(self, found: _Found) -> bool:
        """Whether ``found`` asks an index for a name the notebook imports from its folder.

        Installed in the bot, that package would run where the notebook ran its own module:
        the very substitution an attacker publishing the name hopes for. So it is left out.
        """
        if found.name is None:
            return False
        module = next((m for m in self._local if canonical_name(m) == found.name), None)
        if module is None:
            return False
        first = found.origins[0].describe()
        self._warnings.append(
            f"{found.spec}, from {first}, is not installed: the notebook imports {module} from "
            "a module next to it, and a package of that name from an index would take its place."
        )
        return True

    def _finish(self, found: _Found) -> DetectedRequirement | None:
        explicit = found.kind is not SourceKind.IMPORT
        optional = not explicit and all(origin.optional for origin in found.origins)
        installed = self._env.version(found.name) if found.name is not None else None
        first = found.origins[0].describe()
        if optional and installed is None:
            self._warnings.append(
                f"{found.name}, from {first}, is optional and not installed here, so the bot "
                f"does without it too; list it in a cell tagged '{REQUIREMENTS_TAG}' to "
                "install it."
            )
            return None
        spec, specifier, pinned = found.spec, "", False
        if found.clean and found.name is not None:
            specifier = str(Requirement(found.spec).specifier)
            if not specifier and installed is not None:
                specifier, pinned = f"=={installed}", True
            spec = f"{found.name}{specifier}"
            if installed is None and not specifier:
                self._warnings.append(
                    f"{found.name}, from {first}, is not installed in this environment, so its "
                    "version cannot be pinned; the latest release will be installed."
                )
        return DetectedRequirement(
            spec=spec,
            name=found.name,
            specifier=specifier,
            installed_version=installed,
            pinned_from_environment=pinned,
            explicit=explicit,
            optional=optional,
            origins=list(found.origins),
        )
