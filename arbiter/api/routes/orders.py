"""The orders routes (being written)."""

from __future__ import annotations

from fastapi import APIRouter


def router() -> APIRouter:
    return APIRouter(tags=["orders"])
