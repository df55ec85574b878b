"""How `parley policy` shows its findings and its rules: a table for people, JSON for CI."""

from __future__ import annotations

import json
import textwrap
from collections import Counter
from collections.abc import Sequence

from policies.model import Violation
from policies.registry import Registry


def summary(violations: Sequence[Violation]) -> dict[str, int]:
    counted = Counter(v.enforcement for v in violations)
    return {"mandatory": counted["mandatory"], "advisory": counted["advisory"], "total": len(violations)}


def as_table(violations: Sequence[Violation], *, source: str, rules: int) -> str:
    """One block per violation (rule, severity, enforcement, resource, message, fix), then a summary line."""
    lines = []
    for v in violations:
        lines += [
            f"{v.enforcement.upper():9} {v.severity:8} {v.rule}",
            f"  resource: {v.resource_type} {v.resource_name}",
            f"  problem:  {v.message}",
            *textwrap.wrap(v.remediation, width=110, initial_indent="  fix:      ", subsequent_indent=" " * 12),
            "",
        ]
    counts = summary(violations)
    lines.append(
        f"{source}: {counts['mandatory']} mandatory, {counts['advisory']} advisory violation(s) of {rules} rules"
        + ("" if violations else " (all pass)")
    )
    return "\n".join(lines)


def as_json(violations: Sequence[Violation], *, source: str, rules: int) -> str:
    document = {"source": source, "rules": rules, "summary": summary(violations)}
    document["violations"] = [v.as_dict() for v in violations]
    return json.dumps(document, indent=2)


def rules_table(registry: Registry) -> str:
    """Every rule: id, clouds, severity, enforcement, whether prod only, description."""
    rows = [("id", "clouds", "severity", "enforcement", "description")]
    for rule in registry.all():
        scope = " (prod only)" if rule.prod_only else ""
        rows.append((rule.id, ",".join(rule.clouds), rule.severity, rule.enforcement, rule.description + scope))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(width) for cell, width in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    return "\n".join([*lines, f"{len(registry)} rules"])


def rules_markdown(registry: Registry) -> str:
    """The rules as the Markdown table docs/policies.md carries (a test keeps the two the same)."""
    lines = ["| id | clouds | severity | enforcement | what it checks | how to fix |", "|---|---|---|---|---|---|"]
    for rule in registry.all():
        scope = " Prod only." if rule.prod_only else ""
        cells = (
            f"`{rule.id}`",
            ", ".join(rule.clouds),
            rule.severity,
            rule.enforcement,
            rule.description + scope,
            rule.remediation,
        )
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)
