"""Notebooks and promoting environments that tests of dependency detection state exactly."""

from __future__ import annotations

from collections.abc import Mapping

import nbformat
from nbformat import v4

from watchdog_lab.bots.deps import DetectedDeps
from watchdog_lab.bots.import_names import InstalledEnvironment
from watchdog_lab.bots.popular import canonical_name


class FixedEnvironment(InstalledEnvironment):
    """A promoting environment with exactly the given distributions installed.

    Lets a test state what is installed instead of depending on this machine's packages.
    ``files`` maps a distribution to the module paths (dotted) it ships.
    """

    def __init__(
        self,
        modules: Mapping[str, list[str]] | None = None,
        versions: Mapping[str, str] | None = None,
        files: Mapping[str, list[str]] | None = None,
    ) -> None:
        self._fixed_modules = dict(modules or {})
        self._versions = {canonical_name(k): v for k, v in (versions or {}).items()}
        self._files = dict(files or {})

    def distributions_for(self, top_level: str) -> list[str]:
        return sorted(self._fixed_modules.get(top_level, []))

    def version(self, distribution: str) -> str | None:
        return self._versions.get(canonical_name(distribution))

    def provides(self, distribution: str, module_path: str) -> bool:
        shipped = self._files.get(distribution, [])
        return any(m == module_path or m.startswith(module_path + ".") for m in shipped)


EMPTY = FixedEnvironment()


def notebook(*sources: str, tags: Mapping[int, list[str]] | None = None) -> nbformat.NotebookNode:
    cells = []
    for index, source in enumerate(sources):
        cell = v4.new_code_cell(source)
        if tags and index in tags:
            cell.metadata["tags"] = tags[index]
        cells.append(cell)
    return v4.new_notebook(cells=cells)


def specs(deps: DetectedDeps) -> list[str]:
    return deps.specs
