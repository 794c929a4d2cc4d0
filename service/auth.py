"""Users and bearer tokens. A token is ``<user_id>.<secret>``; the store keeps only HMAC-SHA256(secret key,
token), looked up by the public user id and compared in constant time. Every request reads the user row again
(only the decoding of an unchanged row is kept), so a revocation or an expiry takes effect on the next request."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from service.roles import ROLES, Access, Role, keys_for
from service.store import Prepared, now_iso, users


@dataclass(frozen=True)
class User:
    user_id: str
    name: str
    role: str
    jurisdictions: tuple[str, ...]
    portfolio: tuple[str, ...]
    # scope keys per Access, computed on first use (a user's scope never changes: a changed row is a new User)
    _scopes: dict[Access, frozenset[tuple[str, str]]] = field(
        default_factory=dict, init=False, compare=False, hash=False, repr=False
    )

    @property
    def role_def(self) -> Role:
        return ROLES[self.role]

    def scope_keys(self, access: Access) -> frozenset[tuple[str, str]]:
        """``roles.keys_for`` of this user under ``access``, as a set (computed once per access)."""
        keys = self._scopes.get(access)
        if keys is None:
            keys = self._scopes[access] = frozenset(keys_for(access, self.jurisdictions, self.portfolio))
        return keys


class UserError(ValueError):
    """A user cannot be created or revoked (message for the operator)."""


def token_hash(secret_key: bytes, token: str) -> str:
    return hmac.new(secret_key, token.encode(), hashlib.sha256).hexdigest()


def add_user(
    engine: Engine,
    secret_key: bytes,
    name: str,
    role: str,
    jurisdictions: tuple[str, ...] = (),
    portfolio: tuple[str, ...] = (),
    expires_in: timedelta | None = None,
) -> str:
    """Create a user and return its token (shown once; only its hash is stored). ``expires_in``: the token stops
    working that long from now (None: never)."""
    if role not in ROLES:
        raise UserError(f"unknown role {role!r}; one of {', '.join(ROLES)}")
    if not name.strip() or len(name) > 120:
        raise UserError("name must be 1 to 120 characters")
    user_id = secrets.token_hex(8)
    token = f"{user_id}.{secrets.token_urlsafe(32)}"
    with engine.begin() as conn:
        if conn.execute(sa.select(users.c.user_id).where(users.c.name == name)).first() is not None:
            raise UserError(f"user {name!r} exists; revoke it first or choose another name")
        conn.execute(
            sa.insert(users).values(
                user_id=user_id,
                name=name,
                role=role,
                jurisdictions=json.dumps(sorted(set(jurisdictions))),
                portfolio=json.dumps(sorted(set(portfolio))),
                token_hash=token_hash(secret_key, token),
                created_at=now_iso(),
                revoked_at=None,
                expires_at=None if expires_in is None else _iso(datetime.now(UTC) + expires_in),
            )
        )
    return token


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")  # the format of store.now_iso, so strings compare as times


def revoke_user(engine: Engine, name: str) -> None:
    """Revoke the user's token and free its name (the row stays for the audit trail)."""
    with engine.begin() as conn:
        row = conn.execute(sa.select(users.c.user_id).where(users.c.name == name, users.c.revoked_at.is_(None))).first()
        if row is None:
            raise UserError(f"no active user {name!r}")
        stamp = now_iso()
        conn.execute(
            sa.update(users)
            .where(users.c.user_id == row.user_id)
            .values(revoked_at=stamp, name=f"{name} (revoked {stamp} {row.user_id})")
        )


_USER_BY_ID = Prepared(sa.select(users).where(users.c.user_id == sa.bindparam("user_id")))
# User objects by the stored row they were built from: a row read again unchanged gives the same User without
# decoding it again; any change to the row (revoked, expired, scope edited) is another key. Bounded.
_USER_OF_ROW: dict[tuple[Any, ...], User] = {}
USER_CACHE_SIZE = 4096


def authenticate(store: Engine | Connection, secret_key: bytes, token: str) -> User | None:
    """The active user holding ``token``, else None (unknown, malformed, wrong or revoked token). ``store``: an
    engine, or a connection the caller goes on using (one pool checkout for the token and what follows)."""
    user_id, sep, _ = token.partition(".")
    if not sep or not user_id or len(token) > 200:
        return None
    if isinstance(store, Connection):
        found = _USER_BY_ID.rows(store, user_id=user_id)
    else:
        with store.connect() as conn:
            found = _USER_BY_ID.rows(conn, user_id=user_id)
    stored = found[0] if found else None  # Prepared's rows are the driver's tuples
    row = dict(zip(_USER_BY_ID.columns, stored, strict=True)) if stored is not None else None
    expected = row["token_hash"] if row is not None else "0" * 64
    ok = hmac.compare_digest(expected, token_hash(secret_key, token))
    if stored is None or row is None or not ok or row["revoked_at"] is not None:
        return None
    if row["expires_at"] is not None and row["expires_at"] <= now_iso():
        return None
    user = _USER_OF_ROW.get(stored)
    if user is None:
        user = User(
            row["user_id"],
            row["name"],
            row["role"],
            tuple(json.loads(row["jurisdictions"])),
            tuple(json.loads(row["portfolio"])),
        )
        if len(_USER_OF_ROW) >= USER_CACHE_SIZE:
            _USER_OF_ROW.clear()
        _USER_OF_ROW[stored] = user
    return user
