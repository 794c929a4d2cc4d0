"""``python -m benchmarks run --profile DIR``: a pyinstrument profile (text + HTML) of what each benchmark runs.

While ``profiling(DIR / name)`` is active:

* every measured ``python -m MODULE ...`` command (``benchmarks.measure.run_measured``) runs as
  ``python -m pyinstrument --use-timing-thread -r pyisession -o FILE -m MODULE ...``; its profile is written next
  to FILE as ``NN-<module>-<subcommand>.txt`` and ``.html`` (the ``.pyisession`` stays: ``pyinstrument --load FILE``
  renders it again with other options). pyinstrument samples the command's main thread: work in Dask workers or
  in a process pool shows as waiting.
* the benchmark's own in-process work (the harness, e.g. the API benchmark publishing its rows) goes to
  ``harness.txt`` / ``harness.html``.

A process this module does not start, such as the API benchmark's server, is profiled by wrapping its command
with ``profiled_argv(argv, label)``, stopping it with SIGINT and rendering the session with ``render(session)``
after it has exited (uvicorn re-raises the signal it stopped on after its clean shutdown: SIGINT becomes a
KeyboardInterrupt, after which pyinstrument writes the session; SIGTERM kills the process before that); or from
outside with py-spy: ``py-spy record --pid PID --duration 30 -o server.svg`` (README, "Benchmarks").

Profiled figures include the profiler's overhead (about 1 ms sampling); take figures from a run without it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_directory: Path | None = None
_count = 0


def profile_dir() -> Path | None:
    """The folder profiles go to, or None when profiling is off."""
    return _directory


@contextmanager
def profiling(directory: Path | None) -> Iterator[None]:
    """Profile measured commands and the in-process work into ``directory`` (None: no profiling)."""
    global _directory, _count
    if directory is None:
        yield
        return
    from pyinstrument import Profiler

    directory.mkdir(parents=True, exist_ok=True)
    previous = _directory, _count
    _directory, _count = directory, 0
    profiler = Profiler(use_timing_thread=True)  # reading the clock costs ~350 ns here: one thread keeps time
    profiler.start()
    try:
        yield
    finally:
        session = profiler.stop()
        _write(session, directory / "harness")
        _directory, _count = previous


def _label(argv: list[str]) -> str:
    """``flows.cli-features-runner-dask`` for ``python -m flows.cli features --as-of D --runner dask``."""
    words = [argv[2]]
    rest = argv[3:]
    if rest and not rest[0].startswith("-"):
        words.append(rest[0])
    if "--runner" in rest[:-1]:
        words += ["runner", rest[rest.index("--runner") + 1]]
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(words))


def profiled_argv(argv: list[str], label: str | None = None) -> tuple[list[str], Path | None]:
    """``argv`` run under pyinstrument when profiling is on and it is a ``python -m MODULE`` command, with the
    session file it writes on exit (pass it to ``render``); else ``(argv, None)``."""
    global _count
    if _directory is None or len(argv) < 3 or argv[1] != "-m":
        return argv, None
    _count += 1
    session = _directory / f"{_count:02d}-{label or _label(argv)}.pyisession"
    wrapper = [argv[0], "-m", "pyinstrument", "--use-timing-thread", "-r", "pyisession", "-o", str(session)]
    return [*wrapper, "-m", *argv[2:]], session


def render(session: Path | None) -> list[Path]:
    """Write ``session``'s text and HTML profiles next to it; the paths written (none if it was not saved)."""
    if session is None or not session.exists():
        return []
    from pyinstrument.session import Session

    try:
        loaded = Session.load(session)
    except ValueError:  # empty or cut short: the process died before pyinstrument wrote it
        return []
    return _write(loaded, session.with_suffix(""))


def _write(session: Any, stem: Path) -> list[Path]:
    from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer

    text, html = stem.with_name(stem.name + ".txt"), stem.with_name(stem.name + ".html")
    text.write_text(ConsoleRenderer(unicode=True, color=False).render(session), encoding="utf-8")
    html.write_text(HTMLRenderer().render(session), encoding="utf-8")
    return [text, html]
