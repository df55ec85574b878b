"""Register, log in, and who am I."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from app.api.deps import CurrentUser, ServicesDep
from app.schemas import LoginIn, RegisterIn

router = APIRouter(tags=["accounts"])


@router.post("/auth/register", status_code=status.HTTP_201_CREATED)
async def register(body: RegisterIn, services: ServicesDep) -> dict[str, Any]:
    user, token = await services.accounts.register(
        username=body.username, password=body.password, display_name=body.display_name
    )
    return {"user": user.public(), "token": token}


@router.post("/auth/login")
async def login(body: LoginIn, services: ServicesDep) -> dict[str, Any]:
    user, token = await services.accounts.login(username=body.username, password=body.password)
    return {"user": user.public(), "token": token}


@router.get("/me")
async def me(user: CurrentUser) -> dict[str, Any]:
    return user.public()
