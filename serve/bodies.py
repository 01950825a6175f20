"""Request bodies: a JSON operation takes UTF-8 JSON sent as JSON, and says so when it gets anything else.

FastAPI on its own answers a body that is not UTF-8 with a bare 400, takes a body sent as ``text/plain``
or as a form for bytes (a 422 about "a valid dictionary") and names broken JSON by its character
offset. Every router of the service uses :class:`JSONBodyRoute`, which reads and checks the body of a
JSON operation before FastAPI parses it (from the same cached read, so it is parsed once).
"""

from __future__ import annotations

import email.message
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import params
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from dispo.errors import FieldProblem, InvalidInputError
from serve.errors import UnsupportedMediaTypeError

JSON_MEDIA_TYPE = "application/json"


class JSONBodyRoute(APIRoute):
    """A route whose JSON body (if it takes one) is checked before FastAPI reads it: 415 unless it is
    sent as ``application/json`` (or ``application/*+json``), 422 naming the first byte that is not
    UTF-8 or the line and column where the JSON breaks. Form and file bodies are left to FastAPI."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        if self.body_field is None or isinstance(self.body_field.field_info, params.Form):
            return handler

        async def checked(request: Request) -> Response:
            await read_json_body(request)
            return await handler(request)

        return checked


async def read_json_body(request: Request) -> None:
    """Read and parse the body of a JSON operation (Starlette keeps both for FastAPI), or refuse it.
    An empty body is left to FastAPI, which names the missing field."""
    body = await request.body()  # over the size limit, the guard middleware stops this read (413)
    if not body:
        return
    content_type = request.headers.get("content-type")
    if not is_json_media_type(content_type):
        raise UnsupportedMediaTypeError(content_type, JSON_MEDIA_TYPE)
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        column = exc.start - body.rfind(b"\n", 0, exc.start)
        found = f"byte 0x{body[exc.start]:02x} at offset {exc.start} (line {line}, column {column})"
        raise InvalidInputError(
            f"the body is not UTF-8 JSON: {found}", [FieldProblem("body", "UTF-8 encoded JSON", found)]
        ) from None
    try:
        await request.json()
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise InvalidInputError(
            f"the body is not valid JSON: {exc.msg} at {where}",
            [FieldProblem("body", "valid JSON", f"{exc.msg} at {where}")],
        ) from None
    except RecursionError:  # nested deeper than the parser goes
        raise InvalidInputError(
            "the body nests JSON too deeply to read", [FieldProblem("body", "valid JSON", "nested too deeply")]
        ) from None


def is_json_media_type(content_type: str | None) -> bool:
    """``application/json`` or ``application/*+json``, with any parameters (as FastAPI reads them)."""
    if not content_type:
        return False
    message = email.message.Message()
    message["content-type"] = content_type
    subtype = message.get_content_subtype()
    return message.get_content_maintype() == "application" and (subtype == "json" or subtype.endswith("+json"))
