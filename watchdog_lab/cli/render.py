"""Plain-text layout for people: aligned tables, local times, masked fields on one line.

A cell or a field is one line by meaning, and much of what fills them was chosen by a bot or a
kernel: :func:`line` shows a newline in it as ``\\n`` (with every other control character), so
that no value can start a row or a field of its own.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

from ..textsafe import escape
from ..vault import AuditEvent, DescribeConnection


def line(text: str) -> str:
    """``text`` as one terminal-safe line: newlines and controls shown escaped."""
    return escape(text)


def when(ts: float | None) -> str:
    if ts is None:
        return "-"
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ts))


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns padded to their widest cell; the last column is left ragged."""
    rows = [[line(cell) for cell in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in rows:
        for i, cell in enumerate(row[:-1]):
            widths[i] = max(widths[i], len(cell))
    lines = []
    for row in [headers, *rows]:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def inline_fields(fields: Mapping[str, str]) -> str:
    return "  ".join(f"{k}={v}" for k, v in sorted(fields.items())) or "-"


def connections(items: Sequence[DescribeConnection]) -> str:
    rows = []
    for c in items:
        if c.status != "ok":
            rows.append(
                [
                    "(unreadable)",
                    "-",
                    "-",
                    f"record {c.id} is corrupted; remove it with "
                    f"`watchdog-lab connections remove --id {c.id}`",
                ]
            )
        else:
            rows.append([c.name or "-", c.kind or "-", when(c.updated_at), inline_fields(c.fields)])
    return table(["NAME", "KIND", "UPDATED", "FIELDS (masked)"], rows)


def connection(c: DescribeConnection) -> str:
    width = max((len(line(k)) for k in c.fields), default=0)
    lines = [
        f"name:     {line(str(c.name))}",
        f"kind:     {line(str(c.kind))}",
        f"id:       {c.id}",
        f"created:  {when(c.created_at)}",
        f"updated:  {when(c.updated_at)}",
        "fields (masked):",
        *(f"  {line(k).ljust(width)}  {line(v)}" for k, v in sorted(c.fields.items())),
    ]
    return "\n".join(lines)


def _detail(event: AuditEvent) -> str:
    detail = dict(event.detail or {})
    parts = []
    if "error" in detail:
        parts.append(str(detail.pop("error")))
    if "old_name" in detail:
        parts.append(f"renamed from {detail.pop('old_name')!s}")
    if "kind" in detail:
        parts.append(f"kind={detail.pop('kind')}")
    # Audit details are JSON the vault wrote: "changed" and "fields" are lists of names (typed
    # only as object here, hence the two ignores).
    changed = detail.pop("changed", None)
    if changed is not None:
        parts.append("changed=" + (",".join(map(str, changed)) or "-"))  # type: ignore[call-overload]
    fields = detail.pop("fields", None)
    if fields is not None:
        parts.append("fields=" + (",".join(map(str, fields)) or "-"))  # type: ignore[call-overload]
    detail.pop("name", None)
    parts.extend(f"{k}={v}" for k, v in sorted(detail.items()))
    if event.note:
        parts.append(event.note)
    return "  ".join(parts) or "-"


def audit(events: Sequence[AuditEvent]) -> str:
    rows = [
        [
            str(e.seq),
            when(e.ts),
            e.event,
            str((e.detail or {}).get("name", "-")),
            _detail(e),
        ]
        for e in events
    ]
    return table(["SEQ", "TIME", "EVENT", "CONNECTION", "DETAIL"], rows)
