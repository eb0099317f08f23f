"""Every Pilot test of a pane runs twice: against the in-process client and against the socket client talking to
a real server on a Unix socket (in this event loop), so no screen can lean on an in-process shortcut."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from core.bench import Bench
from core.client import BenchClient, LocalClient, SocketClient
from core.server import Server
from tests.support.homes import BenchHome, make_home, seed
from tui.app import RelayboardApp


@pytest.fixture
def demo_home(tmp_path: Path) -> Iterator[BenchHome]:
    test_home = make_home(tmp_path)
    try:
        yield test_home
    finally:
        test_home.kill_tmux()


@pytest.fixture
async def demo_bench(demo_home: BenchHome) -> AsyncIterator[Bench]:
    await seed(demo_home)
    bench = await demo_home.opener()()
    try:
        yield bench
    finally:
        await bench.close()


@pytest.fixture
def short_dir() -> Iterator[Path]:
    """A directory with a short path: a Unix socket path has at most 107 bytes, pytest's tmp paths can be longer."""
    path = Path(tempfile.mkdtemp(prefix="rb-", dir="/tmp"))
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(params=["local", "socket"])
async def client(request: pytest.FixtureRequest, demo_bench: Bench, short_dir: Path) -> AsyncIterator[BenchClient]:
    if request.param == "local":
        yield LocalClient(demo_bench)
        return
    server = Server(demo_bench, short_dir / "relayboard.sock")
    await server.start()
    attached = await SocketClient.connect(server.path, surface="tui")
    try:
        yield attached
    finally:
        await attached.close()
        await server.close()


@pytest.fixture
def app(client: BenchClient, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RelayboardApp:
    # The launch form proposes the directory Relayboard was started in; the command policy allows only project roots
    # (by default under home and the temporary directory), so start where an operator's project would be.
    monkeypatch.chdir(tmp_path)
    return RelayboardApp(client, refresh_seconds=0)
