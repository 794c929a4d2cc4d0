"""Users, bearer tokens and dashboard sessions. A token is ``<user_id>.<secret>``; the store keeps only
HMAC-SHA256(secret key, token), looked up by the public user id and compared in constant time. Every request reads
the user row again (only the decoding of an unchanged row is kept), so a revocation or an expiry takes effect on
the next request.

A dashboard sign-in exchanges the token for a session: the cookie holds a random session id (never the token), the
store its HMAC, so the cookie can be revoked on its own (signing out deletes the row) and a copy of the store
cannot be replayed as a cookie. A session works while its user does (revoked or expired users end their sessions).
Forms carry a CSRF token derived from the session id (or, before sign-in, from a nonce held in a cookie)."""

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
from store.prepared import Prepared
from store.tables import dashboard_sessions, now_iso, users

SESSION_HOURS = 12  # a dashboard session ends this long after sign-in


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
    if stored is None or row is None or not ok:
        return None
    return _active_user(stored, row)


def _active_user(stored: tuple[Any, ...], row: dict[str, Any]) -> User | None:
    """The User of a users row (``stored``: the driver's tuple, ``row``: the same by column), None when the user is
    revoked or expired."""
    if row["revoked_at"] is not None:
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


def _session_hash(secret_key: bytes, session_id: str) -> str:
    return hmac.new(secret_key, b"session\0" + session_id.encode(), hashlib.sha256).hexdigest()


def start_session(engine: Engine, secret_key: bytes, user: User, hours: int = SESSION_HOURS) -> str:
    """A new dashboard session for ``user``; returns its id (for the cookie only). Expired sessions are removed."""
    session_id = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(sa.delete(dashboard_sessions).where(dashboard_sessions.c.expires_at <= _iso(now)))
        conn.execute(
            sa.insert(dashboard_sessions).values(
                session_hash=_session_hash(secret_key, session_id),
                user_id=user.user_id,
                created_at=_iso(now),
                expires_at=_iso(now + timedelta(hours=hours)),
            )
        )
    return session_id


def end_session(engine: Engine, secret_key: bytes, session_id: str) -> bool:
    """Revoke a dashboard session (sign-out); whether there was one."""
    with engine.begin() as conn:
        gone = conn.execute(
            sa.delete(dashboard_sessions).where(
                dashboard_sessions.c.session_hash == _session_hash(secret_key, session_id)
            )
        )
    return bool(gone.rowcount)


_USER_BY_SESSION = Prepared(
    sa.select(users)
    .join(dashboard_sessions, dashboard_sessions.c.user_id == users.c.user_id)
    .where(
        dashboard_sessions.c.session_hash == sa.bindparam("session_hash"),
        dashboard_sessions.c.expires_at > sa.bindparam("now"),
    )
)


def session_user(store: Engine | Connection, secret_key: bytes, session_id: str) -> User | None:
    """The active user of a live dashboard session, else None (unknown, signed out, expired, or its user revoked or
    expired). ``store`` as for ``authenticate``."""
    if not session_id or len(session_id) > 200:
        return None
    params = {"session_hash": _session_hash(secret_key, session_id), "now": now_iso()}
    if isinstance(store, Connection):
        found = _USER_BY_SESSION.rows(store, **params)
    else:
        with store.connect() as conn:
            found = _USER_BY_SESSION.rows(conn, **params)
    if not found:
        return None
    return _active_user(found[0], dict(zip(_USER_BY_SESSION.columns, found[0], strict=True)))


def csrf_token(secret_key: bytes, bound_to: str) -> str:
    """The CSRF token of a form: HMAC of the session id it is bound to (or the sign-in nonce), hex."""
    return hmac.new(secret_key, b"csrf\0" + bound_to.encode(), hashlib.sha256).hexdigest()


def csrf_ok(secret_key: bytes, bound_to: str, submitted: str) -> bool:
    """Whether ``submitted`` is the CSRF token of ``bound_to`` (constant-time; an empty binding never passes)."""
    return bool(bound_to) and hmac.compare_digest(csrf_token(secret_key, bound_to), submitted)
