"""Every script the pipelines call passes ShellCheck (Debian's `shellcheck`, installed by tests/setup.py)."""

from __future__ import annotations

import shutil
import subprocess

from tests.ci.pipelines import ROOT

SCRIPTS = sorted((ROOT / "ci" / "scripts").glob("*.sh"))


def test_the_pipeline_scripts_pass_shellcheck() -> None:
    assert SCRIPTS, "ci/scripts holds no script"
    assert shutil.which("shellcheck"), "shellcheck is missing: `python -m tests.setup` installs it"
    # -x follows `source ci/scripts/lib.sh`, so the shared helpers are checked as the scripts use them.
    result = subprocess.run(
        ["shellcheck", "-x", *[str(s.relative_to(ROOT)) for s in SCRIPTS]], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout
