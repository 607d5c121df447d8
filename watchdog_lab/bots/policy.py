"""Which requested packages a bot's environment may receive, decided before the installer runs.

A notebook is code from anywhere (a colleague, a blog, an AI suggestion), and installing a
package runs its author's code next to the bot's exchange keys. So every requirement is reduced
to the one shape we can reason about, a plain registry name plus an optional version
specifier, and then checked against names that could take over the environment or the
installer (the denylist) and names that imitate popular ones (the typosquat check). Anything
else an installer would accept (URLs, paths, VCS links, options, extras, markers) is refused,
because each is a way to fetch code from somewhere the name does not describe.

Rules, in the order they are applied (``PackageRefused.rule`` carries the name):

``empty``, ``non-ascii``, ``whitespace``, ``option``, ``unresolved``, ``vcs``, ``url``,
``path``, ``too-long``, ``invalid``, ``extras``, ``marker``, ``denylist``, ``typosquat``.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from enum import Enum

from packaging.requirements import InvalidRequirement, Requirement

from .errors import PackageRefused
from .popular import PopularPackages, canonical_name, load_popular, lookalike_key


class Rule(str, Enum):
    """The rule a refusal cites; stable strings for the UI, the CLI and the audit log."""

    EMPTY = "empty"
    NON_ASCII = "non-ascii"
    WHITESPACE = "whitespace"
    OPTION = "option"
    UNRESOLVED = "unresolved"
    VCS = "vcs"
    URL = "url"
    PATH = "path"
    TOO_LONG = "too-long"
    INVALID = "invalid"
    EXTRAS = "extras"
    MARKER = "marker"
    DENYLIST = "denylist"
    TYPOSQUAT = "typosquat"


# Installers, environment managers, build front ends and back ends, interpreter start-up hooks
# (anything that can replace the tooling that builds the environment, or run code at every
# interpreter start), and our own SDK, which the environment provides from this installation:
# a same-named package from the index would replace the code that holds the bot's keys.
DEFAULT_DENYLIST: frozenset[str] = frozenset(
    {
        "build",
        "conda",
        "distribute",
        "easy-install",
        "ensurepip",
        "flit",
        "flit-core",
        "hatch",
        "hatchling",
        "mamba",
        "micromamba",
        "pdm",
        "pdm-backend",
        "pip",
        "pip-run",
        "pip-tools",
        "pipenv",
        "pipx",
        "pkg-resources",
        "poetry",
        "poetry-core",
        "setuptools",
        "site",
        "sitecustomize",
        "twine",
        "usercustomize",
        "uv",
        "uv-build",
        "venv",
        "virtualenv",
        "watchdog-lab",
        "wheel",
    }
)

DEFAULT_TYPOSQUAT_RANK_RATIO: float | None = None
MAX_NAME_LENGTH = 100
MAX_SPEC_LENGTH = 300
ALLOW_FLAG = "--allow-package"

# PEP 508 names, strictly: ``packaging`` itself is more lenient (it accepts ``pip_``).
_VALID_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")
_VCS_PREFIX = re.compile(r"^(git|hg|svn|bzr)\+", re.IGNORECASE)
_VCS_ANYWHERE = re.compile(r"(^|[\s@=])(git|hg|svn|bzr)\+[a-z]+:", re.IGNORECASE)
_DRIVE = re.compile(r"^[A-Za-z]:")
# Installers read an argument ending like an archive as a local file, whatever PEP 508 says.
_ARCHIVE_SUFFIXES = (".whl", ".zip", ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz", ".tar.xz",
                     ".txz", ".egg")  # fmt: skip
_LEADING_NAME = re.compile(r"[a-z0-9._-]*")
_SHELL_EXPANSION = ("{", "}", "$", "`", "%")
_EDIT_ALPHABET = string.ascii_lowercase + string.digits + "-"
_URL_USERINFO = re.compile(r"(?<=://)[^/@\s]+@")
_URL_QUERY = re.compile(r"(://[^\s?]*)\?[^\s#]*")


def redact_spec(spec: str) -> str:
    """``spec`` with URL credentials and query strings masked.

    A refused spec is shown to the user and written to logs, and URLs in requirement lines
    often carry a token (``https://user:TOKEN@host/…``, signed ``?X-Amz-Signature=…``).
    The masked text is still refused for the same reason, so nothing is lost by masking early.
    """
    masked = _URL_USERINFO.sub("***@", spec)
    return _URL_QUERY.sub(r"\1?***", masked)


def edit_variants(name: str) -> set[str]:
    """Every string one Damerau-Levenshtein edit from ``name`` over ``[a-z0-9-]``.

    About 75 strings per character: looking each up in a dict is what makes the typosquat
    check cost microseconds instead of a scan of the whole popular list per requirement.
    """
    out: set[str] = set()
    for i in range(len(name) + 1):
        head, tail = name[:i], name[i:]
        for letter in _EDIT_ALPHABET:
            out.add(head + letter + tail)
        if tail:
            out.add(head + tail[1:])
            for letter in _EDIT_ALPHABET:
                out.add(head + letter + tail[1:])
        if len(tail) > 1:
            out.add(head + tail[1] + tail[0] + tail[2:])
    out.discard(name)
    return out


@dataclass(frozen=True)
class Approved:
    """A requirement the policy accepted, rebuilt from its parts.

    Install ``requirement``, never the text that was checked: the rebuilt string has a
    canonical name and a parsed specifier, so no installer can read it as anything else.
    """

    name: str
    specifier: str = ""

    @property
    def requirement(self) -> str:
        return f"{self.name}{self.specifier}"

    def __str__(self) -> str:
        return self.requirement


@dataclass(frozen=True)
class PolicyDecision:
    """The verdict on a whole set of requirements: promote shows every refusal at once."""

    approved: tuple[Approved, ...] = ()
    refused: tuple[PackageRefused, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.refused

    def messages(self) -> list[str]:
        """One actionable line per refused package."""
        return [str(refusal) for refusal in self.refused]


@dataclass(frozen=True)
class _Neighbour:
    name: str
    rank: int  # 0: a denylisted name, more "popular" than anything


class DependencyPolicy:
    """The rules one promote is checked against; build it once, reuse it for many checks.

    ``denylist`` names are refused always, even when allowed: they are refused for what they
    are, not for what they resemble. ``allow`` (and ``explicitly_allowed`` per check) only
    lifts the typosquat rule, for a real package that happens to sit one edit from a popular
    one. ``wheels_only`` is not checked here; the environment builder reads it and tells the
    installer to refuse source builds, which would run arbitrary ``setup.py`` code.

    ``typosquat_rank_ratio`` decides what a name on the popular list itself may look like:
    ``None`` (default) trusts every listed name, since being among the most downloaded
    distributions is itself evidence of a real project (listed pairs such as ``boto``/
    ``boto3``, ``attr``/``attrs`` or ``pyaml``/``pyyaml`` are all genuine); a number ``N``
    refuses a listed name one edit from a name ranked more than ``N`` times better. Names not
    on the list are always checked.
    """

    def __init__(
        self,
        denylist: Iterable[str] = DEFAULT_DENYLIST,
        allow: Iterable[str] = (),
        typosquat_rank_ratio: float | None = DEFAULT_TYPOSQUAT_RANK_RATIO,
        wheels_only: bool = True,
        popular: PopularPackages | None = None,
    ) -> None:
        if typosquat_rank_ratio is not None and not typosquat_rank_ratio >= 1:
            raise ValueError("typosquat_rank_ratio must be a number >= 1, or None")
        self._denylist = frozenset(canonical_name(n) for n in denylist)
        self._denied_lookalikes = {lookalike_key(n): n for n in sorted(self._denylist)}
        self._allow = frozenset(canonical_name(n) for n in allow)
        self._ratio = typosquat_rank_ratio
        self._wheels_only = wheels_only
        self._popular = popular if popular is not None else load_popular()

    @property
    def denylist(self) -> frozenset[str]:
        return self._denylist

    @property
    def allow(self) -> frozenset[str]:
        return self._allow

    @property
    def typosquat_rank_ratio(self) -> float | None:
        return self._ratio

    @property
    def wheels_only(self) -> bool:
        return self._wheels_only

    @property
    def popular(self) -> PopularPackages:
        return self._popular

    def __repr__(self) -> str:
        return (
            f"DependencyPolicy(denylist={len(self._denylist)} names, allow={sorted(self._allow)}, "
            f"typosquat_rank_ratio={self._ratio}, wheels_only={self._wheels_only})"
        )

    # -- public API ------------------------------------------------------------------------

    def check(self, requirement_spec: str, explicitly_allowed: Iterable[str] = ()) -> Approved:
        """Approve one requirement or raise :class:`PackageRefused` naming the rule."""
        requirement = self._parse(requirement_spec)
        name = canonical_name(requirement.name)
        self._check_denylist(requirement_spec, name)
        allowed = self._allow | {canonical_name(n) for n in explicitly_allowed}
        if name not in allowed:
            self._check_typosquat(requirement_spec, requirement.name, name)
        return Approved(name=name, specifier=str(requirement.specifier))

    def check_all(
        self, requirement_specs: Iterable[str], explicitly_allowed: Iterable[str] = ()
    ) -> PolicyDecision:
        """Check every spec; collect refusals instead of stopping at the first one."""
        allowed = frozenset(explicitly_allowed)
        approved: list[Approved] = []
        refused: list[PackageRefused] = []
        for spec in requirement_specs:
            try:
                approved.append(self.check(spec, allowed))
            except PackageRefused as refusal:
                refused.append(refusal)
        return PolicyDecision(approved=tuple(approved), refused=tuple(refused))

    def check_resolved(
        self,
        packages: Iterable[tuple[str, str, Iterable[str]]],
        explicitly_allowed: Iterable[str] = (),
    ) -> PolicyDecision:
        """Check every distribution a resolution will install, not only the requested ones.

        ``packages`` are ``(name, version, requested packages that pull it in)``. The
        denylist and the typosquat rule apply to each, so a dependency cannot bring in what a
        notebook may not ask for. A name that is neither on the popular list nor near a name
        on it passes: a requested package vouches for its own dependencies, and refusing the
        long tail would refuse most real environments; every new distribution still reaches
        the bot's log and the audit log.
        """
        allowed = frozenset(explicitly_allowed)
        approved: list[Approved] = []
        refused: list[PackageRefused] = []
        for name, version, pulled_in_by in packages:
            spec = f"{name}=={version}"
            try:
                approved.append(self.check(spec, allowed))
            except PackageRefused as refusal:
                via = tuple(sorted(set(pulled_in_by) - {canonical_name(name)}))
                reason = refusal.reason
                if via:
                    reason = f"pulled in by {', '.join(via)}: {reason}"
                refused.append(PackageRefused(spec, refusal.rule, reason, via))
        return PolicyDecision(approved=tuple(approved), refused=tuple(refused))

    # -- rules -----------------------------------------------------------------------------

    def _parse(self, spec: str) -> Requirement:
        shown = redact_spec(spec)
        text = spec.strip(" ")

        def refuse(rule: Rule, reason: str) -> PackageRefused:
            return PackageRefused(shown, rule.value, reason)

        if not text:
            raise refuse(Rule.EMPTY, "an empty requirement names no package.")
        if not text.isascii():
            raise refuse(
                Rule.NON_ASCII,
                "package names are ASCII; a non-ASCII character here can only be a lookalike "
                "of a real name. Retype the name.",
            )
        if any(not ch.isprintable() for ch in text):
            raise refuse(
                Rule.WHITESPACE,
                "tabs, line breaks and control characters can smuggle a second argument "
                "to the installer. Write one plain requirement per entry.",
            )
        if text.startswith("-"):
            raise refuse(
                Rule.OPTION,
                "installer options (-e, -r, --index-url, ...) change where code comes from. "
                "Name packages from the default index only.",
            )
        if any(ch in text for ch in _SHELL_EXPANSION):
            raise refuse(
                Rule.UNRESOLVED,
                "a variable expanded at run time cannot be checked before installing. "
                "Write the package name literally (e.g. in a cell tagged 'requirements').",
            )
        if _VCS_PREFIX.match(text) or _VCS_ANYWHERE.search(text):
            raise refuse(
                Rule.VCS,
                "version-control links install unreviewed code from a repository. "
                "Use a released package from the index.",
            )
        if "://" in text or "@" in text:
            raise refuse(
                Rule.URL,
                "a URL installs whatever that address serves, not the named package. "
                "Use a plain name and version from the index.",
            )
        lowered = text.lower()
        if (
            text[0] in "./~\\"
            or "/" in text
            or "\\" in text
            or lowered.startswith("file:")
            or _DRIVE.match(text)
            or _leading_name(lowered).endswith(_ARCHIVE_SUFFIXES)
        ):
            raise refuse(
                Rule.PATH,
                "local files and folders are not reviewable packages. "
                "Publish to the index, or use a released package.",
            )
        if len(text) > MAX_SPEC_LENGTH:
            raise refuse(Rule.TOO_LONG, f"a requirement is at most {MAX_SPEC_LENGTH} characters.")
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            first_line = str(exc).splitlines()[0] if str(exc) else "unparseable"
            raise refuse(
                Rule.INVALID,
                f"not a 'name' or 'name<version specifier>' requirement ({first_line}).",
            ) from None
        if len(requirement.name) > MAX_NAME_LENGTH:
            raise refuse(Rule.TOO_LONG, f"package names are at most {MAX_NAME_LENGTH} characters.")
        if not _VALID_NAME.match(requirement.name):
            raise refuse(
                Rule.INVALID,
                "a package name is letters, digits, '.', '_' and '-', starting and ending with "
                "a letter or digit.",
            )
        if requirement.url:
            raise refuse(Rule.URL, "a 'name @ URL' requirement installs from that address.")
        if requirement.extras:
            raise refuse(
                Rule.EXTRAS,
                "extras pull in further packages that are never checked themselves. "
                f"List the packages you need by name instead of {requirement.name}[...].",
            )
        if requirement.marker is not None:
            raise refuse(
                Rule.MARKER,
                "environment markers make what is installed depend on the machine. "
                "Drop the '; ...' part.",
            )
        return requirement

    def _check_denylist(self, spec: str, name: str) -> None:
        shown = redact_spec(spec)
        if name in self._denylist:
            raise PackageRefused(
                shown,
                Rule.DENYLIST.value,
                f"'{name}' can take over the environment or its installer, so bots never "
                "install it (the environment provides what a bot needs to run).",
            )
        lookalike = self._denied_lookalikes.get(lookalike_key(name))
        if lookalike is not None:
            raise PackageRefused(
                shown,
                Rule.DENYLIST.value,
                f"'{name}' is spelled to look like '{lookalike}', which bots never install.",
            )

    def _check_typosquat(self, spec: str, display: str, name: str) -> None:
        target = self._typosquat_target(name)
        if target is None:
            return
        own_rank = self._popular.rank(name)
        if target.rank == 0:
            likeness = f"looks like '{target.name}', a name bots never install"
        else:
            standing = "is not among" if own_rank is None else f"ranks {own_rank} among"
            likeness = (
                f"looks like '{target.name}' (download rank {target.rank}) and "
                f"{standing} the most downloaded packages"
            )
        raise PackageRefused(
            redact_spec(spec),
            Rule.TYPOSQUAT.value,
            f"{likeness}; did you mean '{target.name}'? If '{display}' is really what you "
            f"want, allow it with {ALLOW_FLAG} {display}.",
        )

    def _typosquat_target(self, name: str) -> _Neighbour | None:
        """The most popular name ``name`` could be imitating, if the rule says it is one."""
        ranks = self._popular.canonical_ranks
        own_rank = ranks.get(name)
        ratio = self._ratio
        if own_rank is not None and ratio is None:
            return None
        best: _Neighbour | None = None
        for candidate in self._neighbours(name):
            rank = 0 if candidate in self._denylist else ranks.get(candidate)
            if rank is None:
                continue
            if own_rank is not None and ratio is not None and own_rank <= ratio * rank:
                continue
            if best is None or (rank, candidate) < (best.rank, best.name):
                best = _Neighbour(candidate, rank)
        return best

    def _neighbours(self, name: str) -> Iterator[str]:
        """Known names one edit from ``name``, or indistinguishable from it at a glance."""
        ranks = self._popular.canonical_ranks
        for variant in edit_variants(name):
            if variant in ranks or variant in self._denylist:
                yield variant
        for lookalike in self._popular.lookalikes(name):
            if lookalike != name:
                yield lookalike


def _leading_name(text: str) -> str:
    match = _LEADING_NAME.match(text)
    return match.group() if match else ""
