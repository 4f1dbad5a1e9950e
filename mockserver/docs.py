"""The mock's documentation surface: where each family's Swagger UI and contract are, and the ``GET /`` page.

Connexion serves, under every family's prefix, the contract (``<prefix>/openapi.json`` and
``<prefix>/openapi.yaml``, with ``servers`` set to the prefix itself, so Swagger UI's "Try it out" calls the
mock that served the page) and Swagger UI (``<prefix>/ui/``, from the ``swagger-ui-bundle`` package).
This module names those paths for the rest of the mock and renders the index at ``GET /``: an HTML page for
a browser, the mock-level JSON for everyone else (``Accept: application/json``, ``*/*``, none).
"""

from __future__ import annotations

import typing as t
from html import escape

from mockserver.family import Family

UI_PATH = "/ui/"
"""Swagger UI's page, under a family's prefix (Connexion's default ``swagger_ui_path``)."""
CONTRACT_PATHS = ("/openapi.json", "/openapi.yaml")
"""The served contract, under a family's prefix (Connexion's ``openapi_spec_path`` and its YAML twin)."""


def is_docs_path(inner_path: str) -> bool:
    """Whether a path below a family's prefix is one of the documentation pages Connexion serves there
    (Swagger UI and its assets, the contract), not one of the family's operations."""
    return inner_path in CONTRACT_PATHS or inner_path == UI_PATH.rstrip("/") or inner_path.startswith(UI_PATH)


def family_links(family: Family) -> dict[str, str]:
    """Where a family's Swagger UI and contract are, as paths on the mock."""
    prefix = family.base_path.rstrip("/")
    return {"ui": prefix + UI_PATH, "openapi_json": prefix + CONTRACT_PATHS[0],
            "openapi_yaml": prefix + CONTRACT_PATHS[1]}


def family_entry(family: Family) -> dict[str, str]:
    """A family as the mock-level JSON lists it (``GET /`` and the 404 outside every family)."""
    return {"name": family.name, "base_path": family.base_path, "description": family.description,
            **family_links(family)}


def wants_html(accept: str) -> bool:
    """Whether a request's ``Accept`` header prefers HTML to JSON (a browser's does; curl's ``*/*`` does not)."""
    html = json = 0.0
    for item in accept.split(","):
        media_type, _, parameters = item.partition(";")
        quality = 1.0
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media_type = media_type.strip().lower()
        if media_type == "text/html":
            html = max(html, quality)
        elif media_type == "application/json":
            json = max(json, quality)
    return html > 0 and html >= json


def index_html(families: t.Sequence[Family]) -> str:
    """The ``GET /`` page for a browser: every family with links to its base URL, Swagger UI and contract."""
    rows = []
    for family in families:
        links = family_links(family)
        rows.append(
            "<tr>"
            f"<td>{escape(family.name)}</td><td>{escape(family.description)}</td>"
            f"<td><code>{escape(family.base_path)}</code></td>"
            f"<td><a href=\"{escape(links['ui'])}\">Swagger UI</a></td>"
            f"<td><a href=\"{escape(links['openapi_json'])}\">openapi.json</a> · "
            f"<a href=\"{escape(links['openapi_yaml'])}\">openapi.yaml</a></td>"
            "</tr>")
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>convo-mock</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:.4em .8em;text-align:left}</style></head><body>"
        "<h1>convo-mock</h1><p>Contract-first mock of LLM conversation APIs. Any non-empty API key works; "
        "each key is its own tenant. The same list as JSON: <code>Accept: application/json</code>.</p>"
        "<table><thead><tr><th>family</th><th>API</th><th>base path</th><th>try it</th><th>contract</th></tr>"
        f"</thead><tbody>{''.join(rows)}</tbody></table></body></html>\n")
