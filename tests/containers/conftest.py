"""Fixtures of the container tests: the base and the image built once per session (podman's layer cache makes
a rebuild of unchanged sources take seconds), containers cleaned up after each test, and the figures worth
reading (image size, build and start-to-ready times) printed at the end of the run."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator

import pytest

from tests.containers.podman import ROOT, Podman, base_image, build, image_size, podman

FIGURES = pytest.StashKey[dict[str, str]]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[FIGURES] = {}


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    if figures := config.stash.get(FIGURES, {}):
        terminalreporter.section("container figures")
        for name, value in figures.items():
            terminalreporter.write_line(f"{name}: {value}")


@pytest.fixture(scope="session")
def figures(pytestconfig: pytest.Config) -> dict[str, str]:
    """Figures a test measured, printed after the run ({name: "value with unit"})."""
    return pytestconfig.stash[FIGURES]


@pytest.fixture(scope="session")
def podman_base(tmp_path_factory: pytest.TempPathFactory, figures: dict[str, str]) -> str:
    if shutil.which("podman") is None:
        pytest.fail("podman is missing: run `python -m tests.setup` as root (make test does)")
    base = base_image(tmp_path_factory.mktemp("base"))
    figures["base image"] = f"{base}, {image_size(base) / 1e6:.0f} MB"
    return base


@pytest.fixture(scope="session")
def parley_image(podman_base: str, figures: dict[str, str]) -> Iterator[str]:
    """The image of the Dockerfile at the root, built on the session's base. Its tag is the session's own, so
    a session running beside this one (building other sources) never swaps the image under its containers."""
    image = f"localhost/parley:test-{uuid.uuid4().hex[:8]}"
    seconds = build(ROOT, image, base=podman_base)
    figures["image build"] = f"{seconds:.1f} s"
    figures["image size"] = f"{image_size(image) / 1e6:.0f} MB"
    yield image
    podman("rmi", image, check=False)


@pytest.fixture
def containers(parley_image: str) -> Iterator[Podman]:
    """Runs the image; every container and volume a test makes is removed after it, whatever the outcome."""
    made = Podman(parley_image)
    yield made
    made.remove_all()
