"""The dependency policy: what a bot's environment may receive, refused before install."""

from __future__ import annotations

import pytest

from watchdog_lab.bots.errors import PackageRefused
from watchdog_lab.bots.policy import (
    DEFAULT_DENYLIST,
    Approved,
    DependencyPolicy,
    Rule,
    edit_variants,
    redact_spec,
)
from watchdog_lab.bots.popular import PopularPackages, canonical_name, load_popular


@pytest.fixture(scope="module")
def policy() -> DependencyPolicy:
    return DependencyPolicy()


def refusal(policy: DependencyPolicy, spec: str, **kwargs: object) -> PackageRefused:
    with pytest.raises(PackageRefused) as caught:
        policy.check(spec, **kwargs)  # type: ignore[arg-type]
    return caught.value


# -- accepted ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    [
        "requests",
        "numpy",
        "pandas",
        "scikit-learn",
        "python-dateutil",
        "kalshi-python",  # not on the popular list, and one edit from nothing on it
        "cryptofeed",
        "panda",  # one edit from pandas, but itself on the list
        "boto",
        "attr",
        "PyYAML",
        "websocket-client",
        "TA-Lib",
    ],
)
def test_real_package_names_are_approved(policy: DependencyPolicy, name: str) -> None:
    assert policy.check(name) == Approved(name=canonical_name(name), specifier="")


@pytest.mark.parametrize(
    ("spec", "requirement"),
    [
        ("requests==2.31.0", "requests==2.31.0"),
        ("numpy>=1.20,<2", "numpy<2,>=1.20"),
        ("torch==2.1.0+cu118", "torch==2.1.0+cu118"),
        ("pandas ~= 2.2", "pandas~=2.2"),
        ("requests (>=2.0)", "requests>=2.0"),
        ("  Scikit_Learn >= 1.4  ", "scikit-learn>=1.4"),
    ],
)
def test_approved_requirement_is_rebuilt_from_canonical_name_and_specifier(
    policy: DependencyPolicy, spec: str, requirement: str
) -> None:
    approved = policy.check(spec)
    assert approved.requirement == requirement
    assert str(approved) == requirement


def test_name_of_exactly_100_characters_is_approved(policy: DependencyPolicy) -> None:
    assert policy.check("q" * 100).name == "q" * 100


# -- refused by shape ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "rule"),
    [
        ("requests @ https://evil.example/x.whl", Rule.URL),
        ("https://evil.example/requests-2.0-py3-none-any.whl", Rule.URL),
        ("file:///home/me/pkg", Rule.URL),
        ("-e git+https://github.com/evil/pkg", Rule.OPTION),
        ("--index-url=http://evil.example/simple", Rule.OPTION),
        ("--extra-index-url http://evil.example/simple", Rule.OPTION),
        ("-r requirements.txt", Rule.OPTION),
        ("git+https://github.com/evil/pkg", Rule.VCS),
        ("requests==2.0 git+https://github.com/evil/pkg", Rule.VCS),
        ("hg+http://hg.example/repo", Rule.VCS),
        ("../pkg", Rule.PATH),
        (".", Rule.PATH),
        ("/abs/path", Rule.PATH),
        ("~/pkg", Rule.PATH),
        ("\\\\server\\share\\pkg", Rule.PATH),
        ("C:\\pkgs\\pkg", Rule.PATH),
        ("file:pkg", Rule.PATH),
        ("sub/dir", Rule.PATH),
        ("evil.whl", Rule.PATH),
        ("evil-1.0.tar.gz", Rule.PATH),
        ("numpy[dev]", Rule.EXTRAS),
        ("requests[socks,security]>=2", Rule.EXTRAS),
        ('numpy; os_name=="nt"', Rule.MARKER),
        ("numpy>=1 ; python_version<'4'", Rule.MARKER),
        ("requests\n--index-url http://evil.example", Rule.WHITESPACE),
        ("req\tuests", Rule.WHITESPACE),
        ("requests\x00", Rule.WHITESPACE),
        ("r\u0435quests", Rule.NON_ASCII),  # Cyrillic e
        ("requests\u200b", Rule.NON_ASCII),  # zero-width space
        ("num\u00a0py", Rule.NON_ASCII),  # no-break space
        ("", Rule.EMPTY),
        ("   ", Rule.EMPTY),
        ("q" * 101, Rule.TOO_LONG),
        ("q" * 301, Rule.TOO_LONG),
        ("{pkg}", Rule.UNRESOLVED),
        ("$PACKAGE", Rule.UNRESOLVED),
        ("pip_", Rule.INVALID),
        ("_private", Rule.INVALID),
        ("num py", Rule.INVALID),
        ("requests==", Rule.INVALID),
        ("requests>=>2", Rule.INVALID),
    ],
)
def test_anything_but_a_plain_name_and_version_is_refused(
    policy: DependencyPolicy, spec: str, rule: Rule
) -> None:
    refused = refusal(policy, spec)
    assert refused.rule == rule.value
    assert f"({rule.value})" in str(refused)


def test_refusal_names_the_package_it_refused(policy: DependencyPolicy) -> None:
    refused = refusal(policy, "numpy[dev]")
    assert refused.package == "numpy[dev]"
    assert "numpy[dev]" in str(refused)


def test_refusal_never_shows_url_credentials_or_signed_query(policy: DependencyPolicy) -> None:
    refused = refusal(policy, "pkg @ https://alice:hunter2-token@host.example/p.whl?sig=s3cr3t")
    for text in (str(refused), refused.package, repr(refused)):
        assert "hunter2-token" not in text
        assert "s3cr3t" not in text
    assert "host.example" in refused.package  # still recognisable


def test_redact_spec_keeps_text_without_urls_unchanged() -> None:
    assert redact_spec("requests>=2") == "requests>=2"
    assert redact_spec("--index-url=https://u:p@h/simple") == "--index-url=https://***@h/simple"


# -- denylist ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "spec",
    [
        "pip",
        "PIP",
        "Pip",
        "pip==24.0",
        "setuptools",
        "SetupTools",
        "wheel",
        "uv",
        "virtualenv",
        "pkg_resources",
        "pkg.resources",
        "sitecustomize",
        "watchdog-lab",
        "Watchdog_Lab",
        "p.i.p",  # PEP 503 keeps it distinct from pip; PyPI's lookalike rule does not
        "set_up_tools",  # normalises to set-up-tools, spelled to pass for setuptools
        "setup-tools",
        "virtual.env",
    ],
)
def test_names_that_can_take_over_the_environment_are_refused(
    policy: DependencyPolicy, spec: str
) -> None:
    assert refusal(policy, spec).rule == Rule.DENYLIST.value


def test_denylist_wins_over_both_allow_lists() -> None:
    policy = DependencyPolicy(allow={"pip", "setuptools"})
    assert refusal(policy, "pip").rule == Rule.DENYLIST.value
    assert refusal(policy, "setuptools", explicitly_allowed={"setuptools"}).rule == "denylist"


def test_denylist_is_configurable_and_compared_after_normalisation() -> None:
    policy = DependencyPolicy(denylist={"Some_Package"})
    assert refusal(policy, "some.package").rule == Rule.DENYLIST.value
    assert policy.check("pip").name == "pip"  # a custom denylist replaces the default one


def test_default_denylist_can_be_extended() -> None:
    policy = DependencyPolicy(denylist=DEFAULT_DENYLIST | {"requests"})
    assert refusal(policy, "requests").rule == Rule.DENYLIST.value
    assert refusal(policy, "pip").rule == Rule.DENYLIST.value


# -- typosquats ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "meant"),
    [
        ("reqeusts", "requests"),  # transposition
        ("requets", "requests"),  # deletion
        ("requestss", "requests"),  # insertion
        ("numpi", "numpy"),  # substitution
        ("pandsa", "pandas"),
        ("scikitlearn", "scikit-learn"),  # a missing separator is one edit too
        ("python_dateutils", "python-dateutil"),
        ("nunpy==1.26", "numpy"),
        ("pi11ow", "pillow"),  # confusable characters, PyPI's lookalike rule
        ("sitecustomise", "sitecustomize"),  # one edit from a denylisted name
    ],
)
def test_name_one_edit_from_a_popular_name_is_refused_as_typosquat(
    policy: DependencyPolicy, spec: str, meant: str
) -> None:
    refused = refusal(policy, spec)
    assert refused.rule == Rule.TYPOSQUAT.value
    assert f"did you mean '{meant}'?" in str(refused)
    assert "--allow-package" in str(refused)


def test_typosquat_refusal_is_lifted_by_explicit_allowance(policy: DependencyPolicy) -> None:
    assert policy.check("Reqeusts==1.0", explicitly_allowed={"reqeusts"}).requirement == (
        "reqeusts==1.0"
    )


def test_explicit_allowance_covers_only_the_named_package(policy: DependencyPolicy) -> None:
    refused = refusal(policy, "reqeusts", explicitly_allowed={"numpi"})
    assert refused.rule == Rule.TYPOSQUAT.value


def test_policy_allow_list_lifts_typosquat_refusal() -> None:
    policy = DependencyPolicy(allow={"NUMPI"})
    assert policy.check("numpi").name == "numpi"
    assert refusal(policy, "pandsa").rule == Rule.TYPOSQUAT.value


def test_allowance_never_lifts_a_shape_refusal(policy: DependencyPolicy) -> None:
    refused = refusal(policy, "numpi[dev]", explicitly_allowed={"numpi"})
    assert refused.rule == Rule.EXTRAS.value


def test_typosquat_names_the_most_popular_neighbour() -> None:
    popular = PopularPackages({"abcd": 50, "abce": 2, "abcf": 9})
    refused = refusal(DependencyPolicy(popular=popular), "abcx")
    assert "did you mean 'abce'?" in str(refused)


def test_name_two_edits_from_every_popular_name_is_approved() -> None:
    popular = PopularPackages({"requests": 1})
    assert DependencyPolicy(popular=popular).check("rqeuestss").name == "rqeuestss"


def test_listed_names_are_trusted_by_default_even_next_to_a_far_more_popular_one(
    policy: DependencyPolicy,
) -> None:
    popular = policy.popular
    assert popular.rank("panda") > 20 * popular.rank("pandas")  # the data behind the test
    assert policy.check("panda").name == "panda"


def test_rank_ratio_refuses_listed_names_far_less_popular_than_a_neighbour() -> None:
    refused = refusal(DependencyPolicy(typosquat_rank_ratio=20), "panda")
    assert refused.rule == Rule.TYPOSQUAT.value
    assert "did you mean 'pandas'?" in str(refused)


@pytest.mark.parametrize(("rank", "refused"), [(199, False), (200, False), (201, True)])
def test_rank_ratio_boundary_is_more_than_n_times_worse(rank: int, refused: bool) -> None:
    popular = PopularPackages({"alpha": 10, "alphb": rank})
    policy = DependencyPolicy(popular=popular, typosquat_rank_ratio=20)
    if refused:
        assert refusal(policy, "alphb").rule == Rule.TYPOSQUAT.value
    else:
        assert policy.check("alphb").name == "alphb"


@pytest.mark.parametrize("ratio", [0, 0.5, -1])
def test_rank_ratio_below_one_is_rejected(ratio: float) -> None:
    with pytest.raises(ValueError, match="typosquat_rank_ratio"):
        DependencyPolicy(typosquat_rank_ratio=ratio)


def test_no_popular_name_is_refused_as_a_typosquat_of_another(policy: DependencyPolicy) -> None:
    """The strongest false-positive guard: every listed name passes except the denylisted."""
    refused: dict[str, str] = {}
    for name in load_popular():
        try:
            policy.check(name)
        except PackageRefused as exc:
            refused[name] = exc.rule
    assert set(refused.values()) <= {Rule.DENYLIST.value}
    assert set(refused) == {name for name in load_popular() if name in policy.denylist}


def test_edit_variants_are_exactly_one_damerau_levenshtein_edit_away() -> None:
    variants = edit_variants("abc")
    assert {"bc", "ac", "ab"} <= variants  # deletions
    assert {"xabc", "abxc", "abcx", "a-bc"} <= variants  # insertions
    assert {"xbc", "axc", "abx"} <= variants  # substitutions
    assert {"bac", "acb"} <= variants  # adjacent transpositions
    assert "abc" not in variants
    assert not {"ba", "cab", "xyabc", "abcxy"} & variants  # two edits away


# -- flags and whole sets ------------------------------------------------------------------


def test_wheels_only_is_on_by_default_and_configurable() -> None:
    assert DependencyPolicy().wheels_only is True
    assert DependencyPolicy(wheels_only=False).wheels_only is False


def test_check_all_collects_every_refusal_and_every_approval(policy: DependencyPolicy) -> None:
    decision = policy.check_all(
        ["requests==2.31.0", "pip", "reqeusts", "numpy[dev]", "pandas"],
        explicitly_allowed=set(),
    )
    assert [a.requirement for a in decision.approved] == ["requests==2.31.0", "pandas"]
    assert [r.rule for r in decision.refused] == ["denylist", "typosquat", "extras"]
    assert not decision.ok
    messages = decision.messages()
    assert len(messages) == 3
    assert all(name in " ".join(messages) for name in ("pip", "reqeusts", "numpy[dev]"))


def test_check_all_of_clean_specs_is_ok(policy: DependencyPolicy) -> None:
    decision = policy.check_all(["reqeusts"], explicitly_allowed={"reqeusts"})
    assert decision.ok
    assert decision.approved == (Approved("reqeusts"),)
