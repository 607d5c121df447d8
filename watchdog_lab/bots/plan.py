"""What a promote of a notebook would install and accept, worked out before anything installs.

A face shows this plan before the user commits (the JupyterLab promote dialog): every
dependency the notebook asks for with the policy's verdict on it, and the notebook's
parameters with their defaults. The verdicts come from :func:`judge_requirements`, which
:meth:`BotManager.check_promote <watchdog_lab.bots.supervisor.BotManager.check_promote>` uses
too: what the plan calls acceptable is exactly what the promote then accepts, with the same
``allow_packages``.

The plan covers the packages the notebook asks for. What those pull in is resolved, and checked
by the same policy, when the promote runs: resolving needs the package index, and a preview
must answer at once.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, JsonValue

from .deps import DetectedDeps, DetectedRequirement, detect_requirements
from .errors import PackageRefused
from .models import parameter_name
from .policy import Approved, DependencyPolicy, PolicyDecision, Rule
from .popular import canonical_name

#: papermill's tag for the cell whose assignments are the notebook's parameters.
PARAMETERS_TAG = "parameters"
#: The longest default shown as text; a longer one is cut (the notebook keeps it whole).
MAX_DEFAULT_CHARS = 500
#: Refusals the user may lift for one promote (``allow_packages``, ``--allow-package``): a
#: real package can sit one edit from a popular name. Every other rule refuses for what the
#: request is (a URL, an installer, an option), which no allowance makes safe.
LIFTABLE_RULES = frozenset({Rule.TYPOSQUAT.value})


class Verdict(str, Enum):
    """What the policy says about one dependency."""

    APPROVED = "approved"
    #: Refused unless the user allows the name for this promote.
    FLAGGED = "flagged"
    #: Refused whatever the user allows.
    REFUSED = "refused"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DescribeDependency(_Model):
    """One package the notebook asks for, and the policy's verdict on it."""

    spec: str = Field(description="what would be installed (URL credentials masked)")
    name: str | None = Field(description="the distribution's canonical name; none for a URL/path")
    installed_version: str | None = None
    pinned_from_environment: bool = False
    explicit: bool = Field(description="asked for by a pip line or a requirements cell")
    optional: bool = False
    origins: list[str] = Field(description="where the notebook asks for it, cell by cell")
    verdict: Verdict
    rule: str | None = Field(None, description="the policy rule that flagged or refused it")
    reason: str | None = None
    allowed: bool = Field(False, description="approved only because it was allowed by name")


class DescribeParameter(_Model):
    """An assignment of the notebook's ``parameters`` cell: a value a promote may override."""

    name: str
    default: str = Field(description="the assigned expression, as written in the notebook")
    value: JsonValue = Field(None, description="the default as JSON, when it is a plain literal")
    literal: bool = Field(description="whether ``value`` holds the default")


class DescribePromotePlan(_Model):
    """``POST promote/plan``: what promoting this notebook would install, and its parameters."""

    notebook: str
    dependencies: list[DescribeDependency]
    ok: bool = Field(description="no dependency is flagged or refused (with these allowances)")
    parameters: list[DescribeParameter]
    has_parameters_cell: bool
    warnings: list[str]
    local_modules: list[str]
    allow_flag: str = Field(description="the CLI option that allows a flagged name")
    saved_at: float | None = Field(
        None,
        description="when the notebook file was last written (seconds since the epoch): a face "
        "that asked the front end to save first waits for this to move",
    )


@dataclass(frozen=True)
class JudgedRequirements:
    """Each detected requirement with its verdict, and the decision a promote acts on."""

    dependencies: tuple[DescribeDependency, ...]
    decision: PolicyDecision

    @property
    def approved(self) -> list[Approved]:
        return list(self.decision.approved)


def judge_requirements(
    detected: DetectedDeps, policy: DependencyPolicy, allow_packages: Iterable[str] = ()
) -> JudgedRequirements:
    """The policy's verdict on every requirement of ``detected``, one by one.

    Each spec goes through :meth:`DependencyPolicy.check_all`, the promote's own check, so a
    plan and a promote cannot disagree. A flagged name is checked a second time without the
    user's allowances only to say whether the allowance is what let it through.
    """
    allowed = {canonical_name(name) for name in allow_packages}
    approved: list[Approved] = []
    refused: list[PackageRefused] = []
    described: list[DescribeDependency] = []
    for requirement in detected.requirements:
        decision = policy.check_all([requirement.spec], allowed)
        approved.extend(decision.approved)
        refused.extend(decision.refused)
        if decision.refused:
            (refusal,) = decision.refused
            verdict = Verdict.FLAGGED if refusal.rule in LIFTABLE_RULES else Verdict.REFUSED
            described.append(_dependency(requirement, verdict, refusal.rule, refusal.reason))
            continue
        lifted = requirement.name in allowed and not policy.check_all([requirement.spec]).ok
        described.append(_dependency(requirement, Verdict.APPROVED, allowed=lifted))
    return JudgedRequirements(
        dependencies=tuple(described),
        decision=PolicyDecision(approved=tuple(approved), refused=tuple(refused)),
    )


def _dependency(
    requirement: DetectedRequirement,
    verdict: Verdict,
    rule: str | None = None,
    reason: str | None = None,
    *,
    allowed: bool = False,
) -> DescribeDependency:
    return DescribeDependency(
        spec=requirement.spec,
        name=requirement.name,
        installed_version=requirement.installed_version,
        pinned_from_environment=requirement.pinned_from_environment,
        explicit=requirement.explicit,
        optional=requirement.optional,
        origins=[origin.describe() for origin in requirement.origins],
        verdict=verdict,
        rule=rule,
        reason=reason,
        allowed=allowed,
    )


def notebook_parameters(nb: Mapping[str, Any]) -> tuple[bool, list[DescribeParameter]]:
    """Whether the notebook has a ``parameters`` cell, and the names it assigns there.

    Read with :mod:`ast`, never run: each top-level ``NAME = EXPR`` (or ``NAME: T = EXPR``)
    whose name a promote may set (:func:`~watchdog_lab.bots.models.parameter_name`) becomes a
    parameter, its default shown as written. Only the first tagged cell counts, as papermill
    injects after that one. A cell that does not parse has no parameters to show.
    """
    cell = next((c for c in nb.get("cells", []) if PARAMETERS_TAG in _tags(c)), None)
    if cell is None:
        return False, []
    source = cell.get("source", "")
    source = "".join(source) if isinstance(source, list) else str(source)
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):
        return True, []
    found: dict[str, DescribeParameter] = {}
    for node in tree.body:
        target, value = _assignment(node)
        if target is None or value is None:
            continue
        try:
            parameter_name(target)
        except ValueError:
            continue
        text = ast.get_source_segment(source, value) or ""
        literal, as_json = _json_literal(value)
        found[target] = DescribeParameter(
            name=target, default=_shorten(text), value=as_json, literal=literal
        )
    return True, list(found.values())


def promote_plan(
    nb: Mapping[str, Any],
    *,
    notebook: str,
    folder: Path,
    policy: DependencyPolicy,
    allow_packages: Iterable[str] = (),
    saved_at: float | None = None,
) -> DescribePromotePlan:
    """The plan of promoting ``nb`` (already read; ``folder`` is where it lives, whose modules
    are never requested from an index), shown as ``notebook``, written at ``saved_at``."""
    from .policy import ALLOW_FLAG

    detected = detect_requirements(nb, folder=folder)
    judged = judge_requirements(detected, policy, allow_packages)
    has_cell, parameters = notebook_parameters(nb)
    return DescribePromotePlan(
        notebook=notebook,
        dependencies=list(judged.dependencies),
        ok=judged.decision.ok,
        parameters=parameters,
        has_parameters_cell=has_cell,
        warnings=list(detected.warnings),
        local_modules=list(detected.local_modules),
        allow_flag=ALLOW_FLAG,
        saved_at=saved_at,
    )


def _tags(cell: Mapping[str, Any]) -> list[str]:
    metadata = cell.get("metadata") or {}
    tags = metadata.get("tags") if isinstance(metadata, Mapping) else None
    return [t for t in tags if isinstance(t, str)] if isinstance(tags, list) else []


def _assignment(node: ast.stmt) -> tuple[str | None, ast.expr | None]:
    if isinstance(node, ast.Assign) and len(node.targets) == 1:
        target = node.targets[0]
        if isinstance(target, ast.Name):
            return target.id, node.value
    if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
        return node.target.id, node.value
    return None, None


def _json_literal(value: ast.expr) -> tuple[bool, JsonValue]:
    """The default as JSON when it is a literal JSON can carry unchanged (not a tuple, a set,
    bytes, a non-finite float or a non-text key), so that sending it back changes nothing."""
    try:
        literal = ast.literal_eval(value)
        text = json.dumps(literal, allow_nan=False)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None
    as_json: JsonValue = json.loads(text)
    if as_json != literal or type(as_json) is not type(literal):
        return False, None
    return True, as_json


def _shorten(text: str) -> str:
    if len(text) <= MAX_DEFAULT_CHARS:
        return text
    return text[: MAX_DEFAULT_CHARS - 1] + "…"
