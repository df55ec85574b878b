"""`parley package lambda` (infra/lambda_package.py), built once with wheels of this machine's platform so the
unpacked zip can be imported here: the handlers import from it alone, without any SQL driver or server."""

from __future__ import annotations

import platform
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from infra.lambda_package import EXCLUDED, IMPORTS, ZIP_NAME, Package, import_seconds, make_package, requirements

pytestmark = pytest.mark.package
HOST_PLATFORM = f"manylinux2014_{platform.machine()}"
HOST_PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Package:
    out = tmp_path_factory.mktemp("lambda")
    return make_package(out, platform=HOST_PLATFORM, python_version=HOST_PYTHON, interpreter=sys.executable)


@pytest.fixture(scope="module")
def unpacked(package: Package, tmp_path_factory: pytest.TempPathFactory) -> Path:
    where = tmp_path_factory.mktemp("unpacked")
    with zipfile.ZipFile(package.path) as archive:
        archive.extractall(where)
    return where


def test_the_requirements_are_the_runtime_and_serverless_ones_less_the_server_and_sql() -> None:
    names = {spec.split("<")[0].split(">")[0].split("=")[0].lower() for spec in requirements()}
    assert {"fastapi", "pydantic", "boto3", "mangum", "argon2-cffi", "pyjwt", "orjson"} <= names
    assert not names & EXCLUDED


def test_the_zip_holds_the_handlers_and_leaves_out_what_they_never_use(package: Package) -> None:
    assert package.path.name == ZIP_NAME and package.bytecode
    assert package.size < 50 * 2**20  # Lambda's limit for a zip uploaded directly
    names = set(zipfile.ZipFile(package.path).namelist())
    assert {"app/serverless/handlers.py", "app/store/dynamodb/store.py", "app/bus/apigateway.py"} <= names
    assert "app/store/sql.py" not in names and not any(n.startswith("app/backup/") for n in names)
    top_level = {n.split("/")[0].lower() for n in names}
    assert not top_level & {"sqlalchemy", "asyncpg", "asyncmy", "aiosqlite", "uvicorn", "alembic"}
    assert any(n.endswith(".pyc") and "__pycache__/handlers." in n for n in names)


def test_the_handlers_import_from_the_unpacked_zip_alone(unpacked: Path) -> None:
    for statement in IMPORTS.values():
        seconds, loaded = import_seconds(unpacked, statement, runs=1)
        assert loaded == [], statement
        assert seconds < 30


def test_the_entry_points_are_callables_taking_event_and_context(unpacked: Path) -> None:
    probe = (
        "import sys, inspect; sys.path.insert(0, '.'); from app.serverless import handlers; "
        "print([list(inspect.signature(getattr(handlers, n)).parameters) for n in ('websocket', 'http')])"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe], cwd=unpacked, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[['event', 'context'], ['event', 'context']]"
