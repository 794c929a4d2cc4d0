"""Every Prefect flow and task of the project is declared as flows/declare.py says: flows log no prints and take
their parameters unvalidated, tasks cache nothing and are retried once per declared delay."""

from __future__ import annotations

import importlib
import pkgutil

import pytest
from prefect import Flow, Task
from prefect.cache_policies import NO_CACHE

import flows
from flows.declare import flow_named, task_named


def _declared() -> list[Flow[..., object] | Task[..., object]]:
    found: dict[int, Flow[..., object] | Task[..., object]] = {}
    for module in pkgutil.iter_modules(flows.__path__, "flows."):
        for value in vars(importlib.import_module(module.name)).values():
            if isinstance(value, Flow | Task):
                found[id(value)] = value
    return list(found.values())


def test_the_decorators_declare_what_they_say() -> None:
    made_flow = flow_named("f", retries=2, retry_delay_seconds=60)(lambda x: x)
    assert (made_flow.name, made_flow.log_prints, made_flow.should_validate_parameters) == (
        "f",
        False,
        False,
    )
    assert (made_flow.retries, made_flow.retry_delay_seconds) == (2, 60)
    made_task = task_named("t", retry_delays=[1, 5])(lambda x: x)
    assert (made_task.name, made_task.retries, made_task.retry_delay_seconds) == ("t", 2, [1, 5])
    assert made_task.cache_policy is NO_CACHE


def test_the_project_declares_its_flows_and_tasks_one_way() -> None:
    declared = _declared()
    assert len([d for d in declared if isinstance(d, Flow)]) >= 10 and len(declared) >= 20
    for item in declared:
        if isinstance(item, Flow):
            assert (item.log_prints, item.should_validate_parameters) == (False, False), item.name
        else:
            assert item.cache_policy is NO_CACHE, item.name
            assert item.retries == len(item.retry_delay_seconds or []), item.name


@pytest.mark.parametrize("delays", [[], [0.5], [1, 5, 30]])
def test_a_task_is_retried_once_per_delay(delays: list[float]) -> None:
    assert task_named("t", retry_delays=delays)(lambda: None).retries == len(delays)
