"""What a notebook needs installed, read from the notebook itself.

A bot's environment holds only the packages its notebook uses, so promoting must work them out
without running anything: imports (found with ``ast`` after IPython's own syntax is turned into
Python), ``%pip install`` / ``!pip install`` lines, and an optional cell tagged
``requirements``. Versions are pinned to what the promoting environment has installed, because
that is the environment in which the notebook was seen to work.

Nothing here decides whether a package is acceptable: hostile requests (URLs, options, paths)
are kept verbatim so that :mod:`.policy` refuses them by name rather than this module quietly
dropping them.
"""

from __future__ import annotations

import ast
import glob
import os
import re
import shlex
import sys
from collections.abc import Callable, Iterable, Mapping
from enum import Enum
from functools import cached_property
from importlib import metadata
from pathlib import Path
from typing import Any

import nbformat
from packaging.requirements import InvalidRequirement, Requirement
from pydantic import BaseModel, ConfigDict

from ..errors import InputFileError
from ..files import read_regular_file
from .errors import NotebookError
from .policy import redact_spec
from .popular import PopularPackages, canonical_name, load_popular

REQUIREMENTS_TAG = "requirements"
# Far above any notebook a bot runs: a bigger file is a mistake, not a strategy.
MAX_NOTEBOOK_BYTES = 20 * 1024 * 1024

# Modules and distributions every bot environment already has: the SDK and the kernel.
PROVIDED_MODULES = frozenset({"watchdog_lab", "IPython", "ipykernel"})
PROVIDED_DISTRIBUTIONS = frozenset({"watchdog-lab", "ipython", "ipykernel"})

# Import name -> distribution where the two differ (after PEP 503 normalisation) and the
# promoting environment cannot say, because the package is not installed there. Dotted keys
# match the longest prefix (``google.protobuf`` before ``google``).
IMPORT_TO_DISTRIBUTION: Mapping[str, str] = {
    "Bio": "biopython",
    "Crypto": "pycryptodome",
    "Cryptodome": "pycryptodomex",
    "MySQLdb": "mysqlclient",
    "OpenGL": "PyOpenGL",
    "OpenSSL": "pyOpenSSL",
    "PIL": "Pillow",
    "Xlib": "python-xlib",
    "absl": "absl-py",
    "alpaca": "alpaca-py",
    "apiclient": "google-api-python-client",
    "argon2": "argon2-cffi",
    "attr": "attrs",
    "barcode": "python-barcode",
    "binance": "python-binance",
    "box": "python-box",
    "bs4": "beautifulsoup4",
    "bson": "pymongo",
    "cairo": "pycairo",
    "camelot": "camelot-py",
    "capnp": "pycapnp",
    "community": "python-louvain",
    "cv2": "opencv-python",
    "dateutil": "python-dateutil",
    "decouple": "python-decouple",
    "discord": "discord.py",
    "dns": "dnspython",
    "docx": "python-docx",
    "dotenv": "python-dotenv",
    "editor": "python-editor",
    "engineio": "python-engineio",
    "faiss": "faiss-cpu",
    "ffmpeg": "ffmpeg-python",
    "fitz": "PyMuPDF",
    "frontmatter": "python-frontmatter",
    "gi": "PyGObject",
    "gin": "gin-config",
    "git": "GitPython",
    "github": "PyGithub",
    "gitlab": "python-gitlab",
    "google.oauth2": "google-auth",
    "google.protobuf": "protobuf",
    "googleapiclient": "google-api-python-client",
    "gridfs": "pymongo",
    "grpc": "grpcio",
    "hydra": "hydra-core",
    "jenkins": "python-jenkins",
    "jose": "python-jose",
    "jwt": "PyJWT",
    "kafka": "kafka-python",
    "ldap": "python-ldap",
    "magic": "python-magic",
    "markdown_it": "markdown-it-py",
    "memcache": "python-memcached",
    "mpl_toolkits": "matplotlib",
    "multipart": "python-multipart",
    "mysql": "mysql-connector-python",
    "nacl": "PyNaCl",
    "nats": "nats-py",
    "newspaper": "newspaper3k",
    "nmap": "python-nmap",
    "odf": "odfpy",
    "osgeo": "GDAL",
    "paho": "paho-mqtt",
    "pdfminer": "pdfminer.six",
    "pkg_resources": "setuptools",
    "polygon": "polygon-api-client",
    "pptx": "python-pptx",
    "psycopg2": "psycopg2-binary",
    "pylab": "matplotlib",
    "pythoncom": "pywin32",
    "pythonjsonlogger": "python-json-logger",
    "pywintypes": "pywin32",
    "rapidjson": "python-rapidjson",
    "serial": "pyserial",
    "skimage": "scikit-image",
    "sklearn": "scikit-learn",
    "slugify": "python-slugify",
    "snappy": "python-snappy",
    "snowflake.connector": "snowflake-connector-python",
    "socketio": "python-socketio",
    "socks": "PySocks",
    "speech_recognition": "SpeechRecognition",
    "tabula": "tabula-py",
    "talib": "TA-Lib",
    "telebot": "pyTelegramBotAPI",
    "telegram": "python-telegram-bot",
    "umap": "umap-learn",
    "usb": "pyusb",
    "vcr": "vcrpy",
    "vertexai": "google-cloud-aiplatform",
    "websocket": "websocket-client",
    "whois": "python-whois",
    "win32api": "pywin32",
    "win32com": "pywin32",
    "win32con": "pywin32",
    "wx": "wxPython",
    "yaml": "PyYAML",
    "zmq": "pyzmq",
}

# Namespace packages: many distributions share the top-level name and each one is named after
# its dotted path (``google.cloud.storage`` -> ``google-cloud-storage``).
NAMESPACE_PACKAGES = frozenset(
    {"azure", "backports", "google", "jaraco", "oslo", "ruamel", "sphinxcontrib", "zope"}
)

# Cell magics whose body is Python run by the kernel, and those whose body is shell.
_PYTHON_BODY_MAGICS = frozenset({"capture", "time", "timeit", "prun"})
_SHELL_BODY_MAGICS = frozenset({"bash", "sh", "shell", "system"})
_SHELLS = frozenset({"bash", "sh", "zsh"})
_CONDA_TOOLS = frozenset({"conda", "mamba", "micromamba"})
_IMPORT_ERRORS = frozenset({"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})

# pip / uv pip install options. Flags that only change verbosity or reinstall behaviour are
# dropped; options that change where code comes from are kept verbatim for the policy to refuse;
# anything unknown is kept too, so an unfamiliar option is refused rather than guessed at.
_IGNORED_FLAGS = frozenset(
    [
        "--upgrade",
        "--quiet",
        "--verbose",
        "--user",
        "--no-deps",
        "--force-reinstall",
        "--ignore-installed",
        "--pre",
        "--no-cache-dir",
        "--no-cache",
        "--disable-pip-version-check",
        "--no-warn-script-location",
        "--no-warn-conflicts",
        "--break-system-packages",
        "--system",
        "--no-color",
        "--no-input",
        "--isolated",
        "--compile",
        "--no-compile",
        "--prefer-binary",
        "--no-build-isolation",
        "--use-pep517",
        "--dry-run",
        "--reinstall",
        "--refresh",
        "--compile-bytecode",
        "--no-progress",
        "--require-virtualenv",
    ]
)
_IGNORED_VALUE_OPTIONS = frozenset(
    [
        "--progress-bar",
        "--exists-action",
        "--root-user-action",
        "--upgrade-strategy",
        "--timeout",
        "--retries",
        "--log",
        "--cache-dir",
        "--python",
        "--only-binary",
        "--no-binary",
        "--target",
        "--prefix",
        "--root",
        "--src",
        "--report",
        "--link-mode",
        "--resolution",
        "--prerelease",
        "--python-version",
        "--platform",
        "--implementation",
        "--abi",
        "--python-platform",
        "--upgrade-package",
    ]
)
_IGNORED_SHORT_FLAGS = frozenset("qvUI")
_IGNORED_SHORT_VALUE_OPTIONS = frozenset({"-t", "-p"})
_SOURCE_SHORT_OPTIONS = frozenset({"-r", "-c", "-e", "-i", "-f"})
_SOURCE_VALUE_OPTIONS = frozenset(
    [
        "--requirement",
        "--constraint",
        "--editable",
        "--index-url",
        "--extra-index-url",
        "--find-links",
        "--trusted-host",
        "--index",
        "--default-index",
        "--cert",
        "--client-cert",
        "--proxy",
        "--overrides",
        "--override",
        "--build-constraint",
        "--config-settings",
        "--global-option",
        "--keyring-provider",
        "--index-strategy",
    ]
)

_PIP_PROGRAM = re.compile(r"pip[0-9.]*(\.exe)?")
_PYTHON_PROGRAM = re.compile(r"python[0-9.]*(\.exe)?|\{sys\.executable\}|\$\{?PYTHON\}?")
_ENV_ASSIGNMENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*=.*")
_SHELL_OPERATOR_CHARS = frozenset("();<>|&")
_INSTALL_LINE = re.compile(r"\s*[%!]\s*(pip|uv|python|\{sys\.executable\})")
_STRICT_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")


class SourceKind(str, Enum):
    """Where in the notebook a requirement was found."""

    IMPORT = "import"
    PIP = "pip"
    REQUIREMENTS_CELL = "requirements-cell"


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
    local_folder = Path(folder) if folder is not None else None
    if isinstance(notebook, (str, os.PathLike)):
        local_folder = local_folder or Path(notebook).absolute().parent
        node = _read_notebook(Path(notebook))
    elif isinstance(notebook, nbformat.NotebookNode):
        node = notebook
    elif isinstance(notebook, Mapping):
        node = nbformat.from_dict(dict(notebook))
    else:
        raise NotebookError(f"Expected a notebook or a path, got {type(notebook).__name__}.")
    scanner = _Scanner(
        environment=environment or InstalledEnvironment(),
        popular=popular,
        folder=local_folder,
    )
    language = _language(node)
    if language is not None and language.lower() != "python":
        raise NotebookError(f"This notebook runs {language}, and bots run Python notebooks only.")
    cells = node.get("cells")
    if not isinstance(cells, list):
        raise NotebookError("The notebook has no list of cells; is it a Jupyter notebook?")
    for index, cell in enumerate(cells):
        scanner.scan_cell(index, cell)
    return scanner.result()


def _read_notebook(path: Path) -> nbformat.NotebookNode:
    try:
        raw = read_regular_file(path, MAX_NOTEBOOK_BYTES, "Notebook")
        return nbformat.reads(raw.decode("utf-8"), as_version=4)
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


class _Found:
    """A requirement being assembled from every place that asks for it."""

    def __init__(self, spec: str, name: str | None, clean: bool, kind: SourceKind) -> None:
        self.spec = spec
        self.name = name
        self.clean = clean  # a plain name + specifier whose specifier we may fill in
        self.kind = kind
        self.origins: list[Origin] = []


class _Scanner:
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
        self._transform: Callable[[str], str] | None = None

    # -- cells -----------------------------------------------------------------------------

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
                self._add_explicit(index, line, line, SourceKind.REQUIREMENTS_CELL)

    def _scan_code(self, index: int, source: str, optional: bool, depth: int = 0) -> None:
        if depth > 5:  # %%capture inside %%time inside ...: nobody nests deeper on purpose
            return
        try:
            code = self._transformer()(source)
            tree = ast.parse(code)
        except SyntaxError as exc:
            where = f" at line {exc.lineno}" if exc.lineno else ""
            self._warnings.append(
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
            self._warnings.append(
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
        self._warnings.append(
            f"Cell {index + 1} installs with conda; bots install from PyPI only. "
            f"List the packages in a cell tagged '{REQUIREMENTS_TAG}' instead."
        )

    def _scan_shell(
        self, index: int, script: str, kind: SourceKind, shown: str | None = None
    ) -> None:
        script = re.sub(r"\\\r?\n", " ", script)
        for line in script.splitlines():
            for command in _simple_commands(line, self._warnings, index):
                arguments = _pip_install_arguments(command)
                if arguments is None:
                    if command[:1] and Path(command[0]).name in _CONDA_TOOLS:
                        self._warn_conda(index)
                    continue
                text = redact_spec(shown if shown is not None else " ".join(command))
                for spec in _install_specs(arguments):
                    self._add_explicit(index, spec, text, kind)

    # -- collecting ------------------------------------------------------------------------

    def _add_explicit(self, index: int, spec: str, text: str, kind: SourceKind) -> None:
        spec = redact_spec(spec)
        origin = Origin(kind=kind, cell_index=index, text=redact_spec(text))
        name, clean = _parse_spec(spec)
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
        top = module.split(".", 1)[0]
        if not top or top in sys.stdlib_module_names or top in PROVIDED_MODULES:
            return
        if top == "__main__":
            return
        if self._is_local_module(top):
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
        if not _STRICT_NAME.match(distribution):
            # ``import _thing``: no distribution can have that name; let the policy say so.
            key = f"raw:{distribution}"
            found = self._found.setdefault(
                key, _Found(distribution, None, False, SourceKind.IMPORT)
            )
            found.origins.append(origin)
            return
        name = canonical_name(distribution)
        if name in PROVIDED_DISTRIBUTIONS:
            return
        found = self._found.get(name)
        if found is None:
            found = self._found[name] = _Found(name, name, True, SourceKind.IMPORT)
        found.origins.append(origin)

    def _is_local_module(self, top: str) -> bool:
        """Whether ``import top`` in the notebook's kernel finds a file of its folder.

        The kernel runs in the notebook's folder, first on ``sys.path``: a module file or a
        regular package there wins over anything installed. A folder without ``__init__.py``
        is only a namespace portion, which an installed regular package beats; it counts as
        local when nothing installed here provides the name.
        """
        if self._folder is None or not top.isidentifier():
            return False
        folder = self._folder
        if (folder / f"{top}.py").is_file() or (folder / top / "__init__.py").is_file():
            return True
        if any(path.is_file() for path in folder.glob(f"{glob.escape(top)}.*.so")):
            return True
        if (folder / f"{top}.so").is_file() or (folder / f"{top}.pyc").is_file():
            return True
        return (folder / top).is_dir() and not self._env.distributions_for(top)

    def _distribution_for(self, module: str, statement: str, index: int) -> str | None:
        """The distribution that provides ``module``: installed metadata first, then the table."""
        top = module.split(".", 1)[0]
        prefixes = _prefixes(module)
        installed = self._env.distributions_for(top)
        if len(installed) == 1:
            return installed[0]
        table = next(
            (IMPORT_TO_DISTRIBUTION[p] for p in prefixes if p in IMPORT_TO_DISTRIBUTION), None
        )
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


class _CellVisitor(ast.NodeVisitor):
    """Finds imports and IPython calls, tracking whether an ImportError guard surrounds them."""

    def __init__(self, scanner: _Scanner, index: int, depth: int) -> None:
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
        guarded = self._optional or any(_catches_import_error(h) for h in node.handlers)
        self._visit_all(node.body, guarded)
        self._visit_all(node.handlers, guarded)
        self._visit_all(node.orelse, self._optional)
        self._visit_all(node.finalbody, self._optional)

    visit_TryStar = visit_Try

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


# -- AST, shell and pip argument parsing --------------------------------------------------


def _runs_shell(script_magic_line: str) -> bool:
    words = script_magic_line.split()
    return bool(words) and Path(words[0]).name in _SHELLS


def _prefixes(module: str) -> list[str]:
    """``a.b.c`` -> ``["a.b.c", "a.b", "a"]``: longest first, for most-specific lookups."""
    parts = module.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]


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


def _parse_spec(spec: str) -> tuple[str | None, bool]:
    """(canonical name or None, whether ``spec`` is a plain name + optional specifier)."""
    if spec.startswith("-") or not spec.isascii():
        return None, False
    try:
        requirement = Requirement(spec)
    except InvalidRequirement:
        return None, False
    plain = (
        not requirement.url
        and not requirement.extras
        and requirement.marker is None
        and bool(_STRICT_NAME.match(requirement.name))
        and "/" not in spec
        and "\\" not in spec
    )
    return canonical_name(requirement.name), plain


def _simple_commands(line: str, warnings: list[str], index: int) -> list[list[str]]:
    """Split one shell line into simple commands, dropping redirections as the shell would."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
        lexer.whitespace_split = True
        lexer.commenters = ""
        tokens = list(lexer)
    except ValueError:  # unbalanced quotes: the shell would fail too
        return []
    commands: list[list[str]] = [[]]
    position = 0
    while position < len(tokens):
        token = tokens[position]
        if token.startswith("#"):
            break  # a comment runs to the end of the line
        if token and set(token) <= _SHELL_OPERATOR_CHARS:
            if "<" in token or ">" in token:
                if commands[-1] and commands[-1][-1].isdigit():
                    commands[-1].pop()  # the file descriptor of "2>&1"
                target = tokens[position + 1] if position + 1 < len(tokens) else ""
                if target.startswith("="):
                    warnings.append(
                        f"Cell {index + 1}: '{token}{target}' is a shell redirection, not a "
                        'version; quote the requirement, e.g. "numpy>=1.26".'
                    )
                position += 2
                continue
            commands.append([])
        else:
            commands[-1].append(token)
        position += 1
    return [command for command in commands if command]


def _pip_install_arguments(command: list[str]) -> list[str] | None:
    """The arguments after ``install`` when ``command`` runs pip (or uv pip); else None."""
    position = 0
    while position < len(command) and _ENV_ASSIGNMENT.fullmatch(command[position]):
        position += 1
    if position < len(command) and command[position] in ("sudo", "exec", "nohup", "time"):
        position += 1
    rest = command[position:]
    if not rest:
        return None
    program = Path(rest[0]).name if "{" not in rest[0] else rest[0]
    if _PIP_PROGRAM.fullmatch(program):
        rest = rest[1:]
    elif _PYTHON_PROGRAM.fullmatch(program) or "sys.executable" in rest[0]:
        if rest[1:3] not in (["-m", "pip"], ["-m", "pip3"]):
            return None
        rest = rest[3:]
    elif program == "uv" and rest[1:2] == ["pip"]:
        rest = rest[2:]
    else:
        return None
    while rest and rest[0].startswith("-"):
        rest = rest[1:]  # global options before the subcommand (pip -q install ...)
    if not rest or rest[0] != "install":
        return None
    return rest[1:]


def _install_specs(arguments: list[str]) -> list[str]:
    """Requirement specs from ``pip install`` arguments; source-changing options kept raw."""
    specs: list[str] = []
    position = 0
    only_specs = False
    while position < len(arguments):
        word = arguments[position]
        position += 1
        if only_specs or not word.startswith("-") or word == "-":
            specs.append(word)
            continue
        if word == "--":
            only_specs = True
            continue
        if word.startswith("--"):
            option, has_value, _ = word.partition("=")
            if option in _IGNORED_FLAGS and not has_value:
                continue
            if option in _IGNORED_VALUE_OPTIONS:
                position += 0 if has_value else 1
                continue
            if option in _SOURCE_VALUE_OPTIONS and not has_value and position < len(arguments):
                word = f"{word} {arguments[position]}"
                position += 1
            specs.append(word)
            continue
        short = word[:2]
        if short in _SOURCE_SHORT_OPTIONS:
            if len(word) == 2 and position < len(arguments):
                word = f"{word} {arguments[position]}"
                position += 1
            specs.append(word)
        elif short in _IGNORED_SHORT_VALUE_OPTIONS:
            position += 1 if len(word) == 2 else 0
        elif not set(word[1:]) <= _IGNORED_SHORT_FLAGS:
            specs.append(word)
    return specs
