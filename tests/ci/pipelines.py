"""Reading Parley's pipelines back for tests: the GitLab configuration as GitLab assembles it (includes merged,
`extends` resolved, matrices expanded) and the Jenkinsfile as tests/ci/read_jenkinsfile.groovy records it."""

from __future__ import annotations

import copy
import json
import os
import shutil
import subprocess
from dataclasses import dataclass, field
from itertools import product
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
# Top-level keys of a GitLab configuration that are not jobs.
GLOBAL_KEYS = {"stages", "workflow", "variables", "include", "default", "image", "services", "cache", "spec"}
GLOBAL_KEYS |= {"before_script", "after_script"}


def load_gitlab(root: Path = ROOT) -> dict[str, Any]:
    """`.gitlab-ci.yml` with its `include: local` files merged as GitLab merges them: the included files first,
    in order, then the including file, whose keys win."""
    main = yaml.safe_load((root / ".gitlab-ci.yml").read_text())
    merged: dict[str, Any] = {}
    for item in main.get("include", []):
        pattern = item["local"] if isinstance(item, dict) else item
        files = sorted(root.glob(pattern.lstrip("/")))
        if not files:
            raise FileNotFoundError(f"include {pattern!r} matches no file")
        for path in files:
            _deep_merge(merged, yaml.safe_load(path.read_text()))
    _deep_merge(merged, main)
    return merged


def _deep_merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """GitLab's merge for `include` and `extends`: hashes merge key by key, anything else is replaced."""
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            _deep_merge(base[key], value)
        else:
            base[key] = copy.deepcopy(value)
    return base


def job(config: dict[str, Any], name: str) -> dict[str, Any]:
    """The job `name` with its `extends` chain resolved (parents first, the job's own keys last)."""
    definition = config[name]
    parents = definition.get("extends", [])
    resolved: dict[str, Any] = {}
    for parent in [parents] if isinstance(parents, str) else parents:
        _deep_merge(resolved, job(config, parent))
    _deep_merge(resolved, {key: value for key, value in definition.items() if key != "extends"})
    return resolved


def jobs(config: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every job that runs (not hidden, not a global keyword), resolved."""
    return {name: job(config, name) for name in config if name not in GLOBAL_KEYS and not name.startswith(".")}


def matrix(definition: dict[str, Any]) -> list[dict[str, str]]:
    """The variables of each job `parallel: matrix:` makes of `definition`; one empty set without a matrix."""
    rows = (definition.get("parallel") or {}).get("matrix")
    if not rows:
        return [{}]
    cells = []
    for row in rows:
        names = list(row)
        values = [row[name] if isinstance(row[name], list) else [row[name]] for name in names]
        cells.extend(dict(zip(names, combination, strict=True)) for combination in product(*values))
    return cells


@dataclass
class Step:
    """One recorded call of the Jenkinsfile: a directive (`stage`, `when`, `input`) or a step (`sh`)."""

    step: str
    args: list[Any]
    env: dict[str, Any]
    children: list[Step] = field(default_factory=list)

    @classmethod
    def from_json(cls, node: dict[str, Any]) -> Step:
        return cls(node["step"], node["args"], node["env"], [cls.from_json(child) for child in node["children"]])

    def find(self, step: str) -> list[Step]:
        """Every call named `step` below this one, depth first."""
        found = []
        for child in self.children:
            if child.step == step:
                found.append(child)
            found.extend(child.find(step))
        return found

    def child(self, step: str) -> Step | None:
        return next((child for child in self.children if child.step == step), None)

    def text(self) -> str:
        """Everything recorded below, as JSON, for assertions on what a stage runs."""
        return json.dumps([self.step, self.args, self.env, [json.loads(c.text()) for c in self.children]])


def groovy_environment() -> dict[str, str]:
    """Debian's groovy launcher looks for Java in /usr/lib/jvm/default-java unless JAVA_HOME says otherwise."""
    env = dict(os.environ)
    java = shutil.which("java")
    if "JAVA_HOME" not in env and java is not None:
        env["JAVA_HOME"] = str(Path(java).resolve().parents[1])
    return env


def read_jenkinsfile(path: Path, workdir: Path) -> subprocess.CompletedProcess[str]:
    """Run the reader on `path` in `workdir`: Groovy looks up every capitalised name as a class on its class
    path, which includes the working directory, so an empty directory keeps the compile fast."""
    return subprocess.run(
        ["groovy", str(HERE / "read_jenkinsfile.groovy"), str(path)],
        cwd=workdir,
        env=groovy_environment(),
        capture_output=True,
        text=True,
        timeout=240,
    )
