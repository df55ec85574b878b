"""The pack as `pulumi preview --policy-pack policies` runs it: the engine starts `python -m pulumi.policy ENGINE
PROGRAM` in the pack's folder (PulumiPolicy.yaml's virtualenv), which runs `policies/__main__.py`; the pack prints
the port of its analyzer and serves it over gRPC. Here the test plays the engine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc

from policies.rules import REGISTRY

PACK = Path(__file__).resolve().parents[2] / "policies"
RDS = "aws:rds/instance:Instance"


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    # The engine address is only used by the pack to log; nothing listens there.
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
        cwd=PACK,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        port = process.stdout.readline().strip() if process.stdout else ""
        if not port.isdigit():
            process.kill()
            pytest.fail(f"the pack printed no port: {port!r} {process.communicate(timeout=10)[1]}")
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.kill()
        process.wait(timeout=10)


def analyze(stub: analyzer_pb2_grpc.AnalyzerStub, props: dict[str, object]) -> list[str]:
    properties = struct_pb2.Struct()
    properties.update(props)
    urn = f"urn:pulumi:dev::parley::{RDS}::db"
    request = analyzer_pb2.AnalyzeRequest(type=RDS, properties=properties, urn=urn, name="db")
    return [d.policyName for d in stub.Analyze(request, timeout=30).diagnostics]


def test_the_pack_serves_one_policy_per_rule(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty(), timeout=30)
    assert info.name == "parley"
    assert [p.name for p in info.policies] == [r.id for r in REGISTRY.all()]


def test_the_served_rules_read_the_engines_properties(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    tags = {"parley:stack": "aws-dev", "parley:environment": "dev"}
    good = {"publiclyAccessible": False, "storageEncrypted": True, "backupRetentionPeriod": 7, "tags": tags}
    assert analyze(analyzer, good) == []
    found = analyze(analyzer, {**good, "publiclyAccessible": True, "backupRetentionPeriod": 1})
    assert sorted(found) == ["aws-rds-backups", "aws-rds-not-public"]
