"""Shell lines and ``pip install`` arguments, turned into the requirement specs they ask for.

A notebook asks for packages in shell syntax (``!pip install -q "ccxt>=4" 2>&1``), so the line
is split the way a POSIX shell would split it, the pip (or ``uv pip``) program is recognised in
its usual spellings, and the install arguments are sorted into three kinds: flags that only
change verbosity or reinstall behaviour are dropped; requirement specs are kept; options that
change where code comes from (an index, a requirements file, an editable path) are kept
verbatim, as is any option not known here. Refusing is the policy's job (:mod:`.policy`): it
sees those raw words and names them in its refusal, where dropping them here would hide from
the user what the notebook asked for.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Callable
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement

from .popular import canonical_name

__all__ = [
    "STRICT_NAME",
    "install_specs",
    "parse_spec",
    "pip_install_arguments",
    "simple_commands",
]

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
# A distribution name as PEP 508 spells it, without the leniency ``packaging`` allows.
STRICT_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")


def parse_spec(spec: str) -> tuple[str | None, bool]:
    """(canonical name or None, whether ``spec`` is a plain name + optional specifier).

    Only a plain spec may have its version filled in from the promoting environment; extras,
    markers, URLs and paths stay exactly as written, for the policy to judge.
    """
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
        and bool(STRICT_NAME.match(requirement.name))
        and "/" not in spec
        and "\\" not in spec
    )
    return canonical_name(requirement.name), plain


def simple_commands(line: str, index: int, warn: Callable[[str], None]) -> list[list[str]]:
    """Split one shell line into simple commands, dropping redirections as the shell would.

    ``pip install ccxt>=4`` installs ``ccxt`` into a file named ``=4``: the shell takes the
    comparison for a redirection, so this does too, and ``warn`` tells cell ``index``'s author
    how to quote it.
    """
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
                    warn(
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


def pip_install_arguments(command: list[str]) -> list[str] | None:
    """The arguments after ``install`` when ``command`` runs pip (or uv pip); else None.

    Environment assignments and ``sudo``-like prefixes are skipped because the pip behind them
    still installs what the notebook needs; any other program is not an install at all.
    """
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


def install_specs(arguments: list[str]) -> list[str]:
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
