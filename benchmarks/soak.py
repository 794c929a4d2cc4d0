"""Soak test: a fixed rate of mixed reads and outcome writes against ``tracerisk serve`` for a bounded
time, load from a second process on loopback (wrk, paced by its Lua ``delay()``), reporting errors, p50 / p99 per
window and the server's resident memory over time.

    python -m benchmarks.soak --minutes 10 --rate 50 [--entities 20000] [--window 30] [--publish-every 120]
        [--json FILE]

Mix (``--writes``, ``--worklists``): 90% ``GET /v1/entities/employer/{id}``,
5% ``GET /v1/worklists/employer?capacity=20``, 5% ``POST /v1/outcomes``,
spread over ``--users`` labour-inspectorate tokens (every read audited, every outcome written to the store and the
landing zone, as in production). Exits 1 when any request failed. Memory growth is measured from the end of the
first window (warm-up: caches and pools filled) to the end of the last one.

``--publish-every S``: a second process's worth of work in this one, as ``tracerisk score`` does it: every S seconds a
new score run of all the employers is published into the store the server reads (one transaction holding the store's
write lock; the reads' audit entries, worklists and outcomes go to the service database next to it). Each window says
how many publishes overlapped it, and the summary gives the p99 of the windows without one next to the others, and
the socket errors by kind (a read error is a connection the server reset or closed).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import typer

from benchmarks.api_bench import SECRET, _port, _publish, _serve
from data_contracts.home import Home

CONNECTIONS = 8

WRK_SCRIPT = """
local tokens = {%(tokens)s}
local n = %(entities)d
local pace_ms = %(pace_ms).3f
thread_id = 0
local threads = {}

function setup(thread)
  thread:set("thread_id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(1000 + thread_id)
end

function delay()
  return pace_ms
end

request = function()
  local token = tokens[math.random(1, #tokens)]
  local headers = {["Authorization"] = "Bearer " .. token}
  local pick = math.random(1, 100)
  if pick <= %(writes)d then
    headers["Content-Type"] = "application/json"
    local body = string.format(
      '{"entity_type":"employer","entity_id":"E%%d","decided_on":"2024-05-01","kind":"complaint",' ..
      '"indicators_observed":["debt_bondage"]}', math.random(1, n))
    return wrk.format("POST", "/v1/outcomes", headers, body)
  elseif pick <= %(writes)d + %(worklists)d then
    return wrk.format("GET", "/v1/worklists/employer?capacity=20&explore=0.1", headers)
  end
  return wrk.format("GET", "/v1/entities/employer/E" .. math.random(1, n), headers)
end
"""


@dataclass
class Window:
    minute: float  # end of the window, minutes from the start
    requests: int
    rate: float  # requests per second achieved
    errors: int  # non-2xx responses and socket errors
    error_kinds: dict[str, int]  # HTTP status or socket error kind -> count
    p50_ms: float
    p99_ms: float
    rss_mib: float  # server resident memory at the end of the window
    publishes: int = 0  # score runs published while the window ran


def _ms(value: str, unit: str) -> float:
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def parse_wrk(out: str) -> tuple[int, int, float, float, dict[str, int]]:
    """(requests, errors, p50 ms, p99 ms, socket error kinds) from ``wrk --latency`` output."""
    found = re.search(r"(\d+) requests in", out)
    requests = int(found.group(1)) if found else 0
    errors = 0
    kinds: dict[str, int] = {}
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        errors += int(non2xx.group(1))
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    if sockets:
        errors += sum(int(g) for g in sockets.groups())
        for kind, n in zip(("connect", "read", "write", "timeout"), sockets.groups(), strict=True):
            if int(n):
                kinds[f"socket {kind}"] = int(n)
    p50 = re.search(r"50%\s+([\d.]+)(us|ms|s|m)\b", out)
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s|m)\b", out)
    return (
        requests,
        errors,
        _ms(*p50.groups()) if p50 else float("nan"),
        _ms(*p99.groups()) if p99 else float("nan"),
        kinds,
    )


def failed_by_status(port: int) -> dict[str, int]:
    """The server's own count of 4xx / 5xx answers so far, per route and status (from /metrics)."""
    import urllib.request

    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
        text = reply.read().decode()
    out: dict[str, int] = {}
    pattern = r'^tracerisk_http_requests_total\{method="(\w+)",route="([^"]*)",status="(\d+)"\} ([\d.e+]+)$'
    for method, route, status, value in re.findall(pattern, text, re.M):
        if int(status) >= 400:
            out[f"{status} {method} {route}"] = int(float(value))
    return out


def rss_mib(pid: int, field: str = "VmRSS") -> float:
    """Resident memory of ``pid`` in MiB: all of it (VmRSS), or the part not backed by a file (RssAnon: heap and
    caches; the rest is mostly the store's file pages SQLite maps, which grow with the store and the kernel can
    drop)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Publisher:
    """A thread that publishes the employers' published run again under a new run id every ``every_s`` seconds,
    noting when each publish started and ended (seconds on the monotonic clock)."""

    def __init__(self, url: str, every_s: float) -> None:
        self.url, self.every_s = url, every_s
        self.spans: list[tuple[float, float]] = []
        self.publishing_since: float | None = None  # start of the publish in progress
        self.failures: list[str] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="soak-publisher", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=120)

    def overlapping(self, start: float, end: float) -> int:
        """Publishes that ran (or still run) between ``start`` and ``end``."""
        running = self.publishing_since
        done = sum(1 for a, b in self.spans if a < end and b > start)
        return done + (1 if running is not None and running < end else 0)

    def _run(self) -> None:
        import sqlalchemy as sa

        from store.engine import connect
        from store.publish import ScoreRun, publish, published_runs
        from store.tables import score_scope, scores

        engine = connect(self.url)
        with engine.connect() as conn:
            run_id = published_runs(engine)["employer"]
            rows = [dict(r._mapping) for r in conn.execute(sa.select(scores).where(scores.c.run_id == run_id))]
            scope = [
                dict(r._mapping) for r in conn.execute(sa.select(score_scope).where(score_scope.c.run_id == run_id))
            ]
        for row in (*rows, *scope):
            row.pop("run_id")
        n = 0
        while not self._stop.wait(self.every_s):
            n += 1
            started = self.publishing_since = time.monotonic()
            try:
                publish(
                    engine,
                    ScoreRun(f"soak-run-{n}", f"2025-{1 + n % 12:02d}-01", {"employer": "bench-model"}, rows, scope),
                )
            except Exception as exc:  # reported, and the soak fails
                self.failures.append(f"publish {n}: {exc.__class__.__name__}: {exc}")
            self.spans.append((started, time.monotonic()))
            self.publishing_since = None
        engine.dispose()


def soak(
    minutes: float,
    rate: float,
    entities: int,
    users: int,
    window_s: int,
    scratch: Path,
    writes: int = 5,
    worklists: int = 5,
    log: Any = print,
    publish_every_s: float = 0.0,
) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    home = scratch / "soak-home"
    url, tokens, env = _published_store(home, entities, users, rate)
    script = scratch / "soak.lua"
    pace_ms = CONNECTIONS / rate * 1000.0  # each connection waits this long before its next request
    _write_wrk_script(script, tokens, entities, pace_ms, writes, worklists)
    port = _port()
    proc = _serve([sys.executable, "-m", "flows.cli", "serve", "--port", str(port)], env, port)
    windows: list[Window] = []
    anon: list[float] = []  # the server's RssAnon at the end of each window, MiB
    seen_failed: dict[str, int] = {}
    publisher = Publisher(url, publish_every_s) if publish_every_s > 0 else None
    if publisher is not None:
        publisher.start()
    started = time.monotonic()
    deadline = started + minutes * 60
    try:
        start_rss = rss_mib(proc.pid)
        while time.monotonic() < deadline - 1:
            length = max(2, min(window_s, round(deadline - time.monotonic())))
            window_start = time.monotonic()
            requests, errors, p50, p99, kinds = parse_wrk(_run_wrk(script, port, length))
            failed = failed_by_status(port)
            kinds.update({k: v - seen_failed.get(k, 0) for k, v in failed.items() if v != seen_failed.get(k, 0)})
            seen_failed = failed
            w = Window(
                round((time.monotonic() - started) / 60, 2),
                requests,
                round(requests / length, 1),
                errors,
                kinds,
                round(p50, 2),
                round(p99, 2),
                round(rss_mib(proc.pid), 1),
                publisher.overlapping(window_start, time.monotonic()) if publisher is not None else 0,
            )
            windows.append(w)
            anon.append(round(rss_mib(proc.pid, "RssAnon"), 1))
            if requests:  # the wait does not count the response time: correct the pacing towards the target rate
                pace_ms = min(pace_ms * 2, max(pace_ms / 2, pace_ms * (requests / length) / rate))
                _write_wrk_script(script, tokens, entities, pace_ms, writes, worklists)
            log(
                f"{w.minute:6.2f} min  {w.rate:7.1f} req/s  errors {w.errors}  p50 {w.p50_ms:6.2f} ms  "
                f"p99 {w.p99_ms:7.2f} ms  rss {w.rss_mib:7.1f} MiB (anon {anon[-1]:.1f})"
                + (f"  publishes {w.publishes}" if w.publishes else "")
                + (f"  {kinds}" if kinds else "")
            )
            if proc.poll() is not None:
                raise RuntimeError(f"the server exited with {proc.returncode}")
    finally:
        if publisher is not None:
            publisher.stop()
        _stop_server(proc)
    result = {
        "minutes": minutes,
        "target_rate": rate,
        "achieved_rate": round(sum(w.requests for w in windows) / max(1e-9, time.monotonic() - started), 1),
        "entities": entities,
        "users": users,
        "mix_percent": {"entity_reads": 100 - writes - worklists, "worklists": worklists, "outcome_writes": writes},
    }
    return {**result, **_soak_figures(windows, anon, publisher, publish_every_s, home, start_rss)}


def _published_store(home: Path, entities: int, users: int, rate: float) -> tuple[str, list[str], dict[str, str]]:
    """(store URL, bearer tokens, server environment): ``entities`` employers published into a new store under
    ``home`` and ``users`` labour-inspectorate users, rate-limited with room for ``rate`` requests per second."""
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{Home(home).serving_db}"
    _publish(url, entities)
    from service.auth import add_user
    from store.engine import connect

    engine = connect(url)
    regions = tuple(f"R{r}" for r in range(20))
    tokens = [add_user(engine, SECRET.encode(), f"soak-{i}", "labour_inspectorate", regions) for i in range(users)]
    engine.dispose()
    per_user_per_minute = rate * 60 / users
    env = {
        **os.environ,
        "TRACERISK_HOME": str(home),
        "TRACERISK_STORE_URL": url,
        "TRACERISK_SECRET_KEY": SECRET,
        "TRACERISK_MODE": "production",
        # the limit is on (every request checks its bucket) with room for random bunching at this rate
        "TRACERISK_RATE_LIMIT_PER_MINUTE": str(int(per_user_per_minute * 4) + 60),
        "TRACERISK_RATE_LIMIT_BURST": "1000",
        "TRACERISK_METRICS": "open",  # the soak reads the server's own error counts (loopback only)
    }
    return url, tokens, env


def _write_wrk_script(
    script: Path, tokens: list[str], entities: int, pace_ms: float, writes: int, worklists: int
) -> None:
    values = {
        "tokens": ", ".join(f'"{t}"' for t in tokens),
        "entities": entities,
        "pace_ms": pace_ms,
        "writes": writes,
        "worklists": worklists,
    }
    script.write_text(WRK_SCRIPT % values, encoding="utf-8")


def _run_wrk(script: Path, port: int, seconds: int) -> str:
    """``wrk --latency``'s output of one window of ``seconds`` against the server on ``port``."""
    wrk = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "5s", "--latency", "-s", str(script)]
    done = subprocess.run(
        [*wrk, f"http://127.0.0.1:{port}"],
        capture_output=True,
        text=True,
        timeout=seconds + 60,
        check=True,
    )
    return done.stdout


def _stop_server(proc: subprocess.Popen[bytes]) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()


def _soak_figures(
    windows: list[Window],
    anon: list[float],
    publisher: Publisher | None,
    publish_every_s: float,
    home: Path,
    start_rss: float,
) -> dict[str, Any]:
    """The soak's summary after the server stopped: requests, errors, publishes, latency and memory growth."""
    outcomes = len(list(Home(home).outcome_landing.glob("*.csv")))
    base = windows[0].rss_mib if windows else float("nan")
    last = windows[-1].rss_mib if windows else float("nan")
    p99s = sorted(w.p99_ms for w in windows)
    quiet = sorted(w.p99_ms for w in windows if not w.publishes)
    during = sorted(w.p99_ms for w in windows if w.publishes)
    return {
        "requests": sum(w.requests for w in windows),
        "errors": sum(w.errors for w in windows) + (len(publisher.failures) if publisher else 0),
        "publish_every_s": publish_every_s,
        "publishes": len(publisher.spans) if publisher else 0,
        "publish_s": [round(b - a, 2) for a, b in publisher.spans] if publisher else [],
        "publish_failures": publisher.failures if publisher else [],
        "socket_errors": {
            kind: sum(w.error_kinds.get(f"socket {kind}", 0) for w in windows)
            for kind in ("connect", "read", "write", "timeout")
        },
        "p99_ms_max_without_publish": quiet[-1] if quiet else None,
        "p99_ms_max_with_publish": during[-1] if during else None,
        "outcomes_written": outcomes,
        "p50_ms_median": sorted(w.p50_ms for w in windows)[len(windows) // 2] if windows else None,
        "p99_ms_min": p99s[0] if p99s else None,
        "p99_ms_median": p99s[len(p99s) // 2] if p99s else None,
        "p99_ms_max": p99s[-1] if p99s else None,
        "rss_start_mib": round(start_rss, 1),
        "rss_after_first_window_mib": base,
        "rss_end_mib": last,
        "rss_growth_after_warmup": round((last - base) / base, 4) if windows else None,
        "rss_anon_after_first_window_mib": anon[0] if anon else None,
        "rss_anon_end_mib": anon[-1] if anon else None,
        "rss_anon_growth_after_warmup": round((anon[-1] - anon[0]) / anon[0], 4) if anon else None,
        "windows": [asdict(w) for w in windows],
    }


def main(
    minutes: float = typer.Option(10.0, help="how long to hold the rate"),
    rate: float = typer.Option(50.0, help="requests per second (90% entity reads, 5% worklists, 5% outcomes)"),
    entities: int = typer.Option(20_000, help="published employers"),
    users: int = typer.Option(10, help="labour-inspectorate tokens the requests are spread over"),
    window: int = typer.Option(30, help="seconds per reporting window"),
    writes: int = typer.Option(5, min=0, max=100, help="percent of requests that record an outcome"),
    worklists: int = typer.Option(5, min=0, max=100, help="percent of requests that read a worklist"),
    publish_every: float = typer.Option(0.0, help="seconds between score runs published during the soak (0: none)"),
    json_out: Path | None = typer.Option(None, "--json", help="write the result here"),  # noqa: B008
) -> None:
    """Hold a fixed mixed rate against the service and report errors, latency over time and memory growth."""
    with tempfile.TemporaryDirectory() as scratch:
        result = soak(
            minutes, rate, entities, users, window, Path(scratch), writes, worklists, publish_every_s=publish_every
        )
    summary = {k: v for k, v in result.items() if k != "windows"}
    print(json.dumps(summary, indent=2))
    if json_out is not None:
        json_out.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    if result["errors"]:
        raise typer.Exit(1)


if __name__ == "__main__":
    typer.run(main)
