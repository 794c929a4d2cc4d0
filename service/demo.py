"""Demo users, one per role, scoped to the busiest keys of what is published (for the main job's demo)."""

from __future__ import annotations

import contextlib

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from data_contracts.contracts import ORGANISATION_TYPES
from service.auth import UserError, add_user, revoke_user
from service.roles import ROLES
from store.tables import published, score_scope, scores, supply_rollup

PORTFOLIO_SIZE = 25


def _top(engine: Engine, kind: str, entity_types: tuple[str, ...], n: int = 1) -> list[str]:
    """The ``n`` scope values of ``kind`` with the most published entities of the given types."""
    count = sa.func.count(sa.distinct(score_scope.c.entity_id))
    query = (
        sa.select(score_scope.c.value, count.label("n"))
        .join(
            published,
            sa.and_(published.c.run_id == score_scope.c.run_id, published.c.entity_type == score_scope.c.entity_type),
        )
        .where(score_scope.c.kind == kind, score_scope.c.entity_type.in_(entity_types))
        .group_by(score_scope.c.value)
        .order_by(count.desc(), score_scope.c.value)
        .limit(n)
    )
    with engine.connect() as conn:
        return [str(r.value) for r in conn.execute(query)]


def _portfolio(engine: Engine) -> list[str]:
    """A supplier portfolio: the first buyer of the published supply roll-up (its portfolio page, and its suppliers
    of both tiers and their recruiters through the roll-up's scope keys); without a roll-up, every 7th published
    employer by rank (a mix of risk levels)."""
    on_published = sa.and_(published.c.run_id == supply_rollup.c.run_id, published.c.entity_type == "employer")
    buyer = sa.select(sa.func.min(supply_rollup.c.buyer_id)).join(published, on_published)
    query = (
        sa.select(scores.c.entity_id)
        .join(
            published, sa.and_(published.c.run_id == scores.c.run_id, published.c.entity_type == scores.c.entity_type)
        )
        .where(scores.c.entity_type == "employer")
        .order_by(scores.c.rank)
    )
    with engine.connect() as conn:
        first_buyer = conn.execute(buyer).scalar()
        if first_buyer is not None:
            return [str(first_buyer)]
        ids = [str(v) for v in conn.execute(query).scalars()]
    return ids[::7][:PORTFOLIO_SIZE]


def demo_scopes(engine: Engine) -> dict[str, tuple[tuple[str, ...], tuple[str, ...]]]:
    """Role -> (jurisdictions, portfolio) for the demo users."""
    orgs = ORGANISATION_TYPES
    return {
        "labour_inspectorate": (tuple(_top(engine, "region", orgs, 2)), ()),
        "supply_chain_auditor": ((), tuple(_portfolio(engine))),
        "visa_unit": (tuple(_top(engine, "post", orgs, 1)), ()),
        "anti_corruption": (
            tuple(
                dict.fromkeys(
                    _top(engine, "post", ("visa_desk",))
                    + _top(engine, "post", ("border_post",))
                    + _top(engine, "region", ("inspector",))
                )
            ),
            (),
        ),
        "admin": ((), ()),
    }


def create_demo_users(engine: Engine, secret_key: bytes, prefix: str = "demo") -> list[tuple[str, str, str, str]]:
    """(name, role, scope summary, token) per role; existing demo users are revoked and created again."""
    out = []
    for role, (jurisdictions, portfolio) in demo_scopes(engine).items():
        assert role in ROLES
        name = f"{prefix}-{role}"
        with contextlib.suppress(UserError):
            revoke_user(engine, name)
        token = add_user(engine, secret_key, name, role, jurisdictions, portfolio)
        scope = ", ".join(jurisdictions) if jurisdictions else (f"{len(portfolio)} employers" if portfolio else "all")
        out.append((name, role, scope, token))
    return out
