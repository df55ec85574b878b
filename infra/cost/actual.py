"""`parley cost actual`: what a stack really cost last month, from AWS Cost Explorer, filtered by the
`parley:stack` tag every Parley resource carries (infra/aws/tags.py) and grouped by service."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date
from typing import Any

STACK_TAG = "parley:stack"


class ActualError(Exception):
    """A month that is not YYYY-MM, or Cost Explorer refusing the request."""


@dataclass
class Actual:
    """Spend per service over one calendar month, as Cost Explorer reports it (`estimated` while the month is
    still open)."""

    stack: str
    month: str
    by_service: dict[str, float] = field(default_factory=dict)
    estimated: bool = False

    @property
    def total(self) -> float:
        return sum(self.by_service.values())


def month_range(month: str | None, *, today: date | None = None) -> tuple[str, str, str]:
    """(month, first day, first day of the next month) for `YYYY-MM`, by default the month before `today`."""
    if month is None:
        today = today or date.today()
        first = date(today.year - (today.month == 1), (today.month - 2) % 12 + 1, 1)
    else:
        try:
            first = date.fromisoformat(f"{month}-01")
        except ValueError:
            raise ActualError(f"--month {month!r} is not a month written YYYY-MM") from None
    following = date(first.year + (first.month == 12), first.month % 12 + 1, 1)
    return first.strftime("%Y-%m"), first.isoformat(), following.isoformat()


def actual_costs(client: Any, *, stack: str, month: str | None = None, today: date | None = None) -> Actual:
    """Ask Cost Explorer (`client`, a boto3 `ce` client) for the stack's unblended cost per service."""
    # Here, not at the top: estimates work without the AWS SDK installed.
    from botocore.exceptions import BotoCoreError, ClientError

    label, start, end = month_range(month, today=today)
    result = Actual(stack=stack, month=label)
    request: dict[str, Any] = {
        "TimePeriod": {"Start": start, "End": end},
        "Granularity": "MONTHLY",
        "Metrics": ["UnblendedCost"],
        "Filter": {"Tags": {"Key": STACK_TAG, "Values": [stack], "MatchOptions": ["EQUALS"]}},
        "GroupBy": [{"Type": "DIMENSION", "Key": "SERVICE"}],
    }
    while True:
        try:
            answer = client.get_cost_and_usage(**request)
        except (BotoCoreError, ClientError) as error:
            raise ActualError(f"Cost Explorer: {error}") from error
        for period in answer.get("ResultsByTime", []):
            result.estimated = result.estimated or bool(period.get("Estimated"))
            for group in period.get("Groups", []):
                service = group["Keys"][0]
                amount = float(group["Metrics"]["UnblendedCost"]["Amount"])
                result.by_service[service] = result.by_service.get(service, 0.0) + amount
        token = answer.get("NextPageToken")
        if not token:
            break
        request["NextPageToken"] = token
    result.by_service = dict(sorted(result.by_service.items(), key=lambda item: (-item[1], item[0])))
    return result


def as_text(actual: Actual) -> str:
    state = " (estimated: the month is still open)" if actual.estimated else ""
    lines = [f"Spend of {actual.stack} in {actual.month} from Cost Explorer, tag {STACK_TAG}{state}", ""]
    width = max((len(s) for s in actual.by_service), default=5)
    lines += [f"{service.ljust(width)}  ${amount:>12,.2f}" for service, amount in actual.by_service.items()]
    lines.append(f"{'total'.ljust(width)}  ${actual.total:>12,.2f}")
    return "\n".join(lines)


def as_json(actual: Actual) -> str:
    return json.dumps(
        {
            "stack": actual.stack,
            "month": actual.month,
            "estimated": actual.estimated,
            "currency": "USD",
            "total": actual.total,
            "by_service": actual.by_service,
        },
        indent=2,
    )
