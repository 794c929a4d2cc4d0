""".ci/postgres.sh, the PostgreSQL that .ci/run starts for the serving-store suite: each start takes a free port, so a
second run on the same machine does not collide with the first, and the stop command it prints (which .ci/run runs
on exit) stops the server and frees its port and files."""

from __future__ import annotations

import glob
import re
import shlex
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / ".ci" / "postgres.sh"

pytestmark = pytest.mark.skipif(
    not glob.glob("/usr/lib/postgresql/*/bin/initdb"), reason="needs the postgresql packages (.ci/run installs them)"
)


def _start() -> dict[str, str]:
    out = subprocess.run([str(SCRIPT)], capture_output=True, text=True, check=True, timeout=120).stdout
    exported = {}
    for line in out.splitlines():
        words = shlex.split(line)
        assert words[0] == "export", line
        name, _, value = words[1].partition("=")
        exported[name] = value
    return exported


def _port(started: dict[str, str]) -> int:
    found = re.search(r"@127\.0\.0\.1:(\d+)/", started["TRACERISK_TEST_POSTGRES_URL"])
    assert found is not None, started
    return int(found.group(1))


def _answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True
    except OSError:
        return False


def _stop(started: dict[str, str]) -> None:
    subprocess.run(["bash", "-c", started["TRACERISK_TEST_POSTGRES_STOP"]], capture_output=True, timeout=120)


@pytest.fixture
def two_servers() -> Iterator[list[dict[str, str]]]:
    started: list[dict[str, str]] = []
    try:
        started.append(_start())
        started.append(_start())  # while the first one still runs, as a second CI run on the same machine
        yield started
    finally:
        for server in started:
            _stop(server)


def test_two_starts_do_not_collide_and_each_stop_frees_its_port_and_files(two_servers: list[dict[str, str]]) -> None:
    ports = [_port(server) for server in two_servers]
    assert ports[0] != ports[1]
    assert all(_answers(port) for port in ports)
    for server, port in zip(two_servers, ports, strict=True):
        data = re.search(r"rm -rf (\S+)$", server["TRACERISK_TEST_POSTGRES_STOP"])
        assert data is not None and Path(data.group(1)).is_dir(), server
        _stop(server)
        assert not _answers(port)
        assert not Path(data.group(1)).exists()


def test_ci_run_stops_what_it_starts_on_exit() -> None:
    run = (ROOT / ".ci" / "run").read_text()
    start = run.index("postgres_env=$(.ci/postgres.sh)")
    trap = run.index("trap ")
    assert start < trap < run.index("make test")
    assert "TRACERISK_TEST_POSTGRES_STOP" in run[trap : run.index("\n", trap)]
    assert "EXIT" in run[trap : run.index("\n", trap)]
