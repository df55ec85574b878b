"""Running ci/scripts on their own: `pulumi`, `parley` and `docker` are stand-ins on PATH that log their
arguments (those CLIs cannot reach a cloud here, and `parley policy` and `parley cost` have tests of their
own); the scripts themselves, jq, curl and `python3 -m ci.stacks` are real."""

from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ci.pipelines import ROOT

FAKE = """#!/usr/bin/env bash
# Logs its arguments, tab-separated, one call a line; answers like the real CLI where the scripts read output.
printf '%s' "$(basename "$0")" >>"$FAKE_LOG"
printf '\\t%s' "$@" >>"$FAKE_LOG"
printf '\\n' >>"$FAKE_LOG"
case "$(basename "$0") $1" in
    "pulumi preview") printf '%s' "${FAKE_PREVIEW-{\\"steps\\": []\\}}"; exit "${FAKE_PULUMI_STATUS:-0}" ;;
    "pulumi up") exit "${FAKE_PULUMI_STATUS:-0}" ;;
    "pulumi stack") echo '{"url": "https://chat.example.com"}' ;;
    "parley policy") echo "policy report"; exit "${FAKE_POLICY_STATUS:-0}" ;;
    "parley cost") echo "cost report ${*:2}" ;;
esac
"""


@dataclass
class Fakes:
    tmp: Path
    env: dict[str, str]

    def run(self, script: str, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(ROOT / "ci" / "scripts" / script), *args],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def calls(self, program: str | None = None) -> list[list[str]]:
        log = Path(self.env["FAKE_LOG"])
        lines = log.read_text().splitlines() if log.exists() else []
        calls = [line.split("\t") for line in lines]
        return [call[1:] for call in calls if program is None or call[0] == program]


@pytest.fixture
def fakes(tmp_path: Path) -> Fakes:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for program in ("pulumi", "parley", "docker"):
        (bin_dir / program).write_text(FAKE)
        (bin_dir / program).chmod(0o755)
    venv_bin = ROOT / ".venv" / "bin"
    # A clean environment: no cloud variable of the machine running the tests leaks in.
    env = {
        "PATH": os.pathsep.join([str(bin_dir), str(venv_bin), "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(tmp_path),
        "TMPDIR": str(tmp_path),
        "LANG": "C.UTF-8",
        "FAKE_LOG": str(tmp_path / "calls.log"),
        "PARLEY_REPORT_DIR": str(tmp_path / "reports"),
        "PARLEY_OIDC_DIR": str(tmp_path / "oidc"),
    }
    return Fakes(tmp_path, env)
