"""The pattern catalogue: each rule with texts it must redact and texts it must leave alone.

Tokens are assembled at run time from their parts so that this file holds no string a secret
scanner would take for a real credential.
"""

from __future__ import annotations

import base64
import json
import random
import string

import pytest

from watchdog_lab.redact import (
    DEFAULT_PATTERNS,
    InvalidPatternError,
    PemPrivateKeyPattern,
    Redactor,
    RegexPattern,
)

_rng = random.Random(7)
ALNUM = string.ascii_letters + string.digits
DIGITS = string.digits
HEX = "0123456789abcdef"
UPPER = string.ascii_uppercase


def rand(n: int, alphabet: str = ALNUM) -> str:
    return "".join(_rng.choice(alphabet) for _ in range(n))


def pem(label: str, body_bytes: int = 300, *, end: bool = True, headers: str = "") -> str:
    b64 = base64.b64encode(_rng.randbytes(body_bytes)).decode()
    lines = [b64[i : i + 64] for i in range(0, len(b64), 64)]
    text = f"-----BEGIN {label}-----\n{headers}" + "\n".join(lines)
    return text + (f"\n-----END {label}-----" if end else "\n")


def jwt() -> str:
    def seg(obj: dict[str, object]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).decode().rstrip("=")

    header = seg({"alg": "HS256", "typ": "JWT"})
    payload = seg({"sub": "bot-7", "exp": 1893456000})
    return f"{header}.{payload}.{rand(43, ALNUM + '-_')}"


ESC_PKCS8 = json.dumps(pem("PRIVATE KEY"))[1:-1]
AWS_SECRET = rand(40, ALNUM + "/+")

# (rule, text before, the secret, text after): the secret must become [REDACTED:<rule>] and the
# rest must survive byte for byte.
TRUE_POSITIVES = [
    ("pem-private-key", "key:\n", pem("RSA PRIVATE KEY"), "\nnext line"),
    ("pem-private-key", "", pem("PRIVATE KEY"), "\n"),
    ("pem-private-key", "a ", pem("EC PRIVATE KEY", 120), " b"),
    ("pem-private-key", "", pem("OPENSSH PRIVATE KEY", 400), ""),
    ("pem-private-key", "", pem("ENCRYPTED PRIVATE KEY"), "\n"),
    ("pem-private-key", "", pem("DSA PRIVATE KEY"), "\n"),
    (
        "pem-private-key",
        "legacy ",
        pem("RSA PRIVATE KEY", headers="Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00FF\n\n"),
        "",
    ),
    ("pem-private-key", '{"private_key": "', ESC_PKCS8, '", "n": 1}'),
    ("aws-access-key-id", "id=", "AKIA" + rand(16, string.ascii_uppercase + "234567"), " ok"),
    ("aws-access-key-id", '{"AccessKeyId": "', "ASIA" + rand(16, string.ascii_uppercase), '"}'),
    ("aws-secret-access-key", "aws_secret_access_key = ", AWS_SECRET, "\n"),
    ("aws-secret-access-key", "export AWS_SECRET_ACCESS_KEY=", AWS_SECRET, ""),
    ("aws-secret-access-key", '{"SecretAccessKey": "', AWS_SECRET, '"}'),
    ("aws-secret-access-key", "creds: secretAccessKey: '", AWS_SECRET, "'"),
    ("github-token", "token ", "ghp_" + rand(36), "\n"),
    ("github-token", "", "gho_" + rand(36), ""),
    ("github-token", "x=", "ghu_" + rand(36), ";"),
    ("github-token", "(", "ghs_" + rand(36), ")"),
    ("github-token", "", "ghr_" + rand(76), ""),
    ("github-token", "GITHUB_TOKEN=", "github_pat_" + rand(22) + "_" + rand(59), ""),
    ("stripe-secret-key", "stripe: ", "sk_" + "live_" + rand(24), ""),
    ("stripe-secret-key", "", "sk_" + "test_" + rand(99), " end"),
    ("stripe-secret-key", "'", "rk_" + "live_" + rand(24), "'"),
    ("stripe-secret-key", "", "rk_" + "test_" + rand(24), ""),
    ("slack-token", "SLACK=", f"xoxb-{rand(12, DIGITS)}-{rand(13, DIGITS)}-{rand(24)}", ""),
    (
        "slack-token",
        "",
        f"xoxp-{rand(11, DIGITS)}-{rand(12, DIGITS)}-{rand(13, DIGITS)}-" + rand(32, HEX),
        "",
    ),
    ("slack-token", "", "xoxa-2-" + rand(40), ""),
    ("slack-token", "", f"xoxr-{rand(10, DIGITS)}-{rand(30)}", ""),
    ("slack-token", "", f"xoxs-{rand(10, DIGITS)}-{rand(30)}", ""),
    ("slack-token", "app ", f"xapp-1-A{rand(10, DIGITS)}-{rand(13, DIGITS)}-{rand(64, HEX)}", ""),
    (
        "slack-webhook",
        "POST https://",
        f"hooks.slack.com/services/T{rand(8, UPPER)}/B" + f"{rand(8, UPPER)}/{rand(24)}",
        " 200",
    ),
    (
        "anthropic-api-key",
        "ANTHROPIC_API_KEY=",
        "sk-" + "ant-api03-" + rand(93, ALNUM + "-_") + "AA",
        "",
    ),
    ("anthropic-api-key", "", "sk-" + "ant-admin01-" + rand(93, ALNUM + "-_") + "AA", ""),
    ("openai-api-key", "OPENAI_API_KEY=", "sk-" + "proj-" + rand(156, ALNUM + "-_"), ""),
    ("openai-api-key", "", "sk-" + "svcacct-" + rand(120, ALNUM + "-_"), "\n"),
    ("openai-api-key", "", "sk-" + "admin-" + rand(100, ALNUM + "-_"), ""),
    ("openai-api-key", "key: ", "sk-" + rand(20) + "T3Blbk" + "FJ" + rand(20), ""),
    ("jwt", "Authorization: Bearer ", jwt(), "\n"),
    ("jwt", '{"id_token":"', jwt(), '"}'),
    ("jwt", "token ", jwt(), ". Next sentence."),
]

GIT_SHA = "9fceb02d0ae598e95dc970b74767f19372d61af8"
UUID = "6f1c2a8e-3b7d-4c59-9e0a-1d2f3c4b5a69"
# (rule, text): none of these may change. "any" texts are run against the whole catalogue too.
FALSE_POSITIVES = [
    ("pem-private-key", pem("PUBLIC KEY")),
    ("pem-private-key", pem("RSA PUBLIC KEY")),
    ("pem-private-key", pem("CERTIFICATE", 600)),
    ("pem-private-key", "files start with -----BEGIN PRIVATE KEY----- and end with its END line"),
    ("pem-private-key", "-----BEGIN PRIVATE KEY----- is the header to look for"),
    ("aws-access-key-id", "AKIA keys are long-term, ASIA keys are temporary"),
    ("aws-access-key-id", "AKIA1234 is too short"),
    ("aws-access-key-id", "AKIA" + "ABCDEFGHIJKLMNOPQ" + " is one character too long"),
    ("aws-access-key-id", "XAKIA" + "ABCDEFGHIJKLMNOP" + " is inside a longer word"),
    ("aws-access-key-id", "akia" + "abcdefghijklmnop"),
    ("aws-secret-access-key", "aws_secret_access_key = <your secret access key>"),
    ("aws-secret-access-key", "aws_secret_access_key = " + AWS_SECRET[:39]),
    ("aws-secret-access-key", "checksum " + AWS_SECRET),
    ("github-token", "use a ghp_ token"),
    ("github-token", "ghp_" + rand(20)),
    ("github-token", "my_ghp_" + rand(36)),
    ("github-token", "github_pat_ prefix"),
    ("stripe-secret-key", "sk_live_ prefix"),
    ("stripe-secret-key", "pk_" + "live_" + rand(24)),
    ("stripe-secret-key", "sk_" + "live_" + "short"),
    ("stripe-secret-key", "task_" + "live_" + rand(24)),
    ("slack-token", "create an xoxb- token"),
    ("slack-token", "xoxb-not-a-token-at-all"),
    ("slack-token", "xoxb-123-short"),
    ("slack-webhook", "https://hooks.slack.com/services/"),
    ("slack-webhook", "see hooks.slack.com/help for help"),
    ("anthropic-api-key", "keys start with sk-ant-"),
    ("anthropic-api-key", "sk-" + "ant-short"),
    ("openai-api-key", "skeleton-key"),
    ("openai-api-key", "risk-management-framework-and-ask-price-task-queue"),
    ("openai-api-key", "sk-" + rand(10)),
    ("openai-api-key", "task-" + rand(40)),
    ("openai-api-key", "sk-" + "proj-"),
    ("jwt", "eyJ"),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9"),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0"),
    ("jwt", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.short"),
    ("jwt", "xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0." + rand(43)),
    ("any", f"commit {GIT_SHA} by alice"),
    ("any", f"order_id={UUID}"),
    ("any", "mail alice@example.com or visit https://example.com/a/b?c=d"),
    ("any", '{"ts":"2026-11-02T12:00:00Z","yes_bid":41,"yes_ask":43,"risk-limit":2500.0}'),
]

REDACTOR = Redactor()  # no known values: patterns only


@pytest.mark.parametrize(
    ("rule", "before", "secret", "after"),
    TRUE_POSITIVES,
    ids=[f"{t[0]}-{i}" for i, t in enumerate(TRUE_POSITIVES)],
)
def test_pattern_redacts_its_secret_and_keeps_the_context(
    rule: str, before: str, secret: str, after: str
) -> None:
    assert REDACTOR.redact(before + secret + after) == f"{before}[REDACTED:{rule}]{after}"


@pytest.mark.parametrize(
    ("rule", "text"), FALSE_POSITIVES, ids=[f"{t[0]}-{i}" for i, t in enumerate(FALSE_POSITIVES)]
)
def test_pattern_leaves_look_alikes_alone(rule: str, text: str) -> None:
    assert REDACTOR.redact(text) == text
    assert not REDACTOR.contains_secret(text)


def test_every_rule_of_the_catalogue_has_true_and_false_positive_fixtures() -> None:
    rules = {pattern.name for pattern in DEFAULT_PATTERNS}
    assert rules <= {fixture[0] for fixture in TRUE_POSITIVES}
    assert rules <= {fixture[0] for fixture in FALSE_POSITIVES}


def test_truncated_private_key_is_redacted_to_the_end_of_the_text() -> None:
    truncated = pem("RSA PRIVATE KEY", 600, end=False)
    text = "config loaded\nkey=" + truncated + "and some trailing text"
    assert REDACTOR.redact(text) == "config loaded\nkey=[REDACTED:pem-private-key]"


@pytest.mark.parametrize("rest", ["", "\n", "\r\n", "\\n", "\nMIIE"])
def test_a_text_that_ends_right_after_a_key_header_counts_as_a_truncated_key(rest: str) -> None:
    text = "key:\n-----BEGIN RSA PRIVATE KEY-----" + rest
    assert REDACTOR.redact(text) == "key:\n[REDACTED:pem-private-key]"
    [finding] = REDACTOR.findings(text)
    assert finding.open


def test_a_key_with_a_mismatched_end_line_is_treated_as_truncated() -> None:
    text = pem("RSA PRIVATE KEY", end=False) + "-----END PRIVATE KEY-----\ntail"
    assert REDACTOR.redact(text) == "[REDACTED:pem-private-key]"


def test_many_unterminated_key_headers_are_all_covered() -> None:
    block = "-----BEGIN PRIVATE KEY-----\n" + "QUJDREVGR0hJ" * 2 + "\n"
    text = "start\n" + block * 5000
    assert REDACTOR.redact(text) == "start\n[REDACTED:pem-private-key]"


def test_two_keys_in_one_text_are_redacted_separately() -> None:
    text = pem("RSA PRIVATE KEY") + "\nbetween\n" + pem("EC PRIVATE KEY")
    marker = "[REDACTED:pem-private-key]"
    assert REDACTOR.redact(text) == f"{marker}\nbetween\n{marker}"


def test_aws_secret_context_stays_readable() -> None:
    out = REDACTOR.redact(f"aws_secret_access_key={AWS_SECRET}")
    assert out == "aws_secret_access_key=[REDACTED:aws-secret-access-key]"


def test_regex_pattern_redacts_only_its_secret_group() -> None:
    pattern = RegexPattern(
        "kalshi-header",
        ("KALSHI-ACCESS-SIGNATURE",),
        r"KALSHI-ACCESS-SIGNATURE: (?P<secret>[A-Za-z0-9+/=]{20,700})",
        max_length=760,
    )
    redactor = Redactor(patterns=[pattern])
    signature = rand(344, ALNUM + "+/")
    out = redactor.redact(f"KALSHI-ACCESS-SIGNATURE: {signature}\r\n")
    assert out == "KALSHI-ACCESS-SIGNATURE: [REDACTED:kalshi-header]\r\n"


def test_a_custom_catalogue_replaces_the_default_one() -> None:
    redactor = Redactor(patterns=[PemPrivateKeyPattern()])
    token = "ghp_" + rand(36)
    assert redactor.redact(token) == token
    assert redactor.redact(pem("PRIVATE KEY")) == "[REDACTED:pem-private-key]"


@pytest.mark.parametrize("name", ["Upper", "with space", "", "x" * 80, "dot.ted"])
def test_a_rule_name_that_cannot_be_a_marker_is_refused(name: str) -> None:
    with pytest.raises(InvalidPatternError, match="rule name"):
        RegexPattern(name, ("x",), "x", max_length=1)


def test_a_pattern_without_triggers_is_refused() -> None:
    with pytest.raises(InvalidPatternError, match="trigger"):
        RegexPattern("no-trigger", (), "x", max_length=1)
    with pytest.raises(InvalidPatternError, match="trigger"):
        RegexPattern("empty-trigger", ("",), "x", max_length=1)


def test_runs_of_triggers_in_a_long_line_are_all_resolved_correctly() -> None:
    # A trigger at every few characters: every one is examined, and only real tokens match.
    token = "ghp_" + rand(36)
    noise = "eyJ" * 50_000 + "sk-" * 50_000 + "AKIA" * 50_000 + "ghp_" * 50_000
    text = noise + " " + token + " " + noise
    assert REDACTOR.redact(text) == noise + " [REDACTED:github-token] " + noise
