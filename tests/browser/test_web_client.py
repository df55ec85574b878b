"""Two people chat through the web client, each in their own headless Chromium context, against a real
`parley serve` process (the `parley_server` fixture)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect, sync_playwright

from tests.support.servers import ServerProcess, migrate

pytestmark = pytest.mark.browser

CHROMIUM = shutil.which("chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 10_000
DESKTOP = {"width": 1200, "height": 800}
PHONE = {"width": 400, "height": 800}


@pytest.fixture
def browser() -> Iterator[Browser]:
    if CHROMIUM is None:
        pytest.skip("chromium is not installed (apt-get install -y chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


class Person:
    """One user in their own browser context (separate localStorage), with page errors collected."""

    def __init__(self, browser: Browser, base_url: str, *, viewport: dict[str, int], display_name: str) -> None:
        self.context = browser.new_context(viewport=viewport)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.page: Page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: dialog.accept())
        self.base_url = base_url
        self.display_name = display_name
        self.username = f"{display_name.split()[0].lower()}{uuid.uuid4().hex[:8]}"

    def register(self) -> None:
        page = self.page
        page.goto(self.base_url)
        page.locator(".auth-modes [data-mode=register]").click()
        page.get_by_label("Username", exact=True).fill(self.username)
        page.get_by_label("Password", exact=True).fill("correct horse battery staple")
        page.get_by_label("Display name (optional)").fill(self.display_name)
        page.locator("#auth-submit").click()
        expect(page.locator("#me-name")).to_have_text(self.display_name, timeout=TIMEOUT_MS)
        expect(page.locator("#connection")).to_have_text("Online", timeout=TIMEOUT_MS)

    def room_item(self, title: str) -> Locator:
        return self.page.locator("#room-list .room-item").filter(has_text=title)

    def open_room(self, title: str) -> None:
        self.room_item(title).click()
        expect(self.page.locator("#room-title")).to_have_text(title, timeout=TIMEOUT_MS)

    def send(self, text: str) -> None:
        composer = self.page.get_by_label("Message", exact=True)
        composer.fill(text)
        composer.press("Enter")
        expect(composer).to_have_value("")

    def bodies(self) -> Locator:
        return self.page.locator("#messages .msg .body")

    def message(self, text: str) -> Locator:
        return self.page.locator("#messages .msg").filter(has_text=text)


def test_two_people_chat_live(parley_server, browser: Browser) -> None:
    alice = Person(browser, parley_server.base_url, viewport=DESKTOP, display_name="Alice Example")
    bob = Person(browser, parley_server.base_url, viewport=PHONE, display_name="Bob Builder")
    alice.register()
    bob.register()

    alice.page.locator("#new-room summary").click()
    alice.page.get_by_label("Direct message").fill(bob.username)
    alice.page.get_by_role("button", name="Start").click()
    expect(alice.page.locator("#room-title")).to_have_text("Bob Builder")

    alice.send("Hello Bob")
    mine = alice.page.locator("#messages .group.mine")
    expect(mine.locator(".msg .body")).to_have_text(["Hello Bob"])
    expect(mine.locator(".sender")).to_have_text(["Alice Example (you)"])
    expect(alice.page.locator("#messages .msg.pending")).to_have_count(0)

    # Bob has not opened the room: it appears live in his list, with an unread badge and a preview.
    bob_room = bob.room_item("Alice Example")
    expect(bob_room.locator(".badge")).to_have_text("1")
    expect(bob_room.locator(".room-preview")).to_have_text("Hello Bob")

    bob.open_room("Alice Example")
    expect(bob.bodies()).to_have_text(["Hello Bob"])
    expect(bob.page.locator("#messages .group:not(.mine) .sender")).to_have_text(["Alice Example"])

    alice.send("Are you there?")
    expect(bob.bodies()).to_have_text(["Hello Bob", "Are you there?"])

    bob.page.get_by_label("Message", exact=True).press_sequentially("Hi Al", delay=50)
    expect(alice.page.locator("#typing")).to_have_text("Bob Builder is typing…")
    bob.page.get_by_label("Message", exact=True).fill("")
    bob.send("Hi Alice")
    expect(alice.bodies()).to_have_text(["Hello Bob", "Are you there?", "Hi Alice"])
    expect(alice.page.locator("#messages .group:not(.mine) .sender")).to_have_text(["Bob Builder"])
    expect(alice.page.locator("#typing")).to_have_text("")

    # Reading in the open room cleared Bob's badge; on a phone-sized screen he goes back to the list.
    bob.page.get_by_role("button", name="Back to conversations").click()
    expect(bob_room.locator(".room-preview")).to_have_text("You: Hi Alice")
    expect(bob_room.locator(".badge")).to_have_count(0)
    bob.open_room("Alice Example")

    alice.page.reload()
    alice.open_room("Bob Builder")
    expect(alice.bodies()).to_have_text(["Hello Bob", "Are you there?", "Hi Alice"])
    expect(alice.page.locator("#room-subtitle")).to_contain_text("online")

    bob_reply = bob.message("Hi Alice")
    bob_reply.hover()
    bob_reply.get_by_role("button", name="Edit message").click()
    bob.page.get_by_label("Edit message").fill("Hi Alice, edited")
    bob.page.get_by_label("Edit message").press("Enter")
    expect(bob.message("Hi Alice, edited").locator(".edited")).to_have_text("(edited)")
    expect(alice.bodies()).to_have_text(["Hello Bob", "Are you there?", "Hi Alice, edited"])
    expect(alice.message("Hi Alice, edited").locator(".edited")).to_have_text("(edited)")

    question = alice.message("Are you there?")
    question.hover()
    question.get_by_role("button", name="Delete message").click()
    expect(bob.bodies()).to_have_text(["Hello Bob", "message deleted", "Hi Alice, edited"])

    assert alice.errors == []
    assert bob.errors == []


def test_the_client_opens_the_websocket_the_server_names(tmp_path: Path, browser: Browser) -> None:
    """`PARLEY_PUBLIC_WEBSOCKET_URL` (served in `GET /api/v1/endpoints`) sends the client to another host, as on
    serverless; here the same server under another name, so only the served address can explain the host."""
    env = {
        "PARLEY_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'parley.db'}",
        "PARLEY_BUS_URL": "memory://",
        "PARLEY_LOG_LEVEL": "WARNING",
    }
    migrate(env)
    server = ServerProcess(env=env, log_path=tmp_path / "server.log")
    served = f"ws://localhost:{server.port}/ws"
    server.env["PARLEY_PUBLIC_WEBSOCKET_URL"] = served
    server.start()
    try:
        carol = Person(browser, server.base_url, viewport=DESKTOP, display_name="Carol Served")
        opened: list[str] = []
        carol.page.on("websocket", lambda socket: opened.append(socket.url))
        carol.register()  # waits for "Online": the socket at the served address is open
        assert opened and all(url.startswith(f"{served}?token=") for url in opened), opened
        assert server.base_url.startswith("http://127.0.0.1:") and carol.errors == []
    finally:
        server.stop()
