"""API read benchmark: ``GET /v1/entities/{type}/{id}`` of published scores at concurrency 64, load
from a second process on loopback (wrk), against a bare FastAPI endpoint in the same run.

``python -m benchmarks.api_bench [--entities N] [--duration S]`` prints the rows; ``api(scale, scratch)`` has the
``benchmarks.suite.BENCHMARKS`` signature. Every read is authenticated, scoped and audited (as in production).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from benchmarks.suite import Row, row
from data_contracts.home import Home

ENTITIES = {"tiny": 2_000, "small": 20_000, "medium": 100_000, "large": 400_000}
TARGET_RPS = 800
TARGET_P99_MS = 25.0
CONCURRENCY = 64
SECRET = "benchmark-secret-key-0123456789abcdef"

BARE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/v1/entities/{entity_type}/{entity_id}")
async def bare(entity_type: str, entity_id: str) -> dict[str, str]:
    return {"entity_type": entity_type, "entity_id": entity_id}
"""

WRK_SCRIPT = """
math.randomseed(1)
local n = %d
request = function()
  local path = "/v1/entities/employer/E" .. math.random(1, n)
  return wrk.format("GET", path, {["Authorization"] = "Bearer %s"})
end
"""
# The same reads paced: after each response a connection waits an exponentially distributed time with this mean
# (ms) before its next request, so the offered rate is about CONCURRENCY / (pace + latency) and arrivals are
# close to Poisson (a constant delay keeps the 64 connections in lock-step waves that queue behind each other).
# A closed loop (no pace) can only show p99 under 25 ms at c=64 above 64 / 0.025 = 2,560 req/s (Little's law);
# the paced run measures latency at the target rate itself.
PACE_LINE = "function delay() return -%.3f * math.log(1 - math.random()) end\n"


def _publish(url: str, n: int) -> str:
    from models.reasons import Reason, docs_link, encode_reasons
    from service.auth import add_user
    from store.engine import connect
    from store.publish import ScoreRun, publish

    rows: list[dict[str, Any]] = []
    scope: list[dict[str, Any]] = []
    reasons = encode_reasons(Reason(f"E0{j}", "t", 0.5, "d", 0.5 / j, docs_link(f"E0{j}")) for j in range(1, 6))
    for i in range(1, n + 1):
        rows.append(
            {
                "entity_type": "employer",
                "entity_id": f"E{i}",
                "name": f"Employer {i}",
                "country": "CA",
                "region": f"R{i % 20}",
                "sector": "agriculture",
                "probability": 1.0 / (1 + i),
                "band": "low",
                "rank": i,
                "rank_in_region": i // 20 + 1,
                "red_flags": 1,
                "model_id": "bench-model",
                "as_of": "2024-01-01",
                "reasons": reasons,
                "base_value": -2.0,
                "raw_score": -1.0,
            }
        )
        scope.append({"entity_type": "employer", "entity_id": f"E{i}", "kind": "region", "value": f"R{i % 20}"})
    engine = connect(url)
    for k, as_of in enumerate(("2023-10-01", "2024-01-01")):
        publish(engine, ScoreRun(f"run-{k}", as_of, {"employer": "bench-model"}, rows, scope))
    token = add_user(
        engine, SECRET.encode(), "bench-inspector", "labour_inspectorate", tuple(f"R{r}" for r in range(20))
    )
    engine.dispose()
    return token


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError("server did not start")


def _wrk(url: str, script: Path, duration: int) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run at CONCURRENCY connections."""
    out = subprocess.run(
        ["wrk", "-t2", f"-c{CONCURRENCY}", f"-d{duration}s", "--latency", "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]
    ms: list[float] = []
    for pct in ("50", "99"):
        value, unit = re.search(pct + r"%\s+([\d.]+)(us|ms|s)", out).groups()  # type: ignore[union-attr]
        ms.append(float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit])
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    if non2xx:
        raise RuntimeError(f"{non2xx.group(1)} failed responses")
    return rps, ms[0], ms[1]


def api(scale: str, scratch: Path, duration: int = 10) -> list[Row]:
    if shutil.which("wrk") is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    n = ENTITIES.get(scale, 20_000)
    home = scratch / "api-home"
    home.mkdir(parents=True, exist_ok=True)
    url = f"sqlite:///{Home(home).serving_db}"
    token = _publish(url, n)
    script = scratch / "entities.lua"
    script.write_text(WRK_SCRIPT % (n, token), encoding="utf-8")
    (scratch / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
    env = {
        **os.environ,
        "TRACERISK_HOME": str(home),
        "TRACERISK_STORE_URL": url,
        "TRACERISK_SECRET_KEY": SECRET,
        "TRACERISK_MODE": "production",
        "TRACERISK_RATE_LIMIT_PER_MINUTE": "0",  # one token at full speed: the per-token limit is off here
    }
    results: dict[str, tuple[float, float, float]] = {}
    commands: dict[str, Callable[[int], list[str]]] = {
        "service": lambda p: [sys.executable, "-m", "flows.cli", "serve", "--port", str(p)],
        "bare": lambda p: [
            sys.executable,
            "-m",
            "uvicorn",
            "--app-dir",
            str(scratch),
            "bare_app:app",
            "--port",
            str(p),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
    }
    paced = scratch / "entities-paced.lua"

    def pace(ms: float) -> Path:
        paced.write_text(script.read_text(encoding="utf-8") + PACE_LINE % ms, encoding="utf-8")
        return paced

    for name, args_of in commands.items():
        # Dirty pages of the publish above and of earlier benchmarks (GBs after a large run) written out now, not
        # while the service's audit commits are being timed.
        os.sync()
        port = _port()
        proc = _serve(args_of(port), env, port)
        try:
            url_ = f"http://127.0.0.1:{port}"
            _wrk(url_, script, 2)  # warm-up
            results[name] = _wrk(url_, script, duration)
            if name == "service":  # latency at the target rate: pace, correct once for the latency, measure
                pace_ms = 1000.0 * CONCURRENCY / TARGET_RPS
                achieved, _, _ = _wrk(url_, pace(pace_ms), 3)
                pace_ms = max(0.0, 2 * pace_ms - 1000.0 * CONCURRENCY / achieved)  # pace - (cycle - pace)
                results["paced"] = _wrk(url_, pace(pace_ms), duration)
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    (rps, p50, p99), (bare_rps, _, bare_p99) = results["service"], results["bare"]
    paced_rps, paced_p50, paced_p99 = results["paced"]
    return [
        row(f"GET /v1/entities at c={CONCURRENCY} ({n:,} employers): requests/s", rps, "req/s", "target", TARGET_RPS),
        row("GET /v1/entities, closed loop at full load: p50 latency", p50, "ms", "p99 target", TARGET_P99_MS),
        row("GET /v1/entities, closed loop at full load: p99 latency", p99, "ms", "target", TARGET_P99_MS),
        row(
            f"GET /v1/entities paced to {TARGET_RPS} req/s over {CONCURRENCY} connections: requests/s achieved",
            paced_rps,
            "req/s",
            "target",
            TARGET_RPS,
        ),
        row(f"GET /v1/entities paced to {TARGET_RPS} req/s: p50 latency", paced_p50, "ms", "p99 target", TARGET_P99_MS),
        row(f"GET /v1/entities paced to {TARGET_RPS} req/s: p99 latency", paced_p99, "ms", "target", TARGET_P99_MS),
        row("GET /v1/entities vs bare FastAPI endpoint: requests/s", rps, "req/s", "bare endpoint", bare_rps),
        row("bare FastAPI endpoint: p99 latency", bare_p99, "ms", "target", TARGET_P99_MS),
    ]


def main(
    scale: str = typer.Option("small", help="tiny, small, medium or large (number of published employers)"),
    duration: int = typer.Option(10, help="seconds of load per server"),
) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as scratch:
        for r in api(scale, Path(scratch), duration):
            print(
                f"{r['name']}: {r['figure']:,.1f} {r['unit']} ({r['compared_with']} {r['comparison_figure']:,.1f}, "
                f"ratio {r['ratio']:.2f})"
            )


if __name__ == "__main__":
    typer.run(main)
