"""The admin API's sections, each a few routes (``mockserver.admin.api.Route``); ``SECTIONS`` lists them.

- health: ``GET /health`` (the process answers), ``GET /ready`` (start-up done, fixtures loaded);
- reset: ``POST /reset`` — everything, one family, one tenant, or one tenant of one family;
- fixtures: ``POST /fixtures`` — load a fixture document (``mockserver.admin.fixtures``);
- journal: ``GET /journal`` (filtered by tenant, family, operation; ``limit`` newest), ``DELETE /journal``;
- faults: ``GET /faults`` (the rules in force, with their seed), ``PUT /faults`` (replace them, checked whole:
  a refused document changes nothing), ``DELETE /faults`` (no rules) — ``MockApp.faults``;
- contract: ``GET /openapi.yaml`` — the admin API's own contract.
"""

from __future__ import annotations

import json
import typing as t

import yaml
from starlette.requests import Request
from starlette.responses import Response

from convo_contracts import contract_path
from mockserver.admin.api import AdminError, Route
from mockserver.admin.fixtures import FixtureError, load, parse
from mockserver.admin.journal import Filters
from mockserver.admin.spec_index import mask
from mockserver.faults import FaultRuleError
from mockserver.responses import json_response

if t.TYPE_CHECKING:
    from mockserver.app import MockApp

ADMIN_CONTRACT = "admin.yaml"


# --- health ------------------------------------------------------------------------------------------

async def health(request: Request, mock: MockApp) -> Response:
    return json_response({"status": "ok"})


async def ready(request: Request, mock: MockApp) -> Response:
    families = [family.name for family in mock.families]
    if not mock.ready:
        return json_response({"status": "starting", "families": families}, status=503)
    return json_response({"status": "ready", "families": families})


HEALTH = [Route("GET", "/health", health, open=True), Route("GET", "/ready", ready, open=True)]


# --- reset -------------------------------------------------------------------------------------------

async def _json_body(request: Request, *, required: bool) -> t.Any:
    raw = await request.body()
    if not raw.strip():
        if required:
            raise AdminError(400, "This route needs a JSON body.")
        return {}
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise AdminError(400, f"The body is not JSON: {exc}") from None


async def reset(request: Request, mock: MockApp) -> Response:
    body = await _json_body(request, required=False)
    if not isinstance(body, dict) or set(body) - {"family", "tenant"}:
        raise AdminError(400, 'The body is {"family": name, "tenant": API key}, both optional.')
    family, tenant = body.get("family"), body.get("tenant")
    if family is not None and family not in mock.stores:
        raise AdminError(404, f"No family {family!r}; served: {', '.join(mock.stores)}")
    if tenant is not None and (not isinstance(tenant, str) or not tenant.strip()):
        raise AdminError(400, "'tenant' is the API key whose data to forget (a non-empty string).")
    names = [family] if family is not None else list(mock.stores)
    for name in names:
        mock.stores[name].clear(tenant.strip() if tenant is not None else None)
    return json_response({"reset": {"families": names, "tenant": mask(tenant.strip()) if tenant else None}})


RESET = [Route("POST", "/reset", reset)]


# --- fixtures ----------------------------------------------------------------------------------------

async def load_fixtures(request: Request, mock: MockApp) -> Response:
    raw = await request.body()
    try:
        loaded = await mock.load_fixtures(raw)
    except FixtureError as exc:
        raise AdminError(422, exc.message, **({"failed": exc.detail} if exc.detail else {})) from None
    return json_response({"loaded": loaded}, status=201)


FIXTURES = [Route("POST", "/fixtures", load_fixtures)]


async def parse_and_load(mock: MockApp, text: str | bytes) -> list[dict[str, t.Any]]:
    """Load a fixture document into ``mock`` (what ``MockApp.load_fixtures`` does)."""
    families = {family.name: family for family in mock.families}
    return await load(mock.dispatch, families, parse(text, families))


# --- journal -----------------------------------------------------------------------------------------

async def journal(request: Request, mock: MockApp) -> Response:
    if mock.journal is None:
        raise AdminError(404, "The journal is off (--journal-size 0).")
    params = request.query_params
    unknown = set(params) - {"tenant", "family", "operation", "limit"}
    if unknown:
        raise AdminError(400, f"Unknown query parameters: {', '.join(sorted(unknown))}")
    limit = params.get("limit")
    if limit is not None and not (limit.isdigit() and int(limit) <= 1_000_000):
        raise AdminError(400, "'limit' is a whole number of requests (the newest ones).")
    filters = Filters(params.get("tenant"), params.get("family"), params.get("operation"),
                      int(limit) if limit is not None else None)
    entries = mock.journal.entries(filters)
    return json_response({"requests": entries, "count": len(entries), "capacity": mock.journal.capacity})


async def clear_journal(request: Request, mock: MockApp) -> Response:
    if mock.journal is not None:
        mock.journal.clear()
    return Response(status_code=204)


JOURNAL = [Route("GET", "/journal", journal), Route("DELETE", "/journal", clear_journal)]


# --- faults ------------------------------------------------------------------------------------------

async def faults(request: Request, mock: MockApp) -> Response:
    return json_response(mock.faults.as_dict())


async def replace_faults(request: Request, mock: MockApp) -> Response:
    raw = await request.body()
    try:
        document = yaml.safe_load(raw) if raw.strip() else None
    except yaml.YAMLError as exc:
        raise AdminError(400, f"The body is neither JSON nor YAML: {exc}") from None
    if not isinstance(document, dict):
        raise AdminError(400, 'The body is a fault rule document: {"seed": n, "rules": [...]} (both optional).')
    try:
        mock.faults.replace(document)
    except FaultRuleError as exc:
        raise AdminError(422, str(exc)) from None
    return json_response(mock.faults.as_dict())


async def clear_faults(request: Request, mock: MockApp) -> Response:
    mock.faults.clear()
    return Response(status_code=204)


FAULTS = [Route("GET", "/faults", faults), Route("PUT", "/faults", replace_faults),
          Route("DELETE", "/faults", clear_faults)]


# --- the admin contract ------------------------------------------------------------------------------

async def contract(request: Request, mock: MockApp) -> Response:
    return Response(contract_path(ADMIN_CONTRACT).read_bytes(), media_type="application/yaml")


CONTRACT = [Route("GET", "/openapi.yaml", contract, open=True)]

SECTIONS: list[list[Route]] = [HEALTH, RESET, FIXTURES, JOURNAL, FAULTS, CONTRACT]
"""Every section of the admin API; a new section is one more list of routes here."""
