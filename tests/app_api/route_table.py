"""Every API operation with its permission and a valid example request (for table tests).

A test compares this table with the OpenAPI schema, so a new route must be added here,
with its permission reviewed, before the suite passes.
"""

from __future__ import annotations

from typing import Any

from kernel.permissions import (
    ANALYTICS_VIEW,
    DATA_EXPORT,
    EVENTS_WRITE,
    EXPERIMENTS_PROMOTE,
    LEAD_MAGNETS_APPROVE,
    LEAD_MAGNETS_READ,
    LEAD_MAGNETS_WRITE,
    TEAM_MANAGE,
)

PUBLIC = "public"
AUTHENTICATED = "authenticated"

#: (method, path) -> (permission, JSON body or None). ``{name}`` in a body is replaced by
#: the id of that resource in the organization the request targets.
ROUTES: dict[tuple[str, str], tuple[str, Any]] = {
    ("POST", "/v1/auth/login"): (PUBLIC, {"email": "x@example.com", "password": "nope"}),
    ("POST", "/v1/auth/token"): (PUBLIC, {"email": "x@example.com", "password": "nope"}),
    ("POST", "/v1/auth/logout"): (PUBLIC, None),
    ("GET", "/v1/me"): (AUTHENTICATED, None),
    ("POST", "/v1/me/password"): (AUTHENTICATED, {"current_password": "wrong-password",
                                                  "new_password": "a-new-long-password"}),
    ("GET", "/v1/organizations"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/organizations/{org_id}"): (LEAD_MAGNETS_READ, None),
    ("PATCH", "/v1/organizations/{org_id}"): (TEAM_MANAGE, {"name": "Renamed"}),
    ("GET", "/v1/users"): (TEAM_MANAGE, None),
    ("POST", "/v1/users"): (TEAM_MANAGE, {"email": "new-{rand}@example.com", "role": "viewer"}),
    ("GET", "/v1/users/{user_id}"): (TEAM_MANAGE, None),
    ("PATCH", "/v1/users/{user_id}"): (TEAM_MANAGE, {"name": "Renamed"}),
    ("DELETE", "/v1/users/{user_id}"): (TEAM_MANAGE, None),
    ("GET", "/v1/api-keys"): (TEAM_MANAGE, None),
    ("POST", "/v1/api-keys"): (TEAM_MANAGE, {"name": "ci", "scopes": ["lead_magnets:read"]}),
    ("GET", "/v1/api-keys/{key_id}"): (TEAM_MANAGE, None),
    ("POST", "/v1/api-keys/{key_id}/revoke"): (TEAM_MANAGE, None),
    ("GET", "/v1/sites"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/sites"): (TEAM_MANAGE, {"name": "Blog"}),
    ("GET", "/v1/sites/{site_id}"): (LEAD_MAGNETS_READ, None),
    ("PATCH", "/v1/sites/{site_id}"): (TEAM_MANAGE, {"allowed_origins": ["https://a.example"]}),
    ("DELETE", "/v1/sites/{site_id}"): (TEAM_MANAGE, None),
    ("GET", "/v1/magnets"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/magnets"): (LEAD_MAGNETS_WRITE, {"name": "New", "slug": "new-{rand}",
                                                   "type": "checklist", "site_id": "{site_id}"}),
    ("GET", "/v1/magnets/{magnet_id}"): (LEAD_MAGNETS_READ, None),
    ("PATCH", "/v1/magnets/{magnet_id}"): (LEAD_MAGNETS_WRITE, {"name": "Renamed"}),
    ("DELETE", "/v1/magnets/{magnet_id}"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/magnets/{magnet_id}/submit"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/magnets/{magnet_id}/approve"): (LEAD_MAGNETS_APPROVE, None),
    ("GET", "/v1/magnets/{magnet_id}/approval"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/magnets/{magnet_id}/reject"): (LEAD_MAGNETS_APPROVE, {"note": "fix typos"}),
    ("POST", "/v1/magnets/{magnet_id}/publish"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/magnets/{magnet_id}/archive"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/magnets/{magnet_id}/withdraw"): (LEAD_MAGNETS_WRITE, None),
    ("GET", "/v1/magnets/{magnet_id}/publishing"): (LEAD_MAGNETS_READ, None),
    ("PATCH", "/v1/magnets/{magnet_id}/publishing"): (LEAD_MAGNETS_WRITE,
                                                      {"double_opt_in": True}),
    ("GET", "/v1/magnets/{magnet_id}/qr"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/magnets/{magnet_id}/embed"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/magnets/{magnet_id}/social-posts"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/mail/suppressions"): (DATA_EXPORT, None),
    ("GET", "/v1/campaigns"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/campaigns"): (LEAD_MAGNETS_WRITE, {
        "magnet_id": "{magnet_id}", "name": "Launch", "subject": "New checklist",
        "scheduled_at": "2030-01-01T09:00:00Z"}),
    ("POST", "/v1/mail/suppressions"): (LEAD_MAGNETS_WRITE, {"email": "gone-{rand}@example.com",
                                                             "reason": "bounced"}),
    ("GET", "/v1/magnets/{magnet_id}/variants"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/magnets/{magnet_id}/variants"): (LEAD_MAGNETS_WRITE, {"key": "C{rand}"}),
    ("GET", "/v1/magnets/{magnet_id}/variants/{variant_id}"): (LEAD_MAGNETS_READ, None),
    ("PATCH", "/v1/magnets/{magnet_id}/variants/{variant_id}"): (LEAD_MAGNETS_WRITE,
                                                                 {"name": "Renamed"}),
    ("DELETE", "/v1/magnets/{magnet_id}/variants/{variant_id}"): (LEAD_MAGNETS_WRITE, None),
    ("GET", "/v1/experiments"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/experiments"): (LEAD_MAGNETS_WRITE, {
        "key": "exp-{rand}", "name": "Test", "magnet_id": "{magnet_id}",
        "variants": [{"key": "A", "weight": 0.5}, {"key": "B", "weight": 0.5}]}),
    ("GET", "/v1/experiments/{experiment_id}"): (LEAD_MAGNETS_READ, None),
    ("PATCH", "/v1/experiments/{experiment_id}"): (LEAD_MAGNETS_WRITE, {"name": "Renamed"}),
    ("DELETE", "/v1/experiments/{experiment_id}"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/experiments/{experiment_id}/start"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/experiments/{experiment_id}/stop"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/experiments/{experiment_id}/promote"): (EXPERIMENTS_PROMOTE, {"winner": "B"}),
    ("POST", "/v1/experiments/{experiment_id}/override-winner"): (EXPERIMENTS_PROMOTE,
                                                                  {"winner": "A"}),
    ("POST", "/v1/experiments/{experiment_id}/rollback"): (EXPERIMENTS_PROMOTE, None),
    ("GET", "/v1/leads"): (DATA_EXPORT, None),
    ("POST", "/v1/leads"): (EVENTS_WRITE, {"magnet_id": "{magnet_id}",
                                           "email": "new-{rand}@example.com"}),
    ("GET", "/v1/leads/export"): (DATA_EXPORT, None),
    ("GET", "/v1/leads/{lead_id}"): (DATA_EXPORT, None),
    ("DELETE", "/v1/leads/{lead_id}"): (TEAM_MANAGE, None),
    ("PUT", "/v1/leads/{lead_id}/tags"): (TEAM_MANAGE, {"tags": ["vip"]}),
    ("GET", "/v1/consent/purposes"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/consent/purposes"): (TEAM_MANAGE, {"key": "p_{rand}", "name": "P",
                                                     "text": "Mail me about p."}),
    ("POST", "/v1/consent/purposes/{purpose_key}/texts"): (TEAM_MANAGE, {"text": "New words."}),
    ("POST", "/v1/consent/records"): (EVENTS_WRITE, {"purpose": "{purpose_key}",
                                                     "lead_id": "{lead_id}"}),
    ("POST", "/v1/consent/withdraw"): (EVENTS_WRITE, {"purpose": "{purpose_key}",
                                                      "lead_id": "{lead_id}"}),
    ("GET", "/v1/consent/records"): (DATA_EXPORT, None),
    ("GET", "/v1/webhook-endpoints"): (TEAM_MANAGE, None),
    ("POST", "/v1/webhook-endpoints"): (TEAM_MANAGE, {"url": "https://hooks.example.com/x"}),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"): (TEAM_MANAGE, None),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"): (TEAM_MANAGE, {"description": "x"}),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"): (TEAM_MANAGE, None),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/secret"): (TEAM_MANAGE, None),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"): (TEAM_MANAGE, None),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/test"): (TEAM_MANAGE, None),
    ("GET", "/v1/webhook-deliveries"): (TEAM_MANAGE, None),
    ("GET", "/v1/webhook-deliveries/{delivery_id}"): (TEAM_MANAGE, None),
    ("POST", "/v1/webhook-deliveries/{delivery_id}/redeliver"): (TEAM_MANAGE, None),
    ("GET", "/v1/audit-log"): (TEAM_MANAGE, None),
    ("GET", "/v1/audit-log/{entry_id}"): (TEAM_MANAGE, None),
    ("GET", "/v1/ad-spend"): (ANALYTICS_VIEW, None),
    ("POST", "/v1/ad-spend"): (LEAD_MAGNETS_WRITE, {"date": "2026-02-{day}", "channel": "meta",
                                                    "amount": 5}),
    ("POST", "/v1/ad-spend/import"): (LEAD_MAGNETS_WRITE, "date,channel,campaign,amount\n"
                                      "2026-03-01,meta,x,1.5\n"),
    ("GET", "/v1/ad-spend/{spend_id}"): (ANALYTICS_VIEW, None),
    ("DELETE", "/v1/ad-spend/{spend_id}"): (LEAD_MAGNETS_WRITE, None),
    ("GET", "/v1/stats/daily-magnet-metrics"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/stats/funnels"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/stats/cohorts"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/stats/attribution"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/stats/roi"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/stats/experiment-results"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/experiment-planner"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/overview/definitions"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/overview/summary"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/overview/top"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/overview/timeseries"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/insights/experiments/{experiment_id}/readout"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/insights/attribution/paths"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/insights/attribution/removal-effects"): (ANALYTICS_VIEW, None),
    ("GET", "/v1/jobs"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/jobs/{job_id}"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/magnets/{magnet_id}/builds"): (LEAD_MAGNETS_WRITE, {"formats": ["html"]}),
    ("GET", "/v1/magnets/{magnet_id}/builds"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/builds/{build_id}"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/artifacts/{artifact_id}/download"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/magnets/{magnet_id}/document"): (LEAD_MAGNETS_READ, None),
    ("PUT", "/v1/magnets/{magnet_id}/document"): (LEAD_MAGNETS_WRITE, {"document": {
        "type": "ebook", "title": "Guide", "sections": [{"title": "One", "blocks": [
            {"type": "paragraph", "text": "Text."}]}]}, "version": 1}),
    ("GET", "/v1/magnets/{magnet_id}/document/versions"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/brand-kit"): (LEAD_MAGNETS_READ, None),
    ("PUT", "/v1/brand-kit"): (LEAD_MAGNETS_WRITE, {"name": "Acme", "company": "Acme"}),
    ("GET", "/v1/brand-kit/logo"): (LEAD_MAGNETS_READ, None),
    ("PUT", "/v1/brand-kit/logo"): (LEAD_MAGNETS_WRITE, "<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ("GET", "/v1/templates"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/templates/preview"): (LEAD_MAGNETS_READ, None),
    ("GET", "/v1/magnets/{magnet_id}/checks"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/knowledge"): (LEAD_MAGNETS_WRITE, "# Facts\n\nPlans start at $29.\n"),
    ("GET", "/v1/knowledge"): (LEAD_MAGNETS_READ, None),
    ("POST", "/v1/magnets/{magnet_id}/drafts"): (LEAD_MAGNETS_WRITE, {"topic": "churn"}),
    ("DELETE", "/v1/knowledge/{knowledge_id}"): (LEAD_MAGNETS_WRITE, None),
    ("POST", "/v1/privacy/find"): (DATA_EXPORT, {"lead_id": "{lead_id}"}),
    ("POST", "/v1/privacy/requests"): (DATA_EXPORT, {"kind": "export", "lead_id": "{lead_id}"}),
    ("GET", "/v1/privacy/requests"): (DATA_EXPORT, None),
    ("GET", "/v1/privacy/requests/{request_id}"): (DATA_EXPORT, None),
    ("POST", "/v1/privacy/requests/{request_id}/download"): (DATA_EXPORT, None),
    ("GET", "/v1/privacy/retention"): (TEAM_MANAGE, None),
    ("PUT", "/v1/privacy/retention"): (TEAM_MANAGE, {"raw_events_days": 400}),
    ("GET", "/v1/privacy/processing-activities"): (DATA_EXPORT, None),
    ("POST", "/v1/privacy/processing-activities"): (TEAM_MANAGE, {
        "name": "Activity {rand}", "purpose": "Answer questions", "legal_basis": "contract"}),
    ("GET", "/v1/privacy/processing-activities/{activity_id}"): (DATA_EXPORT, None),
    ("PATCH", "/v1/privacy/processing-activities/{activity_id}"): (TEAM_MANAGE, {
        "retention": "30 days"}),
    ("DELETE", "/v1/privacy/processing-activities/{activity_id}"): (TEAM_MANAGE, None),
    ("GET", "/v1/privacy/compliance-report"): (DATA_EXPORT, None),
    ("GET", "/v1/privacy/compliance-report/pdf"): (DATA_EXPORT, None),
    ("GET", "/v1/privacy/pii-policy"): (TEAM_MANAGE, None),
    ("PUT", "/v1/privacy/pii-policy"): (TEAM_MANAGE, {"policy": "redact"}),
}


def fill(template: Any, ids: dict[str, str], rand: str) -> Any:
    """Replace ``{name}`` placeholders in a path or body with ids (and {rand}/{day})."""
    if isinstance(template, str):
        out = template.replace("{rand}", rand).replace("{day}", f"{int(rand, 16) % 28 + 1:02d}")
        for name, value in ids.items():
            out = out.replace("{" + name + "}", value)
        return out
    if isinstance(template, dict):
        return {k: fill(v, ids, rand) for k, v in template.items()}
    if isinstance(template, list):
        return [fill(v, ids, rand) for v in template]
    return template


def request_kwargs(body: Any) -> dict[str, Any]:
    """httpx kwargs for a body from the table (CSV strings go as text/csv)."""
    if body is None:
        return {}
    if isinstance(body, str):
        return {"content": body.encode(), "headers": {"content-type": "text/csv"}}
    return {"json": body}
