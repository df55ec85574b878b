"""Accounts: argon2 password hashes and signed, expiring JWT bearer tokens."""

from __future__ import annotations

import asyncio
import time

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from app.domain import User, check_display_name, normalise_username
from app.errors import Invalid, Unauthorized
from app.store.base import Store

ALGORITHM = "HS256"
MIN_PASSWORD = 8
MAX_PASSWORD = 256


class Accounts:
    def __init__(self, *, store: Store, secret_key: str, token_ttl_seconds: int) -> None:
        self._store = store
        self._secret = secret_key
        self._ttl = token_ttl_seconds
        self._hasher = PasswordHasher()
        # A real hash to verify against when the username is unknown, so timing does not reveal it.
        self._decoy = self._hasher.hash("parley-decoy-password")

    async def register(self, *, username: str, password: str, display_name: str | None) -> tuple[User, str]:
        name = normalise_username(username)
        shown = check_display_name(display_name if display_name is not None else name)
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise Invalid(f"password must be {MIN_PASSWORD}-{MAX_PASSWORD} characters")
        password_hash = await asyncio.to_thread(self._hasher.hash, password)
        user = await self._store.create_user(username=name, display_name=shown, password_hash=password_hash)
        return user, self.issue(user)

    async def login(self, *, username: str, password: str) -> tuple[User, str]:
        credentials = await self._store.credentials(username.strip().lower())
        stored = credentials.password_hash if credentials else self._decoy
        try:
            await asyncio.to_thread(self._hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            credentials = None
        if credentials is None:
            raise Unauthorized("wrong username or password")
        return credentials.user, self.issue(credentials.user)

    def issue(self, user: User) -> str:
        now = int(time.time())
        claims = {"sub": user.id, "usr": user.username, "dn": user.display_name, "iat": now, "exp": now + self._ttl}
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    async def authenticate(self, token: str | None) -> tuple[User, float]:
        """The user a token names, as the store holds it now, and when the token expires; `Unauthorized`
        if the token is missing, forged or expired, or names an account the store no longer has (a token
        outlives a restore from a backup taken before the account existed)."""
        claimed, expires_at = self.verify(token)
        user = await self._store.get_user(claimed.id)
        if user is None:
            raise Unauthorized("this account no longer exists")
        return user, expires_at

    def verify(self, token: str | None) -> tuple[User, float]:
        """The user a token names and when the token expires (epoch seconds)."""
        if not token:
            raise Unauthorized("missing bearer token")
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
        except jwt.ExpiredSignatureError as error:
            raise Unauthorized("token expired") from error
        except jwt.InvalidTokenError as error:
            raise Unauthorized("invalid token") from error
        user = User(id=claims["sub"], username=claims.get("usr", ""), display_name=claims.get("dn", ""))
        return user, float(claims["exp"])
