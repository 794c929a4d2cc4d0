"""Who sees what: per role, the entity types it may see and which scope keys put an entity in scope.

An entity is in a user's scope when one of its ``score_scope`` keys of a listed kind has a value in the user's
jurisdictions (``jurisdiction_kinds``) or in the user's supplier portfolio (``portfolio_kinds``). Employers carry
an 'employer' key equal to their own id, so "employers in my portfolio" and "recruiters that place with my
portfolio's employers" are the same rule. A type missing from a role answers 403; an entity out of scope
answers 404, exactly like a missing one. Tests generate their role x route x scope matrix from ``ROLES``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from data_contracts.contracts import OFFICIAL_DESK_TYPES
from features.registry import ENTITY_TYPES

ScopeKind = str  # features.profiles.SCOPE_KINDS: country, region, post, employer


@dataclass(frozen=True)
class Access:
    jurisdiction_kinds: tuple[ScopeKind, ...] = ()
    portfolio_kinds: tuple[ScopeKind, ...] = ()
    everything: bool = False  # admin: no scope filter


@dataclass(frozen=True)
class Role:
    name: str
    description: str
    types: dict[str, Access] = field(default_factory=dict)
    may_read_audit: bool = False


_ALL = Access(everything=True)
_DESKS = Access(jurisdiction_kinds=("post", "region", "country"))

ROLES: dict[str, Role] = {
    r.name: r
    for r in (
        Role(
            "labour_inspectorate",
            "employers (worksites) and recruiters in its regions",
            {"employer": Access(("region",)), "recruiter": Access(("region",))},
        ),
        Role(
            "supply_chain_auditor",
            "employers in its supplier portfolio and the recruiters they use",
            {"employer": Access(portfolio_kinds=("employer",)), "recruiter": Access(portfolio_kinds=("employer",))},
        ),
        Role(
            "visa_unit",
            "recruiters and sponsoring employers behind applications at its posts, and its posts' own visa desks",
            {"recruiter": Access(("post",)), "employer": Access(("post",)), "visa_desk": Access(("post",))},
        ),
        Role(
            "anti_corruption",
            "visa desks, border posts and inspectors in its jurisdiction",
            {t: _DESKS for t in OFFICIAL_DESK_TYPES},
        ),
        Role("admin", "everything, and the audit log", {t: _ALL for t in ENTITY_TYPES}, may_read_audit=True),
    )
}
assert all(t in ENTITY_TYPES for r in ROLES.values() for t in r.types)


def keys_for(access: Access, jurisdictions: tuple[str, ...], portfolio: tuple[str, ...]) -> list[tuple[str, str]]:
    """The (kind, value) scope keys that put an entity in scope under ``access``."""
    keys = [(k, v) for k in access.jurisdiction_kinds for v in jurisdictions]
    keys += [(k, v) for k in access.portfolio_kinds for v in portfolio]
    return keys
