"""docs/policies.md lists every rule as the registry describes it."""

from __future__ import annotations

from pathlib import Path

from policies.report import rules_markdown
from policies.rules import REGISTRY

DOC = Path(__file__).resolve().parents[2] / "docs" / "policies.md"


def test_doc_carries_the_rules_table_of_the_registry() -> None:
    text = DOC.read_text()
    assert rules_markdown(REGISTRY) in text, "regenerate the table: python -c 'from policies.report import ...'"
    assert all(f"`{rule.id}`" in text for rule in REGISTRY.all())
