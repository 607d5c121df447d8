"""Reading a notebook and finding what it asks for, without running any of it.

Promoting must know a bot's packages before anything runs, so the notebook is read as text:
IPython's own syntax (magics, ``!`` escapes) is turned into Python with IPython's transformer
and the result parsed with ``ast``; imports are reported with whether an ``ImportError`` guard
surrounds them, and ``%pip`` / ``!pip`` / ``%%bash`` install lines and a cell tagged
``requirements`` are reported as the specs they request (parsed by :mod:`.pip_args`). What the
findings mean (which distribution, which version) is decided by the receiver, a
:class:`ScanSink`; this module only finds them, in notebook order, so warnings keep that order.

Modules in the notebook's own folder are what its kernel imported first; :func:`is_local_module`
tells them apart from packages so that they never become requests to an index.
"""

from __future__ import annotations

import ast
import glob
import os
import re
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from pathlib import Path
from typing import Any, Protocol

import nbformat

from ..errors import InputFileError
from ..files import read_regular_file
from .errors import NotebookError
from .pip_args import install_specs, pip_install_arguments, simple_commands
from .policy import redact_spec

__all__ = [
    "MAX_NOTEBOOK_BYTES",
    "REQUIREMENTS_TAG",
    "NotebookScanner",
    "ScanSink",
    "SourceKind",
    "is_local_module",
    "load_notebook",
    "scan_notebook",
]

REQUIREMENTS_TAG = "requirements"
# Far above any notebook a bot runs: a bigger file is a mistake, not a strategy.
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024

# Cell magics whose body is Python run by the kernel, and those whose body is shell.
_PYTHON_BODY_MAGICS = frozenset({"capture", "time", "timeit", "prun"})
_SHELL_BODY_MAGICS = frozenset({"bash", "sh", "shell", "system"})
_SHELLS = frozenset({"bash", "sh", "zsh"})
_CONDA_TOOLS = frozenset({"conda", "mamba", "micromamba"})
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})
_INSTALL_LINE = re.compile(r"\s*[%!]\s*(pip|uv|python|\{sys\.executable\})")
# %%capture inside %%time inside ...: nobody nests deeper on purpose.
_MAX_MAGIC_DEPTH = 5


class SourceKind(str, Enum):
    """Where in the notebook a requirement was found."""

    IMPORT = "import"
    PIP = "pip"
    REQUIREMENTS_CELL = "requirements-cell"


class ScanSink(Protocol):
    """What receives the scan's findings, in notebook order."""

    def on_import(self, index: int, module: str, statement: str, optional: bool) -> None:
        """Cell ``index`` imports dotted ``module``; ``optional`` under an ImportError guard."""

    def on_request(self, index: int, spec: str, text: str, kind: SourceKind) -> None:
        """Cell ``index`` asks to install ``spec`` (raw), in the line ``text`` (redacted)."""

    def warn(self, message: str) -> None:
        """Something the user should know about the notebook's requirements."""


def load_notebook(
    notebook: nbformat.NotebookNode | Mapping[str, Any] | str | os.PathLike[str],
    folder: str | os.PathLike[str] | None = None,
) -> tuple[nbformat.NotebookNode, Path | None]:
    """The notebook as a node, and the folder its kernel imported local modules from.

    The folder is the path's parent unless ``folder`` is given: for a notebook already read,
    reading the file again to find it would let the file change between check and freeze.
    """
    local_folder = Path(folder) if folder is not None else None
    if isinstance(notebook, (str, os.PathLike)):
        local_folder = local_folder or Path(notebook).absolute().parent
        return _read_notebook(Path(notebook)), local_folder
    if isinstance(notebook, nbformat.NotebookNode):
        return notebook, local_folder
    if isinstance(notebook, Mapping):
        return nbformat.from_dict(dict(notebook)), local_folder
    raise NotebookError(f"Expected a notebook or a path, got {type(notebook).__name__}.")


def scan_notebook(node: Mapping[str, Any], scanner: NotebookScanner) -> None:
    """Scan every cell of a Python notebook; refuse one that is not Python or has no cells.

    A cell that cannot be parsed only produces a warning, so one broken cell does not block
    seeing the rest.
    """
    language = _language(node)
    if language is not None and language.lower() != "python":
        raise NotebookError(f"This notebook runs {language}, and bots run Python notebooks only.")
    cells = node.get("cells")
    if not isinstance(cells, list):
        raise NotebookError("The notebook has no list of cells; is it a Jupyter notebook?")
    for index, cell in enumerate(cells):
        scanner.scan_cell(index, cell)


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    try:
        raw = read_regular_file(path, MAX_NOTEBOOK_BYTES, "Notebook")
        node: nbformat.NotebookNode = nbformat.reads(raw.decode("utf-8"), as_version=4)
        return node
    except InputFileError as exc:
        raise NotebookError(str(exc)) from None
    except FileNotFoundError:
        raise NotebookError(f"Notebook {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise NotebookError(f"Cannot read notebook {path}: {exc.__class__.__name__}.") from None
    except Exception as exc:  # nbformat raises several unrelated types for a bad file
        raise NotebookError(
            f"{path} is not a readable Jupyter notebook ({exc.__class__.__name__}); "
            "open and save it in JupyterLab, then promote again."
        ) from None


def _language(node: Mapping[str, Any]) -> str | None:
    metadata_ = node.get("metadata") or {}
    for key in ("kernelspec", "language_info"):
        section = metadata_.get(key)
        if isinstance(section, Mapping) and isinstance(section.get("language"), str):
            return str(section["language"])
        if isinstance(section, Mapping) and key == "language_info" and section.get("name"):
            return str(section["name"])
    return None


def _cell_source(cell: Mapping[str, Any]) -> str:
    source = cell.get("source", "")
    if isinstance(source, list):
        return "".join(str(part) for part in source)
    return str(source)


class NotebookScanner:
    """Walks cells and reports what they import and install to a :class:`ScanSink`."""

    def __init__(self, sink: ScanSink) -> None:
        self._sink = sink
        self._transform: Callable[[str], str] | None = None

    def scan_cell(self, index: int, cell: Mapping[str, Any]) -> None:
        cell_type = cell.get("cell_type")
        metadata_ = cell.get("metadata") or {}
        tags = metadata_.get("tags") or []
        source = _cell_source(cell)
        if REQUIREMENTS_TAG in tags and cell_type in ("code", "raw"):
            self._scan_requirements_cell(index, source)
        elif cell_type == "code":
            self._scan_code(index, source, optional=False)

    def _scan_requirements_cell(self, index: int, source: str) -> None:
        for raw_line in source.splitlines():
            line = raw_line.strip()
            if not line or line.startswith("#"):
                continue
            line = re.split(r"\s+#", line, maxsplit=1)[0].strip()
            if line.startswith(("%", "!")):
                self._scan_shell(index, line[1:], SourceKind.REQUIREMENTS_CELL)
            elif re.match(r"(pip[0-9.]*|python[0-9.]*|uv)\s", line):
                self._scan_shell(index, line, SourceKind.REQUIREMENTS_CELL)
            else:
                self._sink.on_request(index, line, line, SourceKind.REQUIREMENTS_CELL)

    def _scan_code(self, index: int, source: str, optional: bool, depth: int = 0) -> None:
        if depth > _MAX_MAGIC_DEPTH:
            return
        try:
            code = self._transformer()(source)
            tree = ast.parse(code)
        except SyntaxError as exc:
            where = f" at line {exc.lineno}" if exc.lineno else ""
            self._sink.warn(
                f"Cell {index + 1} is not valid Python{where} ({exc.msg}); its imports were "
                "not detected. Fix the cell or list its packages in a cell tagged "
                f"'{REQUIREMENTS_TAG}'."
            )
            # Install lines stand alone, so they are still read: a typo further down the
            # cell must not hide a request the policy should see.
            for line in source.splitlines():
                if _INSTALL_LINE.match(line):
                    self._scan_shell(index, line.strip()[1:], SourceKind.PIP)
            return
        except Exception as exc:  # IPython's transformer can fail on odd input
            self._sink.warn(
                f"Cell {index + 1} could not be read as IPython code "
                f"({exc.__class__.__name__}); its packages were not detected."
            )
            return
        _CellVisitor(self, index, depth).visit_root(tree, optional)

    def _transformer(self) -> Callable[[str], str]:
        if self._transform is None:
            from IPython.core.inputtransformer2 import TransformerManager

            self._transform = TransformerManager().transform_cell
        return self._transform

    # -- magics and shell ------------------------------------------------------------------

    def on_line_magic(
        self, index: int, name: str, argument: str, optional: bool, depth: int
    ) -> None:
        if name == "pip":
            self._scan_shell(index, f"pip {argument}", SourceKind.PIP, shown=f"%pip {argument}")
        elif name == "uv":
            self._scan_shell(index, f"uv {argument}", SourceKind.PIP, shown=f"%uv {argument}")
        elif name in _CONDA_TOOLS:
            self._warn_conda(index)
        elif name == "time":
            self._scan_code(index, argument, optional, depth + 1)

    def on_cell_magic(
        self, index: int, name: str, line: str, body: str, optional: bool, depth: int
    ) -> None:
        if name in _PYTHON_BODY_MAGICS:
            self._scan_code(index, body, optional, depth + 1)
        elif name in _SHELL_BODY_MAGICS or (name == "script" and _runs_shell(line)):
            self._scan_shell(index, body, SourceKind.PIP)

    def on_shell(self, index: int, command: str) -> None:
        self._scan_shell(index, command, SourceKind.PIP)

    def _warn_conda(self, index: int) -> None:
        self._sink.warn(
            f"Cell {index + 1} installs with conda; bots install from PyPI only. "
            f"List the packages in a cell tagged '{REQUIREMENTS_TAG}' instead."
        )

    def _scan_shell(
        self, index: int, script: str, kind: SourceKind, shown: str | None = None
    ) -> None:
        script = re.sub(r"\\\r?\n", " ", script)
        for line in script.splitlines():
            for command in simple_commands(line, index, self._sink.warn):
                arguments = pip_install_arguments(command)
                if arguments is None:
                    if command[:1] and Path(command[0]).name in _CONDA_TOOLS:
                        self._warn_conda(index)
                    continue
                text = redact_spec(shown if shown is not None else " ".join(command))
                for spec in install_specs(arguments):
                    self._sink.on_request(index, spec, text, kind)

    def on_import(self, index: int, module: str, statement: str, optional: bool) -> None:
        self._sink.on_import(index, module, statement, optional)


class _CellVisitor(ast.NodeVisitor):
    """Finds imports and IPython calls, tracking whether an ImportError guard surrounds them."""

    def __init__(self, scanner: NotebookScanner, index: int, depth: int) -> None:
        self._scanner = scanner
        self._index = index
        self._depth = depth
        self._optional = False

    def visit_root(self, tree: ast.AST, optional: bool) -> None:
        self._optional = optional
        self.visit(tree)

    def _visit_all(self, nodes: Iterable[ast.AST], optional: bool) -> None:
        saved, self._optional = self._optional, optional
        for node in nodes:
            self.visit(node)
        self._optional = saved

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            statement = f"import {alias.name}"
            self._scanner.on_import(self._index, alias.name, statement, self._optional)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return  # relative imports belong to the notebook's own package
        for alias in node.names:
            dotted = node.module if alias.name == "*" else f"{node.module}.{alias.name}"
            statement = f"from {node.module} import {alias.name}"
            self._scanner.on_import(self._index, dotted, statement, self._optional)

    def visit_Try(self, node: ast.Try) -> None:
        self._visit_try(node)

    def visit_TryStar(self, node: ast.TryStar) -> None:
        self._visit_try(node)

    def _visit_try(self, node: ast.Try | ast.TryStar) -> None:
        guarded = self._optional or any(_catches_import_error(h) for h in node.handlers)
        self._visit_all(node.body, guarded)
        self._visit_all(node.handlers, guarded)
        self._visit_all(node.orelse, self._optional)
        self._visit_all(node.finalbody, self._optional)

    def visit_With(self, node: ast.With) -> None:
        for item in node.items:
            self.visit(item)
        guarded = self._optional or any(_suppresses_import_error(i) for i in node.items)
        self._visit_all(node.body, guarded)

    def visit_Call(self, node: ast.Call) -> None:
        self.generic_visit(node)
        args = [a.value if isinstance(a, ast.Constant) else None for a in node.args]
        func = node.func
        if isinstance(func, ast.Name) and func.id == "__import__" and args:
            self._dynamic_import(args[0])
            return
        if not isinstance(func, ast.Attribute):
            return
        if func.attr == "import_module" and _is_name(func.value, "importlib") and args:
            self._dynamic_import(args[0])
            return
        if not _is_get_ipython_call(func.value) or not all(isinstance(a, str) for a in args):
            return
        scanner, index = self._scanner, self._index
        if func.attr == "run_line_magic" and len(args) == 2:
            scanner.on_line_magic(index, str(args[0]), str(args[1]), self._optional, self._depth)
        elif func.attr == "run_cell_magic" and len(args) == 3:
            scanner.on_cell_magic(
                index, str(args[0]), str(args[1]), str(args[2]), self._optional, self._depth
            )
        elif func.attr in ("system", "getoutput") and len(args) == 1:
            scanner.on_shell(index, str(args[0]))

    def _dynamic_import(self, module: object) -> None:
        if isinstance(module, str) and module and not module.startswith("."):
            statement = f"import_module({module!r})"
            self._scanner.on_import(self._index, module, statement, self._optional)


# -- AST helpers --------------------------------------------------------------------------


def _runs_shell(script_magic_line: str) -> bool:
    words = script_magic_line.split()
    return bool(words) and Path(words[0]).name in _SHELLS


def _is_name(node: ast.AST, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _is_get_ipython_call(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _is_name(node.func, "get_ipython")


def _exception_names(node: ast.expr | None) -> set[str]:
    if node is None:
        return {"BaseException"}
    if isinstance(node, ast.Tuple):
        return {name for element in node.elts for name in _exception_names(element)}
    if isinstance(node, ast.Name):
        return {node.id}
    if isinstance(node, ast.Attribute):
        return {node.attr}
    return set()


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    return bool(_exception_names(handler.type) & _IMPORT_ERRORS)


def _suppresses_import_error(item: ast.withitem) -> bool:
    call = item.context_expr
    if not isinstance(call, ast.Call):
        return False
    func = call.func
    name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
    return name == "suppress" and any(_exception_names(arg) & _IMPORT_ERRORS for arg in call.args)


def is_local_module(folder: Path | None, top: str, installed: Callable[[str], list[str]]) -> bool:
    """Whether ``import top`` in the notebook's kernel finds a file of its folder.

    The kernel runs in the notebook's folder, first on ``sys.path``: a module file or a
    regular package there wins over anything installed. A folder without ``__init__.py``
    is only a namespace portion, which an installed regular package beats; it counts as
    local when nothing installed here provides the name (``installed`` lists the
    distributions that provide a top-level module).
    """
    if folder is None or not top.isidentifier():
        return False
    if (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file():
        return True
    if any(path.is_file() for path in folder.glob(f"{glob.escape(top)}.*.so")):
        return True
    if (folder / f"{top}.so").is_file() or (folder / f"{top}.pyc").is_file():
        return True
    return (folder / top).is_dir() and not installed(top)
