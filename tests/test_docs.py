"""The docs site: it builds with warnings as errors, and its references cover the code.

The configuration, command-line, ``%wd``, REST and connection-kind references are generated
from the code by ``docs/_ext/watchdog_docs``; these tests build the site once, as ``make docs``
does, and check the built pages against the code itself, so a setting, command, route, magic
or kind that is not on its page (or a page that breaks the build) fails here.
"""

from __future__ import annotations

import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from traitlets import Float, Int, TraitError
from traitlets.config import Config

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
sys.path.insert(0, str(DOCS / "_ext"))

from watchdog_docs import (  # noqa: E402
    UnknownReference,
    aifix_ref,
    cli_ref,
    config_ref,
    expand,
    kinds_ref,
    lab_settings_ref,
    magics_ref,
    rest_ref,
)

from watchdog_lab.doctor import DoctorReport  # noqa: E402
from watchdog_lab.settings import WatchdogLab  # noqa: E402

#: The call `make docs` makes (the Makefile's docs target), with the output folders apart.
SPHINX_BUILD = (sys.executable, "-m", "sphinx", "-b", "html", "-E", "-W", "--keep-going", "-q")
#: A build takes a few seconds; far longer means something hangs (a network fetch, say).
BUILD_TIMEOUT = 240


class _Text(HTMLParser):
    """A page's visible text (the body's, scripts and styles left out)."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: Any) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def page_text(html: Path, name: str) -> str:
    parser = _Text()
    parser.feed((html / f"{name}.html").read_text(encoding="utf-8"))
    return " ".join("".join(parser.parts).split())


def plain(text: str) -> str:
    """Help or summary text as a page shows it: code spans lose their backticks."""
    return " ".join(text.replace("`", "").split())


@pytest.fixture(scope="module")
def html(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The site, built as ``make docs`` builds it: every page re-read, warnings as errors."""
    out = tmp_path_factory.mktemp("docs")
    done = subprocess.run(
        [*SPHINX_BUILD, "-d", str(out / "doctrees"), str(DOCS), str(out / "html")],
        capture_output=True,
        text=True,
        timeout=BUILD_TIMEOUT,
        check=False,
        cwd=ROOT,
    )
    assert done.returncode == 0, f"the docs build failed:\n{done.stdout}\n{done.stderr}"
    return out / "html"


def test_the_site_builds_with_warnings_as_errors_and_no_marker_is_left(html: Path) -> None:
    for page in html.glob("*.html"):
        assert "watchdog-docs:" not in page.read_text(encoding="utf-8"), page.name


def test_every_setting_is_in_the_configuration_reference_with_its_help(html: Path) -> None:
    text = page_text(html, "configuration")
    for name, trait in config_ref.settings().items():
        assert f"c.WatchdogLab.{name}" in text, name
        assert trait.help.strip(), f"c.WatchdogLab.{name} has no help to document"
        assert plain(trait.help) in text, name


def test_the_documented_bounds_of_each_integer_setting_are_its_validators(html: Path) -> None:
    """The page's range is what the check accepts: both ends pass, one step beyond fails."""

    def accepted(name: str, value: object) -> bool:
        try:
            WatchdogLab(config=Config({"WatchdogLab": {name: value}}))
        except TraitError:
            return False
        return True

    text = page_text(html, "configuration")
    checked = 0
    for name, trait in config_ref.settings().items():
        if not isinstance(trait, Int) or isinstance(trait, Float):
            continue
        shown = config_ref.accepted_range(name, trait)
        if shown is None:
            continue
        low, _, rest = shown.partition(" to ")
        high = int(rest.split()[0])
        assert f"Accepted: {shown}" in text, name
        assert accepted(name, int(low)) and accepted(name, high), name
        assert not accepted(name, int(low) - 1) and not accepted(name, high + 1), name
        checked += 1
    assert checked >= 5  # the Argon2id costs, AI Fix's retries and payload, backups, sync


def test_every_jupyterlab_setting_is_in_the_configuration_reference(html: Path) -> None:
    text = page_text(html, "configuration")
    found = lab_settings_ref.settings()
    assert "logBufferLines" in found
    for name, spec in found.items():
        assert name in text and plain(spec["description"]) in text, name


def test_every_cli_command_and_argument_is_in_the_cli_reference(html: Path) -> None:
    text = page_text(html, "cli")
    commands = cli_ref.commands()
    assert len(commands) > 30
    for command in commands[1:]:
        assert command.help, f"watchdog-lab {' '.join(command.path)} has no help"
        assert " ".join(command.path) in text, command.path
        for action in command.parser._actions:
            for option in action.option_strings:
                assert option in text, (command.path, option)


def test_every_openapi_path_and_operation_is_in_the_rest_reference(html: Path) -> None:
    text = page_text(html, "rest-api")
    operations = rest_ref.operations(rest_ref.load())
    assert len(operations) > 50
    for path, method, operation in operations:
        assert path in text, path
        assert f"{method} {plain(operation['summary'])}" in text, (method, path)
        for status in operation["responses"]:
            assert str(status) in text


def test_every_magic_is_in_the_magics_page(html: Path) -> None:
    text = page_text(html, "magics-and-panel")
    entries = magics_ref.commands()
    assert len(entries) > 10
    for entry in entries:
        assert f"%wd {entry.name}" in text and entry.usage in text, entry.name


def test_every_connection_kind_and_field_is_on_the_exchanges_page(html: Path) -> None:
    text = page_text(html, "exchanges")
    for kind in kinds_ref.kinds():
        assert (kind.usage or kind.name) in text, kind.name
        for spec in kind.fields:
            assert spec.name in text, (kind.name, spec.name)
        for helper in kind.helpers:
            assert f"conn.{helper}" in text, (kind.name, helper)


def test_the_ai_fix_page_shows_the_real_request_body_with_the_vault_value_redacted(
    html: Path,
) -> None:
    text = page_text(html, "ai-fix")
    body, sha256 = aifix_ref.example_body()
    assert b"numpy" not in body  # in the environment, not imported by the cell: not sent
    assert aifix_ref.EXAMPLE_SECRET not in text
    assert "[REDACTED:Exchange.api_key_id]" in text
    assert sha256 in text
    assert '"tool_choice"' in text and "propose_fix" in text


def test_troubleshooting_names_every_finding_doctor_reports() -> None:
    """A new check in doctor's report must be explained there (the page is written by hand)."""
    page = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    for field in DoctorReport.model_fields:
        assert f"`{field}`" in page, field


def test_a_page_naming_an_unknown_reference_fails_the_build() -> None:
    with pytest.raises(UnknownReference, match="configuraton"):
        expand("# Settings\n\n<!-- watchdog-docs: configuraton -->\n")
