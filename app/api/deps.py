"""FastAPI dependencies as `Annotated` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.chat import Chat
from app.domain import User
from app.services import Services

_bearer = HTTPBearer(auto_error=False)


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_chat(services: ServicesDep) -> Chat:
    return services.chat


async def current_user(
    services: ServicesDep, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> User:
    user, _ = await services.accounts.authenticate(credentials.credentials if credentials else None)
    return user


ChatDep = Annotated[Chat, Depends(get_chat)]
CurrentUser = Annotated[User, Depends(current_user)]
