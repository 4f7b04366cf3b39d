"""The API's error shapes, and the error responses its OpenAPI document lists for each operation.

Responses every operation of a kind can give are added in one place (``document_errors``):

- 401 to every operation that needs a token;
- 422 to every operation that reads a parameter or a body (the field is named);
- 400 (malformed JSON) and 413 (body too large) to every operation with a body;
- 404 to every operation with an id in its path (unknown ids and other clinics' records);
- 500, JSON like every other error;
- 414 to every operation: a request line longer than the web server accepts (gunicorn: 4,094
  bytes) is refused by the server itself, before Trellis, as a short HTML page.

403 and 409 depend on what the operation does, so each declares them where it is defined:
``response={200: CourseOut, **errors(403, 409)}``.
"""

from typing import Any

from ninja import Schema

# Which JSON value a body was, for "body: must be a JSON object, not an array".
_JSON_KINDS = {
    "list": "an array",
    "str": "a string",
    "int": "a number",
    "float": "a number",
    "bool": "true or false",
    "NoneType": "null",
}


class BodyNotAnObject(ValueError):
    """The body parsed as JSON but is not an object."""

    def __init__(self, python_type: str) -> None:
        self.kind = _JSON_KINDS.get(python_type, python_type)
        super().__init__(f"must be a JSON object, not {self.kind}")


class ErrorOut(Schema):
    detail: str


class FieldProblem(Schema):
    field: str
    message: str


class FieldErrorOut(Schema):
    detail: str
    field: str | None = None
    errors: list[FieldProblem] | None = None


class ConflictOut(Schema):
    detail: str
    code: str


ERROR_SCHEMAS = {403: ErrorOut, 404: ErrorOut, 409: ConflictOut}


def errors(*codes: int) -> dict[int, type[Schema]]:
    """Responses an operation declares itself: 403 (its role rule), 404 (a record its body
    names by id that is not in the clinic), 409 (its state rules)."""
    return {code: ERROR_SCHEMAS[code] for code in codes}


def field_error(error: dict[str, Any]) -> dict[str, str]:
    """A pydantic error from ninja as ``{"field": "trials[0].drug", "message": …}``.

    ``loc`` starts with where the value came from (body, query, path); a body's next part is
    the view's parameter name, which the client never sees, so it is dropped.
    """
    loc = list(error.get("loc", ()))
    source = loc.pop(0) if loc else "body"
    if source == "body":
        loc = loc[1:] if len(loc) > 1 else []
    field = ""
    for part in loc:
        field += f"[{part}]" if isinstance(part, int) else (f".{part}" if field else str(part))
    field += (error.get("ctx") or {}).get("path", "")
    if error.get("type") == "missing":
        message = "is required"
    elif error.get("type") in ("model_attributes_type", "dict_type") and not loc:
        message = "must be a JSON object"
    elif error.get("type") in ("literal_error", "enum"):
        message = f"must be one of {error['ctx']['expected']}"
    else:
        message = error.get("msg", "is not valid")
    return {"field": field or source, "message": message}


_REF = "#/components/schemas/{}"
_DESCRIPTIONS = {
    400: "The body is not valid JSON (or the request is malformed)",
    401: "No valid Bearer token",
    403: "Your role may not do this",
    404: "No such record in your clinic",
    409: "The record's state does not allow this (code says which rule)",
    413: "The body is too large",
    422: "A field breaks a rule; field names it",
    500: "Unexpected failure, logged on the server",
}


_URI_TOO_LONG = {
    "description": "The address is longer than the web server accepts; answered by the server "
    "before Trellis, as HTML",
    "content": {"text/html": {"schema": {"type": "string"}}},
}


def _response(code: int, schema: type[Schema]) -> dict:
    return {
        "description": _DESCRIPTIONS[code],
        "content": {"application/json": {"schema": {"$ref": _REF.format(schema.__name__)}}},
    }


def _body_is_an_object(operation: dict) -> None:
    """An optional body is left out, never sent as null (the parser refuses null): drop the
    ``null`` that ninja offers for ``payload: X | None = None``."""
    for media in operation.get("requestBody", {}).get("content", {}).values():
        options = media.get("schema", {}).get("anyOf")
        if options and {"type": "null"} in options:
            rest = [option for option in options if option != {"type": "null"}]
            media["schema"] = rest[0] if len(rest) == 1 else {"anyOf": rest}


def document_errors(openapi: dict) -> dict:
    """Add the error responses every operation of its kind can give (see the module)."""
    schemas = openapi.setdefault("components", {}).setdefault("schemas", {})
    for schema in (ErrorOut, FieldProblem, FieldErrorOut, ConflictOut):
        found = schema.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(found.pop("$defs", {}))
        schemas[schema.__name__] = found
    for path_item in openapi.get("paths", {}).values():
        for operation in path_item.values():
            # ninja keys responses by int; JSON by string: one kind, so no code appears twice.
            responses = {str(code): r for code, r in operation.get("responses", {}).items()}
            operation["responses"] = responses
            _body_is_an_object(operation)
            parameters = operation.get("parameters", [])
            has_body = "requestBody" in operation
            wanted = {500: ErrorOut}
            if operation.get("security"):
                wanted[401] = ErrorOut
            if parameters or has_body:
                wanted[422] = FieldErrorOut
            if has_body:
                wanted[400] = ErrorOut
                wanted[413] = ErrorOut
            if any(p.get("in") == "path" for p in parameters):
                wanted[404] = ErrorOut
            for code, schema in wanted.items():
                responses.setdefault(str(code), _response(code, schema))
            responses.setdefault("414", _URI_TOO_LONG)
            for code, response in responses.items():
                if code.isdigit() and int(code) in _DESCRIPTIONS:
                    response["description"] = _DESCRIPTIONS[int(code)]
    return openapi
