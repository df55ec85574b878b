"""ci/scripts/post-mr-comment.sh with real curl against a local stand-in for GitLab's notes API: one comment
per merge request, added once and then updated in place."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.ci.conftest import Fakes

NOTES = "/api/v4/projects/42/merge_requests/7/notes"
MARKER = "<!-- parley-cost-report -->"


class NotesAPI(ThreadingHTTPServer):
    """A merge request's notes, as GitLab's API serves them; `fail` makes every call answer 500."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), NotesHandler)
        self.notes: list[dict[str, Any]] = [{"id": 1, "body": "Looks good to me"}]
        self.requests: list[tuple[str, str, str | None]] = []
        self.fail = False


class NotesHandler(BaseHTTPRequestHandler):
    server: NotesAPI

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: pytest shows the assertions, not the access log."""

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        self.server.requests.append((self.command, self.path, self.headers.get("PRIVATE-TOKEN")))
        path = self.path.split("?")[0]
        if self.server.fail or self.headers.get("PRIVATE-TOKEN") != "glpat-test":
            self._answer(500 if self.server.fail else 401, {"message": "no"})
        elif self.command == "GET" and path == NOTES:
            self._answer(200, self.server.notes)
        elif self.command == "POST" and path == NOTES:
            note = {"id": len(self.server.notes) + 1, "body": body["body"]}
            self.server.notes.append(note)
            self._answer(201, note)
        elif self.command == "PUT" and path.startswith(NOTES + "/"):
            note = next(n for n in self.server.notes if n["id"] == int(path.rsplit("/", 1)[1]))
            note["body"] = body["body"]
            self._answer(200, note)
        else:
            self._answer(404, {"message": "404 Not found"})

    do_GET = do_POST = do_PUT = _handle


@pytest.fixture
def gitlab() -> Iterator[NotesAPI]:
    server = NotesAPI()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def variables(server: NotesAPI) -> dict[str, str]:
    return {
        "CI_API_V4_URL": f"http://127.0.0.1:{server.server_address[1]}/api/v4",
        "CI_PROJECT_ID": "42",
        "CI_MERGE_REQUEST_IID": "7",
        "CI_PIPELINE_ID": "900",
        "PARLEY_GITLAB_TOKEN": "glpat-test",
    }


@pytest.fixture
def reports(tmp_path: Path) -> list[str]:
    paths = []
    for stack, cost in (("aws-dev", "$120.00"), ("k8s-dev", "$0.00")):
        path = tmp_path / f"{stack}.md"
        path.write_text(f"### {stack}\nMonthly: {cost}\n")
        paths.append(str(path))
    return paths


def test_the_first_push_adds_a_comment_and_later_ones_update_it(
    fakes: Fakes, gitlab: NotesAPI, reports: list[str]
) -> None:
    first = fakes.run("post-mr-comment.sh", *reports, **variables(gitlab))
    assert first.returncode == 0, first.stderr
    assert "added a note" in first.stdout
    assert len(gitlab.notes) == 2
    body = gitlab.notes[1]["body"]
    assert body.startswith(MARKER)
    assert "### aws-dev\nMonthly: $120.00" in body and "### k8s-dev" in body

    Path(reports[0]).write_text("### aws-dev\nMonthly: $95.00\n")
    second = fakes.run("post-mr-comment.sh", *reports, **variables(gitlab))
    assert second.returncode == 0, second.stderr
    assert "updated note 2" in second.stdout
    assert len(gitlab.notes) == 2
    assert "$95.00" in gitlab.notes[1]["body"] and "$120.00" not in gitlab.notes[1]["body"]
    assert [(method, token) for method, _, token in gitlab.requests] == [
        ("GET", "glpat-test"), ("POST", "glpat-test"), ("GET", "glpat-test"), ("PUT", "glpat-test"),
    ]  # fmt: skip


def test_missing_settings_are_named(fakes: Fakes, gitlab: NotesAPI, reports: list[str]) -> None:
    settings = variables(gitlab)
    del settings["PARLEY_GITLAB_TOKEN"]
    no_token = fakes.run("post-mr-comment.sh", *reports, **settings)
    assert no_token.returncode == 2
    assert "PARLEY_GITLAB_TOKEN is not set" in no_token.stderr
    del settings["CI_MERGE_REQUEST_IID"]
    assert "CI_MERGE_REQUEST_IID is not set" in fakes.run("post-mr-comment.sh", *reports, **settings).stderr
    missing_file = fakes.run("post-mr-comment.sh", "/nonexistent/cost.md", **variables(gitlab))
    assert "cannot read /nonexistent/cost.md" in missing_file.stderr
    assert gitlab.requests == []


def test_an_api_error_fails_the_job(fakes: Fakes, gitlab: NotesAPI, reports: list[str]) -> None:
    gitlab.fail = True
    result = fakes.run("post-mr-comment.sh", *reports, **variables(gitlab))
    assert result.returncode != 0
    assert "500" in result.stderr
    assert len(gitlab.notes) == 1
