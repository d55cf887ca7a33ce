"""The ingest API's OpenAPI 3.1 document, built from the same pydantic models that check requests and shape answers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel

from bot.core.submit import MAX_ITEMS, MAX_PAGE, MentionIn, MentionPage, SubmitResult

# The largest request body: 1,000 mentions of about a tweet's length fit many times over; a larger one is refused
# (413) while it streams.
MAX_BODY_BYTES = 5_000_000
_REF = "#/components/schemas/{model}"
_MOMENT = [
    {"type": "string", "format": "date-time"},
    {"type": "string", "format": "date"},
    {"type": "string", "pattern": r"^[0-9]{1,6}(m|min|h|d|w)$"},
]


class Error(BaseModel):
    """Why a request was refused."""

    error: str


_THEME_MENTION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "text": {"type": "string"},
        "author": {"type": ["string", "null"]},
        "source": {"type": "string"},
        "url": {"type": ["string", "null"]},
        "created_at": {"type": "string", "format": "date-time"},
        "label": {"type": ["string", "null"], "enum": ["negative", "neutral", "positive", None]},
        "engagement": {"type": "integer", "minimum": 0, "description": "Likes, reposts and replies."},
    },
    "required": ["id", "text", "author", "source", "url", "created_at", "label", "engagement"],
}
THEMES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "brand": {"type": "string"},
        "since": {"type": "string", "format": "date-time"},
        "until": {"type": "string", "format": "date-time"},
        "mentions": {"type": "integer", "minimum": 0},
        "previous_mentions": {"type": "integer", "minimum": 0},
        "sampled": {"type": "boolean", "description": "Counts estimated from a sample of 10,000 mentions."},
        "encoder": {"type": "string"},
        "themes": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "phrases": {"type": "array", "items": {"type": "string"}},
                    "mentions": {"type": "integer", "minimum": 0},
                    "share": {"type": "number", "minimum": 0, "maximum": 1},
                    "previous_mentions": {"type": "integer", "minimum": 0},
                    "trend": {"type": "string", "enum": ["new", "growing", "fading", "steady"]},
                    "labels": {
                        "type": "object",
                        "properties": {label: {"type": "integer"} for label in ("negative", "neutral", "positive")},
                    },
                    "unclassified": {"type": "integer", "minimum": 0},
                    "central": {"type": "array", "items": _THEME_MENTION},
                    "most_engaged": {"type": "array", "items": _THEME_MENTION},
                },
                "required": ["name", "phrases", "mentions", "share", "previous_mentions", "trend", "labels"],
            },
        },
    },
    "required": ["brand", "since", "until", "mentions", "previous_mentions", "sampled", "encoder", "themes"],
}


def _schemas(*models: type[BaseModel]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    for model in models:
        schema = model.model_json_schema(ref_template=_REF, mode="serialization")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    return schemas


def _json(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def _answer(description: str, model: str = "Error") -> dict[str, Any]:
    return {"description": description, "content": _json({"$ref": _REF.format(model=model)})}


def openapi_document(*, brands: Sequence[str] = (), server_url: str | None = None) -> dict[str, Any]:
    """The document; ``brands`` (the brands file's names) become the allowed values of a mention's ``brand``."""
    schemas = _schemas(Error, SubmitResult, MentionPage)
    schemas["MentionIn"] = MentionIn.model_json_schema(ref_template=_REF)
    if brands:
        brand = schemas["MentionIn"]["properties"]["brand"]
        brand["anyOf"] = [{"type": "string", "enum": sorted(brands)}, {"type": "null"}]
    mention = {"$ref": _REF.format(model="MentionIn")}
    many = {"type": "array", "items": mention, "minItems": 1, "maxItems": MAX_ITEMS}
    wrapped = {
        "type": "object",
        "properties": {"mentions": many},
        "required": ["mentions"],
        "additionalProperties": False,
    }
    envelope = {
        "type": "object",
        "description": "A Standard Webhooks payload whose data is one mention or a list of them.",
        "properties": {"type": {"type": "string"}, "timestamp": {"type": "string"}, "data": {"anyOf": [mention, many]}},
        "required": ["data"],
    }
    unauthorized = _answer("No valid bearer token, or no valid Standard Webhooks signature.")
    post = {
        "operationId": "submitMentions",
        "summary": "Store mentions",
        "description": (
            f'One mention, a list of up to {MAX_ITEMS:,}, `{{"mentions": [...]}}`, or a Standard Webhooks payload. '
            f"The body may be at most {MAX_BODY_BYTES:,} bytes. Items are idempotent on (source, id): sending one "
            "again stores nothing and counts it as a duplicate. Invalid items are answered with 422 and their "
            "reasons while the valid ones are stored, unless `atomic` asks for all or nothing."
        ),
        "security": [{"bearer": []}, {"webhookSignature": [], "webhookId": [], "webhookTimestamp": []}],
        "parameters": [
            {
                "name": "atomic",
                "in": "query",
                "required": False,
                "description": "true: store nothing unless every item is valid.",
                "schema": {"type": "boolean", "default": False},
            }
        ],
        "requestBody": {"required": True, "content": _json({"anyOf": [mention, many, wrapped, envelope]})},
        "responses": {
            "200": _answer("Every item is stored (or was already).", "SubmitResult"),
            "400": _answer("The body is not JSON, not UTF-8, or not mentions."),
            "401": unauthorized,
            "408": _answer("A signed delivery's body did not arrive in time (its signature cannot be checked)."),
            "413": _answer(f"Over {MAX_BODY_BYTES:,} bytes or over {MAX_ITEMS:,} mentions."),
            "415": _answer("The body is not application/json."),
            "422": _answer("Some items are invalid: `errors` gives each one's reasons.", "SubmitResult"),
            "503": _answer(
                "The database is unavailable, or too many signed deliveries are being read at once; nothing was "
                "stored. Retry after `Retry-After` seconds."
            ),
        },
    }

    def text_filter(name: str, description: str, **schema: Any) -> dict[str, Any]:
        return {"name": name, "in": "query", "required": False, "description": description, "schema": schema}

    moment = (
        "ISO 8601 date or date-time, a duration back from now (30m, 24h, 7d, 2 weeks), or the start of a period "
        "(today, yesterday, 3 days ago, last week, last month, last quarter)."
    )
    get = {
        "operationId": "listMentions",
        "summary": "Stored mentions, newest first",
        "security": [{"bearer": []}],
        "parameters": [
            text_filter("brand", "Only this brand.", type="string", minLength=1),
            text_filter("since", f"Created at or after: {moment}", anyOf=_MOMENT),
            text_filter("until", f"Created before: {moment}", anyOf=_MOMENT),
            text_filter("label", "Only this sentiment.", type="string", enum=["negative", "neutral", "positive"]),
            text_filter("source", "Only this source.", type="string", minLength=1),
            text_filter("search", "Case-insensitive substring of the text.", type="string", minLength=1),
            text_filter(
                "q",
                'A query (AND, OR, NOT, parentheses, "phrases", "a b"~5, a NEAR/5 b, prefix*, #hashtags, @handles, '
                "lang:, source:, author:, domain:, country:): only the mentions it matches. A page reads at most "
                "20,000 stored mentions: a rare query's page may hold fewer than `limit`, with a `next_cursor` to go on.",
                type="string",
                minLength=1,
                maxLength=4000,
            ),
            text_filter(
                "language",
                "Only mentions in this language (ISO 639-1 code; a region such as pt-BR is dropped).",
                type="string",
                pattern="^[A-Za-z]{2,3}([-_][A-Za-z0-9]{2,8})*$",
            ),
            text_filter("limit", "Mentions per page.", type="integer", minimum=1, maximum=MAX_PAGE, default=50),
            text_filter("cursor", "The `next_cursor` of the previous page.", type="string", minLength=1),
            text_filter(
                "sort",
                "time (newest first, the default), reach (the author's followers plus the engagement) or engagement "
                "(likes, reposts, replies): the widest first, the newest first among equals. A page sorted by reach or "
                "engagement is the only one (no `next_cursor`; no `cursor` with it).",
                type="string",
                enum=["time", "reach", "engagement"],
            ),
        ],
        "responses": {
            "200": _answer("A page of mentions.", "MentionPage"),
            "400": _answer("A filter cannot be used."),
            "401": _answer("No valid bearer token."),
        },
    }
    brand_values: dict[str, Any] = (
        {"type": "string", "enum": sorted(brands)} if brands else {"type": "string", "minLength": 1}
    )
    themes = {
        "operationId": "listThemes",
        "summary": "What a brand's mentions talk about",
        "description": (
            "The brand's themes in a period: mentions grouped by what they say, each named by its most distinctive "
            "phrases, with its size, sentiment, the mentions closest to its centre and the most engaged, and its "
            "trend against the period of the same length before (new, growing, fading, steady). The first request "
            "over new mentions embeds them (seconds for thousands); the next ones read the stored vectors."
        ),
        "security": [{"bearer": []}],
        "parameters": [
            {**text_filter("brand", "The brand.", **brand_values), "required": True},
            text_filter(
                "period",
                "The period (instead of since/until): 24h, 7d, yesterday, last week, last month, 2026-11-01, "
                "2026-11-01..2026-11-30. Default: the last 7 days.",
                type="string",
                minLength=1,
                maxLength=100,
            ),
            text_filter("since", f"Start: {moment}", anyOf=_MOMENT),
            text_filter("until", f"End (excluded; default now): {moment}", anyOf=_MOMENT),
        ],
        "responses": {
            "200": {"description": "The brand's themes, largest first.", "content": _json(THEMES_SCHEMA)},
            "400": _answer("An unknown brand, or a period that cannot be read."),
            "401": _answer("No valid bearer token."),
            "503": _answer(
                "The themes encoder cannot be loaded (BRANDPULSE_THEMES_ENCODER), or another themes report is being "
                "made (one at a time): retry after `Retry-After` seconds."
            ),
        },
    }
    document: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {
            "title": "brandpulse ingest API",
            "version": "1",
            "description": "Send mentions of your brands to brandpulse, and read stored ones back.",
        },
        "paths": {"/api/v1/mentions": {"post": post, "get": get}, "/api/v1/themes": {"get": themes}},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer", "description": "A token of BRANDPULSE_API_TOKENS."},
                "webhookSignature": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "webhook-signature",
                    "description": "Standard Webhooks: v1,<base64 HMAC-SHA256> with a BRANDPULSE_WEBHOOK_SECRETS secret.",
                },
                "webhookId": {"type": "apiKey", "in": "header", "name": "webhook-id"},
                "webhookTimestamp": {"type": "apiKey", "in": "header", "name": "webhook-timestamp"},
            },
        },
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    return document
