"""How every ``/_sandbox/*`` control endpoint reads a JSON body and refuses bad input.

A refusal is raised as an ``HTTPException``; the app answers it on ``/_sandbox/`` paths as ``{"error": "..."}``
with that status (app.py), so each endpoint states only the sentence.
"""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request


def bad(text: str, status: int = 400) -> HTTPException:
    """The refusal to raise: ``{"error": text}`` with ``status``."""
    return HTTPException(status, detail=text)


async def json_body(request: Request, *, invalid: str) -> Any:
    """The request's JSON, or a 400 saying ``invalid`` when it is not JSON."""
    try:
        return await request.json()
    except ValueError:
        raise bad(invalid) from None


async def json_object(
    request: Request, *, invalid: str, not_object: str = "body must be a JSON object"
) -> dict:
    """The request's JSON object; 400 with ``invalid`` when it is not JSON, ``not_object`` when not an object."""
    body = await json_body(request, invalid=invalid)
    if not isinstance(body, dict):
        raise bad(not_object)
    return body
