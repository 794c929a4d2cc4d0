"""Measuring a command as a user runs it: wall time and peak resident memory of its whole process tree."""

from __future__ import annotations

import os
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.profiling import profiled_argv, render

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass(frozen=True)
class Measurement:
    seconds: float  # wall-clock time of the command
    peak_rss_bytes: int  # largest sum of RSS over the command's process tree, sampled every 20 ms
    returncode: int
    output: str


def _tree_rss(root: int) -> int:
    """Sum of resident memory of ``root`` and all its descendants (bytes), from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(entry.path, "stat").read_text()
            fields = stat[stat.rindex(")") + 2 :].split()
            parents[int(entry.name)] = int(fields[1])
            rss[int(entry.name)] = int(fields[21]) * PAGE
        except (OSError, ValueError, IndexError):
            continue
    total, stack, seen = 0, [root], set()
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    while stack:
        pid = stack.pop()
        if pid in seen:
            continue
        seen.add(pid)
        total += rss.get(pid, 0)
        stack.extend(children.get(pid, []))
    return total


def run_measured(argv: list[str], env: dict[str, str] | None = None, timeout: float = 3_600) -> Measurement:
    """Run ``argv``; under ``python -m benchmarks run --profile DIR`` a ``python -m`` command runs under pyinstrument
    (benchmarks/profiling.py) and its text + HTML profile is written after it exits."""
    argv, session = profiled_argv(argv)
    started = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        output, _ = proc.communicate(timeout=timeout)
    finally:
        done.set()
        sampler.join()
    seconds = time.perf_counter() - started
    render(session)
    return Measurement(seconds, peak, proc.returncode, output)
