"""Cost reports as text: a terminal table, JSON and Markdown (for merge-request comments), the comparison of
several stacks, and the difference between two reports. HTML lives in infra/cost/html.py."""

from __future__ import annotations

import json
from collections.abc import Sequence

from infra.cost.report import Diff, Report, to_json


def money(value: float) -> str:
    return f"${value:,.2f}"


def unit_price(value: float) -> str:
    """Unit prices span $0.0000025 to $330: plain decimals, never exponents."""
    return "$" + f"{value:.8f}".rstrip("0").rstrip(".")


def signed(value: float) -> str:
    return f"{'+' if value >= 0 else '-'}${abs(value):,.2f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    """Columns padded to their widest cell; `right` are the right-aligned (numeric) columns."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]

    def line(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    return "\n".join([line(header), line(["-" * w for w in widths]), *(line(r) for r in rows)])


def _markdown(header: Sequence[str], rows: Sequence[Sequence[str]], right: set[int]) -> str:
    align = ["---:" if i in right else "---" for i in range(len(header))]
    lines = [header, align, *rows]
    return "\n".join("| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in lines)


def _component_rows(report: Report) -> list[list[str]]:
    rows = []
    for resource in sorted(report.resources, key=lambda r: (-r.monthly, r.name)):
        for c in resource.components:
            rows.append(
                [
                    resource.name,
                    resource.region,
                    c.name,
                    f"{c.quantity:,.2f} {c.unit}",
                    unit_price(c.unit_price),
                    c.kind,
                    money(c.monthly),
                ]
            )
    return rows


def heading(report: Report) -> str:
    usage = (
        f"usage profile {report.profile} ({report.daily_users:,} daily users)" if report.profile else "no usage profile"
    )
    where = f"Stack {report.stack} ({report.source}), home region {report.home_region or 'unknown'}"
    return f"{where}, {usage}. List prices in USD a month."


def _totals(report: Report) -> list[list[str]]:
    rows = [
        ["total", money(report.total)],
        ["hourly", money(report.kind_total("hourly"))],
        ["usage", money(report.kind_total("usage"))],
    ]
    if report.per_user is not None:
        rows.append(["per daily user", f"${report.per_user:,.4f}"])
    rows += [[f"region {k}", money(v)] for k, v in report.by_region().items()]
    rows += [[f"service {k}", money(v)] for k, v in report.by_service().items()]
    return rows


def unpriced_notes(report: Report) -> list[str]:
    lines = [f"not priced: {r.name} ({r.type}): {r.note}" for r in report.with_status("not priced")]
    outside = report.with_status("outside")
    if outside:
        lines.append(f"outside the stack: {len(outside)} Kubernetes objects; {outside[0].note}")
    free = report.with_status("free")
    if free:
        lines.append(f"free: {len(free)} resources (networks, rules, roles, records and the like)")
    return lines


COMPONENT_HEADER = ["resource", "region", "component", "quantity", "unit USD", "kind", "monthly"]


def as_table(report: Report) -> str:
    parts = [heading(report), "", _table(COMPONENT_HEADER, _component_rows(report), {3, 4, 6})]
    parts += ["", _table(["totals", "USD a month"], _totals(report), {1}), *unpriced_notes(report)]
    return "\n".join(parts)


def as_markdown(report: Report) -> str:
    parts = [f"### Cost of `{report.stack}`: {money(report.total)} a month", "", heading(report), ""]
    parts += [
        _markdown(["totals", "USD a month"], _totals(report), {1}),
        "",
        "<details><summary>Every component</summary>",
        "",
    ]
    parts += [_markdown(COMPONENT_HEADER, _component_rows(report), {3, 4, 6}), "", "</details>"]
    notes = unpriced_notes(report)
    return "\n".join(parts + ([""] + [f"- {n}" for n in notes] if notes else []))


def as_json(report: Report) -> str:
    return json.dumps(to_json(report), indent=2)


COMPARE_HEADER = ["stack", "home region", "monthly", "hourly", "usage", "per daily user", "not priced"]


def _compare_rows(reports: Sequence[Report]) -> list[list[str]]:
    return [
        [
            r.stack,
            r.home_region or "-",
            money(r.total),
            money(r.kind_total("hourly")),
            money(r.kind_total("usage")),
            f"${r.per_user:,.4f}" if r.per_user is not None else "-",
            str(len(r.with_status("not priced"))),
        ]
        for r in reports
    ]


def compare_table(reports: Sequence[Report], *, markdown: bool = False) -> str:
    """One row per stack: what each target costs for the same profile."""
    first = reports[0] if reports else None
    title = "Monthly list price in USD"
    if first and first.profile:
        title += f" at usage profile {first.profile}, {first.daily_users:,} daily users"
    render = _markdown if markdown else _table
    return f"{title}\n\n{render(COMPARE_HEADER, _compare_rows(reports), {2, 3, 4, 5, 6})}"


def compare_json(reports: Sequence[Report]) -> str:
    return json.dumps([to_json(r) for r in reports], indent=2)


def diff_text(change: Diff, *, markdown: bool = False) -> str:
    """The totals before and after, then each component that changed, largest first."""
    base, head = change.base, change.head
    totals = f"{money(base.total)} -> {money(head.total)} ({signed(change.delta)} a month)"
    title = f"Cost of {head.stack} against {base.stack}: {totals}"
    rows = [
        [c.name, c.type.split(":")[-1], c.component, money(c.before), money(c.after), signed(c.delta)]
        for c in change.changes
    ]
    header = ["resource", "type", "component", "before", "after", "change"]
    if not rows:
        return f"{title}\n\nNo component changed by a cent or more."
    if markdown:
        return f"### {title}\n\n{_markdown(header, rows, {3, 4, 5})}"
    return f"{title}\n\n{_table(header, rows, {3, 4, 5})}"


def diff_json(change: Diff) -> str:
    return json.dumps(
        {
            "base": {"stack": change.base.stack, "monthly": change.base.total},
            "head": {"stack": change.head.stack, "monthly": change.head.total},
            "delta": change.delta,
            "changes": [
                {
                    "type": c.type,
                    "name": c.name,
                    "component": c.component,
                    "before": c.before,
                    "after": c.after,
                    "delta": c.delta,
                }
                for c in change.changes
            ],
        },
        indent=2,
    )
