"""Ad spend per day, channel and campaign (for ROI): JSON create/list, CSV import."""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Response
from pydantic import BaseModel, Field, ValidationError

from app_api.deps import Context, PermAnalytics, PermWrite
from app_api.errors import APIError, conflict
from app_api.pagination import CursorQuery, LimitQuery, paginate
from app_api.schemas import Date, In, Label, Money, Name, Out, Page, PathId, QueryText
from app_api.spend_import import upsert_spend
from kernel.metadata.models import AdSpend

router = APIRouter(prefix="/v1/ad-spend", tags=["ad spend"])

Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
CSV_REQUIRED = ("date", "channel", "amount")
MAX_CSV_ROWS = 100_000


class AdSpendIn(In):
    date: Date
    channel: Name
    campaign: Label = ""
    amount: Money
    currency: Currency = "USD"


class AdSpendOut(Out):
    id: str
    date: dt.date
    channel: str
    campaign: str
    amount: float
    currency: str
    created_at: dt.datetime


class ImportResult(BaseModel):
    created: int
    updated: int


def _find(ctx: Context, date: dt.date, channel: str, campaign: str) -> AdSpend | None:
    return ctx.db.scalar(ctx.db.select(AdSpend).where(
        AdSpend.date == date, AdSpend.channel == channel, AdSpend.campaign == campaign))


@router.get("", response_model=Page[AdSpendOut])
def list_ad_spend(
    ctx: PermAnalytics,
    start: Annotated[Date | None, Query(description="First day (inclusive).")] = None,
    end: Annotated[Date | None, Query(description="Last day (inclusive).")] = None,
    channel: Annotated[QueryText | None, Query()] = None,
    campaign: Annotated[QueryText | None, Query()] = None,
    cursor: str | None = CursorQuery,
    limit: int = LimitQuery,
) -> dict[str, object]:
    """Spend rows, newest first; filter by day range, channel and campaign."""
    stmt = ctx.db.select(AdSpend)
    if start:
        stmt = stmt.where(AdSpend.date >= start)
    if end:
        stmt = stmt.where(AdSpend.date <= end)
    if channel:
        stmt = stmt.where(AdSpend.channel == channel)
    if campaign is not None:
        stmt = stmt.where(AdSpend.campaign == campaign)
    rows, nxt = paginate(ctx.db, stmt, AdSpend, cursor, limit)
    return {"data": rows, "next_cursor": nxt}


@router.post("", response_model=AdSpendOut, status_code=201)
def create_ad_spend(body: AdSpendIn, ctx: PermWrite) -> AdSpend:
    """Add one day's spend for a channel and campaign (409 if that row exists)."""
    if _find(ctx, body.date, body.channel, body.campaign) is not None:
        raise conflict(f"spend for {body.date} / {body.channel} / {body.campaign!r} exists; "
                       "delete it or re-import with CSV to replace it")
    row = ctx.create(AdSpend(**body.model_dump()), "ad_spend")
    return row


def _parse_csv(text: str) -> list[AdSpendIn]:
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    missing = [c for c in CSV_REQUIRED if c not in header]
    if missing:
        raise APIError(422, "invalid", f"CSV header lacks {', '.join(missing)}; expected "
                       "date,channel,campaign,amount[,currency]")
    reader.fieldnames = header
    rows: list[AdSpendIn] = []
    errors: list[dict[str, Any]] = []
    for line, raw in enumerate(reader, start=2):
        if len(rows) >= MAX_CSV_ROWS:
            raise APIError(413, "too_large", f"at most {MAX_CSV_ROWS} rows per upload")
        values = {k: (v or "").strip() for k, v in raw.items() if k}
        try:
            amount = float(values.get("amount", ""))
            if not math.isfinite(amount):
                raise ValueError("amount must be a finite number")
            rows.append(AdSpendIn(date=dt.date.fromisoformat(values.get("date", "")),
                                  channel=values.get("channel", ""),
                                  campaign=values.get("campaign", ""), amount=amount,
                                  currency=values.get("currency") or "USD"))
        except ValidationError as exc:
            first = exc.errors()[0]
            field = ".".join(str(p) for p in first.get("loc", ()))
            errors.append({"line": line, "message": f"{field}: {first.get('msg', '')}"[:300]})
        except ValueError as exc:
            errors.append({"line": line, "message": str(exc).splitlines()[0][:300]})
    if errors:
        raise APIError(422, "invalid", f"{len(errors)} CSV row(s) are invalid; first on line "
                       f"{errors[0]['line']}: {errors[0]['message']}", details=errors[:100])
    return rows


#: Separate router so the app can give CSV uploads a larger body limit.
upload_router = APIRouter(prefix="/v1/ad-spend", tags=["ad spend"])


@upload_router.post("/import", response_model=ImportResult)
def import_ad_spend(
    ctx: PermWrite,
    body: Annotated[bytes, Body(media_type="text/csv", description=(
        "CSV with a header row: date,channel,campaign,amount[,currency]"))],
) -> dict[str, Any]:
    """Upload a CSV (date,channel,campaign,amount[,currency]); rows replace same-key rows."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise APIError(422, "invalid", "the CSV must be UTF-8 text") from None
    if "\x00" in text:
        raise APIError(422, "invalid", "the CSV must not contain NUL characters")
    try:
        rows = _parse_csv(text)
    except csv.Error as exc:
        raise APIError(422, "invalid", f"the CSV cannot be read: {exc}") from None
    # All or nothing: _parse_csv refused the file if any row is invalid (docs/security.md).
    created, updated = upsert_spend(ctx.db.session, ctx.org_id, (r.model_dump() for r in rows),
                                    actor=ctx.actor)
    ctx.db.commit()
    return {"created": created, "updated": updated}


@router.get("/{spend_id}", response_model=AdSpendOut)
def get_ad_spend(spend_id: PathId, ctx: PermAnalytics) -> AdSpend:
    """One spend row."""
    return ctx.get(AdSpend, spend_id, "ad spend row")


@router.delete("/{spend_id}", status_code=204)
def delete_ad_spend(spend_id: PathId, ctx: PermWrite) -> Response:
    """Delete one spend row."""
    ctx.delete(ctx.get(AdSpend, spend_id, "ad spend row"), "ad_spend")
    return Response(status_code=204)
