"""Schemathesis against the service's own OpenAPI schema, as each role: generated requests (valid and invalid) on
every operation; no 5xx, and every response conforms to the schema (status codes, content types, headers, bodies).

The stateful phase chains calls along the schema's OpenAPI links (a worklist's top pick, an outcome on it, the
entity it was recorded on, ...; schemathesis infers a few more) in scenarios that start from one of the role's
worklists; besides the same checks, an entity an outcome was just recorded on must answer 200.

The suite runs a few cases per operation, role and mode, and a few scenarios per role. The full run (at least
1,000 cases) is:

    TRACERISK_FUZZ_EXAMPLES=25 TRACERISK_FUZZ_MIN_CASES=1000 pytest tests/service/test_fuzz.py -s

which prints the number of cases per role and mode and fails below the minimum.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Unsatisfiable
from hypothesis.stateful import initialize
from schemathesis.checks import positive_data_acceptance
from schemathesis.core.errors import format_transition
from schemathesis.generation.stateful.state_machine import StepInput, StepOutput

from service.roles import ROLES
from tests.service.conftest import Env, auth, build_env

EXAMPLES = int(os.environ.get("TRACERISK_FUZZ_EXAMPLES", "3"))  # per operation, role and generation mode
DERANDOMIZE = "TRACERISK_FUZZ_EXAMPLES" not in os.environ  # the suite's run repeats itself; a full run explores
MIN_CASES = int(os.environ.get("TRACERISK_FUZZ_MIN_CASES", "0"))
MODES = (schemathesis.GenerationMode.POSITIVE, schemathesis.GenerationMode.NEGATIVE)
SCENARIOS = 4 * EXAMPLES  # stateful scenarios per role
STEPS = 8  # at most, per scenario
WORKLIST = "GET /v1/worklists/{entity_type}"
OUTCOME_TO_ENTITY = format_transition(
    "POST /v1/outcomes", "201", "Entity", "GET /v1/entities/{entity_type}/{entity_id}"
)
CASES: Counter[tuple[str, str]] = Counter()  # (role, "positive" | "negative" | "stateful positive" | ...) -> cases
LINKS: Counter[tuple[str, str]] = Counter()  # (role, "[status] name" of a link the app declares) -> steps along it


@pytest.fixture(scope="module")
def fuzz_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    e = build_env("sqlite", tmp_path_factory.mktemp("fuzz"))
    yield e
    e.client.close()


def _schema(env: Env, role: str) -> Any:
    """The app's schema as ``role``: schemathesis sends the role's bearer token itself, so a negative case that
    drops the Authorization header goes out without one (and must answer 401)."""
    app = env.client.app
    config = schemathesis.Config.from_dict(
        {
            "auth": {"openapi": {"bearer": {"bearer": env.tokens[role]}}},
            # Query parameters the schema does not name are ignored, as HTTP APIs commonly do: an extra one is not
            # invalid input that must be refused.
            "generation": {"allow-extra-parameters": False},
        }
    )
    schema = schemathesis.openapi.from_dict(app.openapi(), config=config)  # type: ignore[attr-defined]
    schema.app = app  # calls go to the app in process (ASGI), the production-mode app with docs off
    return schema


def _operations(schema: Any) -> list[Any]:
    return [result.ok() for result in schema.get_all_operations()]


def _excluded_checks(operation: Any) -> list[Any]:
    # decided_on must not be in the future, which a JSON schema cannot say: a generated future date is rightly
    # refused with 422, so "schema-valid data is accepted" is not checked on outcomes.
    return [positive_data_acceptance] if operation.label == "POST /v1/outcomes" else []


def _fuzz(operation: Any, mode: Any, role: str) -> None:
    """EXAMPLES generated cases of one operation in one mode; raises on the first failing case."""
    excluded = _excluded_checks(operation)

    @given(case=operation.as_strategy(generation_mode=mode))
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=DERANDOMIZE,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        CASES[role, mode.value] += 1
        response = case.call()
        assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
        case.validate_response(response, excluded_checks=excluded)

    run()


@pytest.mark.parametrize("role", list(ROLES))
def test_schemathesis_as_each_role(fuzz_env: Env, role: str) -> None:
    schema = _schema(fuzz_env, role)
    operations = _operations(schema)
    assert len(operations) >= 10
    failures: list[str] = []
    for operation in operations:
        for mode in MODES:
            try:
                _fuzz(operation, mode, role)
            except Unsatisfiable:  # no parameters to make invalid (negative mode on /healthz, /v1/models, ...)
                continue
            except (Exception, BaseExceptionGroup) as exc:  # collect every operation's failures, then fail once
                failures.append(f"{operation.label} [{mode.value}]: {str(exc).strip()[:1500]}")
    cases = {mode.value: CASES[role, mode.value] for mode in MODES}
    print(f"schemathesis {role}: {cases} cases over {len(operations)} operations")
    assert not failures, "\n".join(failures)


def _mode_of(case: Any) -> str:
    meta = case.meta
    return "positive" if meta is None else str(meta.generation.mode.value)


def _state_machine(schema: Any, role: str, token: str) -> Any:
    """The schema's state machine as ``role`` (whose bearer token is ``token``): each scenario opens one of the
    role's worklists (by type, default capacity) so the links have published entities to follow."""
    base = schema.as_state_machine()
    worklist = next(op for result in schema.get_all_operations() if (op := result.ok()).label == WORKLIST)
    opened = st.sampled_from(sorted(ROLES[role].types)).map(
        lambda entity_type: worklist.Case(path_parameters={"entity_type": entity_type}, query={}, headers=auth(token))
    )

    class RoleStateMachine(base):  # type: ignore[misc, valid-type]
        @initialize(target=base.bundles[f"{WORKLIST} -> 200"], case=opened)
        def open_worklist(self, case: Any) -> StepOutput:
            opening = StepInput.initial(case)
            self.recorder.record_case(case=case)  # as the generated rules record a scenario's first call
            self.control.record_step(opening, self.recorder)
            output: StepOutput = self.step(opening)
            assert output.response.status_code == 200, f"{case.formatted_path}: {output.response.status_code}"
            assert output.response.json()["items"], f"{case.formatted_path}: empty worklist"
            return output

        def step(self, input: StepInput) -> StepOutput:
            mode = _mode_of(input.case)
            CASES[role, f"stateful {mode}"] += 1
            output: StepOutput = super().step(input)
            transition = input.transition
            if transition is None or transition.is_inferred:
                return output
            LINKS[role, transition.id.split(" -> ")[1]] += 1
            applied = {name for _, name in input.applied_parameters}
            if transition.id == OUTCOME_TO_ENTITY and mode == "positive" and applied == {"entity_type", "entity_id"}:
                status = output.response.status_code
                assert status == 200, f"{input.case.formatted_path} after an outcome was recorded on it: {status}"
            return output

        def validate_response(self, response: Any, case: Any, additional_checks: Any = None, **kwargs: Any) -> None:
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.status_code}"
            case.validate_response(
                response,
                additional_checks=additional_checks,
                excluded_checks=_excluded_checks(case.operation),
                transport_kwargs=kwargs or None,
                recorder=self.recorder,
            )

    return RoleStateMachine


@pytest.mark.parametrize("role", list(ROLES))
def test_stateful_as_each_role(fuzz_env: Env, role: str) -> None:
    machine = _state_machine(_schema(fuzz_env, role), role, fuzz_env.tokens[role])
    machine.run(
        settings=settings(
            max_examples=SCENARIOS,
            stateful_step_count=STEPS,
            phases=[Phase.generate],  # a failure is reported as found: shrinking a scenario replays the API calls
            deadline=None,
            database=None,
            derandomize=DERANDOMIZE,
            suppress_health_check=list(HealthCheck),
        )
    )
    cases = {key[1]: n for key, n in CASES.items() if key[0] == role and key[1].startswith("stateful")}
    links = {key[1]: n for key, n in LINKS.items() if key[0] == role}
    print(f"schemathesis stateful {role}: {cases} cases in {SCENARIOS} scenarios; along the declared links: {links}")
    assert sum(cases.values()) >= SCENARIOS
    assert links, "no step followed a link the app's schema declares"


def test_enough_cases_in_the_full_run() -> None:
    """With TRACERISK_FUZZ_MIN_CASES set (the documented full run), the roles' cases together reach it."""
    total = sum(CASES.values())
    print(f"schemathesis total: {total} cases ({dict(CASES)})")
    assert total >= MIN_CASES
