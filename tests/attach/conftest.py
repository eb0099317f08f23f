from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.headless import Headless, short_home


@pytest.fixture
def headless(tmux_socket: str, tmux_bin: str) -> Iterator[Headless]:
    """A started `relayboard headless` on a fresh home whose agents run on the test's private tmux socket."""
    server = Headless(short_home(tmux_socket, watch_seconds=0.5, user_id="tester"))
    try:
        yield server.start()
    finally:
        server.remove()
