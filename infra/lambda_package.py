"""`parley package lambda --out DIR`: the zip the serverless target's functions run (infra/aws/serverless.py).

It holds the `app` package less what only a server or an operator uses (the SQL store, migrations, backups,
deployment templates, the CLI) and, as wheels for the Lambda runtime (manylinux, arm64, CPython 3.12), the
core and `serverless` dependencies less those the handlers never import: the ASGI server, SQLAlchemy, Alembic
and the SQL drivers, the CLI and template libraries. `--measure` unpacks the zip and times the handlers'
imports in a fresh interpreter that sees nothing else; it needs wheels of this machine's platform
(`--platform manylinux2014_x86_64 --python-version 3.11` here)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer

ROOT = Path(__file__).resolve().parents[1]
ZIP_NAME = "parley-lambda.zip"
RUNTIME_PLATFORM = "manylinux2014_aarch64"
RUNTIME_PYTHON = "3.12"
# Distributions the handlers never import (`make_package` checks the import path stays free of them).
EXCLUDED = frozenset(
    {"uvicorn", "websockets", "sqlalchemy", "alembic", "aiosqlite", "asyncpg", "asyncmy", "typer", "jinja2"}
)
# Modules that must not load on the handlers' import path.
FORBIDDEN_MODULES = tuple(sorted(EXCLUDED))
# Parts of `app` only servers and operators use: paths relative to app/.
APP_EXCLUDED = ("backup", "deploy", "store/migrations", "store/sql.py", "store/tables.py", "store/migrate.py")
APP_EXCLUDED += ("cli.py", "__main__.py")
# What each entry point imports before its first event is handled.
IMPORTS = {
    "handlers (init)": "import app.serverless.handlers",
    "http, on its first event": "import app.serverless.handlers, app.main, mangum",
}

app = typer.Typer(help="Build deployment artifacts.", no_args_is_help=True, add_completion=False)


@dataclass(frozen=True)
class Package:
    path: Path
    size: int
    files: int
    requirements: list[str]
    bytecode: bool


def requirements(pyproject: Path = ROOT / "pyproject.toml") -> list[str]:
    """The core and `serverless` requirements of pyproject.toml, less `EXCLUDED`, extras dropped."""
    project = tomllib.loads(pyproject.read_text())["project"]
    wanted = []
    for spec in [*project["dependencies"], *project["optional-dependencies"]["serverless"]]:
        match = re.match(r"^([A-Za-z0-9._-]+)(\[[^\]]*\])?(.*)$", spec.strip())
        if match is None:
            raise ValueError(f"cannot read requirement {spec!r}")
        name, _, version = match.groups()
        if name.lower() not in EXCLUDED:
            wanted.append(f"{name}{version}")
    return wanted


def make_package(
    out: Path,
    *,
    platform: str = RUNTIME_PLATFORM,
    python_version: str = RUNTIME_PYTHON,
    interpreter: str | None = None,
) -> Package:
    """Write `out/parley-lambda.zip` and return what it holds. `interpreter` (default: `python<version>` on
    PATH) compiles the bytecode; it must be the runtime's Python version."""
    out.mkdir(parents=True, exist_ok=True)
    wanted = requirements()
    with tempfile.TemporaryDirectory(prefix="parley-lambda-") as build:
        site = Path(build)
        pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-compile", "--target", str(site)]
        pip += ["--platform", platform, "--implementation", "cp", "--python-version", python_version]
        pip += ["--only-binary=:all:", *wanted]
        subprocess.run(pip, check=True, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
        for leftover in [*site.glob("bin"), *site.rglob("__pycache__")]:
            shutil.rmtree(leftover, ignore_errors=True)
        shutil.copytree(ROOT / "app", site / "app", ignore=_app_ignored)
        bytecode = _compile(site, python_version, interpreter or shutil.which(f"python{python_version}"))
        path = out / ZIP_NAME
        files = _zip(site, path)
    return Package(path=path, size=path.stat().st_size, files=files, requirements=wanted, bytecode=bytecode)


def _compile(site: Path, python_version: str, interpreter: str | None) -> bool:
    """Bytecode for the runtime's Python, if this machine has that version: Lambda's /var/task is read-only,
    so without it every cold start compiles every module it imports (seconds, for botocore). Unchecked hash
    pycs are used whatever the sources' times after unzipping. Bytecode does not depend on the platform."""
    if interpreter is None:
        return False
    version = subprocess.run(
        [interpreter, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True, text=True
    )
    if version.returncode != 0 or version.stdout.strip() != python_version:
        return False
    compileall = [interpreter, "-m", "compileall", "-q", "-j", "0", "--invalidation-mode", "unchecked-hash"]
    return subprocess.run([*compileall, str(site)], check=False, capture_output=True).returncode == 0


def _app_ignored(directory: str, names: list[str]) -> set[str]:
    relative = Path(directory).relative_to(ROOT / "app")
    return {n for n in names if n == "__pycache__" or (relative / n).as_posix() in APP_EXCLUDED}


def _zip(site: Path, path: Path) -> int:
    """A reproducible zip: sorted entries, fixed times, files readable by the Lambda runtime's user."""
    files = sorted(p for p in site.rglob("*") if p.is_file())
    partial = path.with_suffix(".partial")
    with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for file in files:
            entry = zipfile.ZipInfo(file.relative_to(site).as_posix(), date_time=(1980, 1, 1, 0, 0, 0))
            entry.external_attr = 0o644 << 16
            entry.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(entry, file.read_bytes())
    partial.replace(path)
    return len(files)


def import_seconds(unpacked: Path, statement: str, *, runs: int = 3) -> tuple[float, list[str]]:
    """The best of `runs` cold imports in a fresh interpreter that sees only `unpacked` and the standard
    library (`-I -S`), and which of `FORBIDDEN_MODULES` the import loaded. No bytecode is written (`-B`), as
    Lambda's /var/task is read-only: what is not in the zip is compiled at every cold start."""
    probe = (
        "import sys, time\n"
        f"sys.path.insert(0, {str(unpacked)!r})\n"
        "start = time.perf_counter()\n"
        f"{statement}\n"
        "took = time.perf_counter() - start\n"
        f"loaded = sorted(m for m in {FORBIDDEN_MODULES!r} if m in sys.modules)\n"
        "print(took, ','.join(loaded))\n"
    )
    timings, loaded = [], []
    for _ in range(runs):
        result = subprocess.run(
            [sys.executable, "-I", "-S", "-B", "-c", probe], check=True, capture_output=True, text=True, cwd=unpacked
        )
        took, _, names = result.stdout.strip().partition(" ")
        timings.append(float(took))
        loaded = [n for n in names.split(",") if n]
    return min(timings), loaded


@app.command("lambda")
def lambda_command(
    out: Annotated[Path, typer.Option("--out", help="Folder to write parley-lambda.zip into.")] = Path("build/lambda"),
    platform: Annotated[str, typer.Option(help="pip --platform of the wheels.")] = RUNTIME_PLATFORM,
    python_version: Annotated[str, typer.Option(help="Python version of the runtime.")] = RUNTIME_PYTHON,
    python: Annotated[
        str | None, typer.Option(help="Interpreter of that version to compile bytecode with; default python<version>.")
    ] = None,
    measure: Annotated[bool, typer.Option(help="Time the handlers' imports (wheels of this machine).")] = False,
) -> None:
    """Build the Lambda zip of the serverless target: `app` and its wheels for the Lambda runtime."""
    package = make_package(out, platform=platform, python_version=python_version, interpreter=python)
    typer.echo(f"wrote {package.path}: {package.size / 2**20:.1f} MiB, {package.files} files")
    if not package.bytecode:
        typer.echo(f"warning: no Python {python_version} (--python) here, so no bytecode: cold starts compile all")
    if not measure:
        return
    with tempfile.TemporaryDirectory(prefix="parley-lambda-unpacked-") as unpacked:
        with zipfile.ZipFile(package.path) as archive:
            archive.extractall(unpacked)
        for label, statement in IMPORTS.items():
            seconds, loaded = import_seconds(Path(unpacked), statement)
            extra = f"; loaded {', '.join(loaded)}" if loaded else ""
            typer.echo(f"import time, {label}: {seconds * 1000:.0f} ms{extra}")
