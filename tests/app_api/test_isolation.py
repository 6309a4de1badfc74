"""Tenant isolation: a caller from org A can neither read nor change anything of org B."""

from __future__ import annotations

import ast
import re
import secrets
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient

from app_api.tenancy import TenantSession, TenantViolationError
from kernel.metadata.models import Lead, LeadMagnet, MagnetVariant, Organization
from tests.app_api.route_table import PUBLIC, ROUTES, fill, request_kwargs
from tests.app_api.world import World, org_snapshot
from tests.helpers import ROOT


def _request(client: TestClient, method: str, path: str, body: object,
             headers: dict[str, str]):  # type: ignore[no-untyped-def]
    kwargs = request_kwargs(body)
    return client.request(method, path, headers={**headers, **kwargs.pop("headers", {})},
                          **kwargs)


def test_every_route_hides_and_protects_other_tenants(module_client: TestClient,
                                                      module_world: World) -> None:
    a, b = module_world.a, module_world.b
    state = module_client.app.state.lodestone  # type: ignore[attr-defined]
    before = org_snapshot(state, b.id)
    b_ids = set(b.ids.values()) | {b.slug}
    problems = []
    for (method, path), (permission, body) in ROUTES.items():
        if permission == PUBLIC:
            continue
        rand = secrets.token_hex(3)
        params = re.findall(r"{(\w+)}", path)
        if params:
            # Every id in the path belongs to B; the body is valid for A.
            r = _request(module_client, method, fill(path, b.ids, rand),
                         fill(body, a.ids, rand), a.auth("owner"))
            if r.status_code != 404:
                problems.append(f"{method} {path} with B's ids: {r.status_code} {r.text[:100]}")
            if len(params) > 1:  # A's parent with B's child, e.g. a variant of another magnet
                mixed = fill(path, {**b.ids, params[0]: a.ids[params[0]]}, rand)
                r = _request(module_client, method, mixed, fill(body, a.ids, rand),
                             a.auth("owner"))
                if r.status_code != 404:
                    problems.append(f"{method} {path} mixed ids: {r.status_code}")
            if method == "GET":  # control: the same route with A's ids works
                r = _request(module_client, method, fill(path, a.ids, rand), None,
                             a.auth("owner"))
                if r.status_code != 200:
                    problems.append(f"{method} {path} with A's ids: {r.status_code}")
        else:
            # Collection routes: bodies refer to B's resources where they refer to any.
            sent = fill(body, b.ids, rand)
            r = _request(module_client, method, fill(path, a.ids, rand), sent, a.auth("owner"))
            # An error may echo an id the caller sent; any other id of B is a leak.
            if any(i in r.text for i in b_ids if i not in str(sent)):
                problems.append(f"{method} {path} leaked one of B's ids")
            if body and any(f"{{{k}}}" in str(body) for k in b.ids) and r.status_code < 400:
                problems.append(f"{method} {path} accepted B's ids: {r.status_code}")
    assert not problems, "\n".join(problems)
    assert org_snapshot(state, b.id) == before


def test_list_filters_with_other_tenants_ids_return_nothing(module_client: TestClient,
                                                            module_world: World) -> None:
    a, b = module_world.a, module_world.b
    for url in (f"/v1/experiments?magnet_id={b.ids['magnet_id']}",
                f"/v1/leads?magnet_id={b.ids['magnet_id']}",
                f"/v1/magnets?site_id={b.ids['site_id']}",
                f"/v1/webhook-deliveries?endpoint_id={b.ids['endpoint_id']}",
                f"/v1/audit-log?resource_id={b.id}"):
        r = module_client.get(url, headers=a.auth())
        assert r.status_code == 200 and r.json()["data"] == [], url


def test_tenant_session_filters_every_orm_statement(module_client: TestClient,
                                                    module_world: World) -> None:
    a, b = module_world.a, module_world.b
    state = module_client.app.state.lodestone  # type: ignore[attr-defined]
    with state.sessions() as session:
        db = TenantSession(session, a.id)
        # A plain select that "forgets" its WHERE still only sees A's rows.
        assert {lead.org_id for lead in session.scalars(sa.select(Lead))} == {a.id}
        assert session.get(Lead, b.ids["lead_id"]) is None
        assert db.get(LeadMagnet, b.ids["magnet_id"]) is None
        assert [o.id for o in session.scalars(sa.select(Organization))] == [a.id]
        joined = session.scalars(sa.select(MagnetVariant).join(LeadMagnet)).all()
        assert {v.org_id for v in joined} == {a.id}
        # Bulk updates touch only A's rows.
        session.execute(sa.update(Lead).values(variant="touched"))
        session.flush()
        session.rollback()
        # Writing a row of B is refused at flush.
        session.add(Lead(org_id=b.id, magnet_id=b.ids["magnet_id"], email="x@example.com"))
        try:
            session.flush()
            raise AssertionError("flush of another tenant's row must fail")
        except TenantViolationError as exc:
            assert exc.row_org_id == b.id
        session.rollback()
    with state.sessions() as session:  # B's leads were never renamed
        names = session.scalars(sa.select(Lead.variant).where(Lead.org_id == b.id)).all()
        assert "touched" not in names


#: The only route module that may hold an unscoped metadata session: sign-in, which looks a
#: user up by email before there is an organization to scope to.
SIGN_IN = "auth.py"
UNSCOPED_MODULES = ("kernel.warehouse", "kernel.metadata.db", "sqlalchemy.orm")
UNSCOPED_NAMES = {"State", "StateDep", "get_state", "SessionDep", "get_session",
                  "open_warehouse", "Warehouse", "sessionmaker", "Session"}
UNSCOPED_ATTRIBUTES = {"_state", "_warehouse", "sessions", "state"}


def _unscoped_handles(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom) and node.module:
            if node.module.startswith(UNSCOPED_MODULES):
                found.append(f"imports {node.module}")
            found += [f"imports {a.name}" for a in node.names if a.name in UNSCOPED_NAMES]
        elif isinstance(node, ast.Import):
            found += [f"imports {a.name}" for a in node.names
                      if a.name.startswith(UNSCOPED_MODULES)]
        elif isinstance(node, ast.Attribute) and node.attr in UNSCOPED_ATTRIBUTES:
            found.append(f"reads .{node.attr} (line {node.lineno})")
    return found


def test_no_route_module_can_obtain_an_unscoped_handle() -> None:
    """Routes reach data only through Context: ctx.db (a TenantSession), ctx.warehouse() (a
    ScopedWarehouse), ctx.tenant_session(). Importing an engine, a session factory or the
    warehouse, or reading the app state, would step around the tenant scope."""
    routes = sorted((ROOT / "app_api" / "routes").glob("*.py"))
    assert len(routes) > 10
    offenders = {p.name: _unscoped_handles(p) for p in routes if p.name != SIGN_IN}
    assert not {k: v for k, v in offenders.items() if v}
    # the check itself sees a violation when there is one
    bad = ROOT / "app_api" / "routes" / "__scan_check__.py"
    try:
        bad.write_text("from kernel.warehouse import open_warehouse\n"
                       "def f(ctx):\n    return ctx._state.warehouse()\n")
        assert _unscoped_handles(bad) == ["imports kernel.warehouse", "imports open_warehouse",
                                          "reads ._state (line 3)"]
    finally:
        bad.unlink()
