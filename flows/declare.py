"""How every Prefect flow and task of the project is declared, said once.

Flows log no prints (progress and summaries are the command line's) and Prefect does not validate their
parameters (typed Python values passed in the same process: paths, dates, feature tables). Tasks cache no result:
each reads the lake, the models and the store as they are when it runs, so a retry or a later run never reuses an
answer computed from older files.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import ParamSpec, Protocol, TypeVar

from prefect import Flow, Task, flow, task
from prefect.cache_policies import NO_CACHE

P = ParamSpec("P")
R = TypeVar("R")


class FlowDecorator(Protocol):
    def __call__(self, fn: Callable[P, R], /) -> Flow[P, R]: ...


class TaskDecorator(Protocol):
    def __call__(self, fn: Callable[P, R], /) -> Task[P, R]: ...


def flow_named(name: str, *, retries: int | None = None, retry_delay_seconds: int | None = None) -> FlowDecorator:
    """The decorator of a flow named ``name``; a failed run is retried ``retries`` times, ``retry_delay_seconds``
    apart."""
    return flow(
        name=name,
        log_prints=False,
        validate_parameters=False,
        retries=retries,
        retry_delay_seconds=retry_delay_seconds,
    )


def task_named(name: str, *, retry_delays: list[float]) -> TaskDecorator:
    """The decorator of a task named ``name``, retried once per delay in ``retry_delays`` (seconds)."""
    return task(
        name=name,
        retries=len(retry_delays),
        retry_delay_seconds=retry_delays,
        cache_policy=NO_CACHE,
    )
