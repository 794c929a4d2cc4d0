"""Task runners: the in-process default, or a Dask cluster (``--runner dask [--dask-address ADDRESS]``).

With ``dask`` and no address a local cluster of ``LOCAL_WORKERS`` worker processes is started for the command
and closed after it. Work reaches the workers as Prefect tasks (prefect-dask's ``DaskTaskRunner``): files for
ingest, groups of entity types for features, (entity type, entity-id hash) partitions for scoring. The lake's
catalogue is only ever opened by the command's own process; tasks get paths and SQL over immutable Parquet.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

RUNNERS = ("local", "dask")
LOCAL_WORKERS = 2
DEFAULT_PARTITIONS = 2  # hash partitions per entity type when scoring on Dask; groups of entity types for features


@contextmanager
def dask_cluster(address: str | None, workers: int = LOCAL_WORKERS) -> Iterator[str]:
    """The scheduler address of the cluster at ``address``, or of a local one started here (closed on exit)."""
    if address:
        yield address
        return
    from distributed import LocalCluster

    # One thread per worker process: DuckDB and LightGBM use their own threads inside a task.
    with LocalCluster(  # type: ignore[no-untyped-call]
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster:
        yield str(cluster.scheduler_address)


def dask_task_runner(address: str) -> Any:
    """prefect-dask's task runner connected to the scheduler at ``address``."""
    from prefect_dask.task_runners import DaskTaskRunner

    return DaskTaskRunner(address=address)


def dask_workers(address: str) -> int:
    """Number of workers connected to the scheduler at ``address`` (at least 1)."""
    from distributed import Client

    with Client(address, set_as_default=False, timeout=15) as client:  # type: ignore[no-untyped-call]
        return max(1, len(client.scheduler_info(n_workers=-1).get("workers", {})))


class LocalCallback:
    """A callback flow parameter (a progress bar) that works in this process and pickles to a no-op: a Dask task
    carries its flow run's context, parameters included, to the worker, and a bar holds locks that do not pickle."""

    def __init__(self, fn: Callable[..., None] | None) -> None:
        self.fn = fn

    def __call__(self, *args: Any) -> None:
        if self.fn is not None:
            self.fn(*args)

    def __reduce__(self) -> tuple[type[LocalCallback], tuple[None]]:
        return (LocalCallback, (None,))
