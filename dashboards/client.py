"""The dashboards' only door to data: the Lodestone API (tenant scoping and RBAC live there)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from kernel.settings import load_settings


class ApiError(RuntimeError):
    """The API answered with an error; ``message`` is the API's own explanation."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message = status, message


class LodestoneClient:
    def __init__(self, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 20.0) -> None:
        settings = load_settings()  # not cached: each Streamlit run sees the current values
        self.base_url = (base_url or settings.api_url).rstrip("/")
        self.api_key = settings.dashboard_api_key if api_key is None else api_key
        self.timeout = timeout

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        try:
            r = httpx.get(f"{self.base_url}{path}", params=params, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach the API at {self.base_url}: {exc}") from exc
        if r.status_code >= 400:
            try:
                message = r.json()["error"]["message"]
            except Exception:
                message = r.text[:200]
            raise ApiError(r.status_code, message)
        return r.json()

    def stats(self, name: str, **filters: str | None) -> dict[str, Any]:
        """Rows of an analytics table (``funnels``, ``cohorts``, ``attribution``, ``roi``,
        ``experiment-results``) for the caller's organization."""
        params = {k: v for k, v in filters.items() if v}
        result: dict[str, Any] = self._get(f"/v1/stats/{name}", params)
        return result

    def experiments(self) -> list[dict[str, Any]]:
        """Every experiment of the organization (follows the cursor pagination)."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(50):  # bounded: 50 pages of 200
            page = self._get("/v1/experiments", {"limit": 200, **({"cursor": cursor} if cursor else {})})
            items.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items

    def daily_magnet_metrics(self, start: dt.date | None = None, end: dt.date | None = None,
                             magnet_id: str | None = None) -> dict[str, Any]:
        params = {k: str(v) for k, v in (("start", start), ("end", end), ("magnet_id", magnet_id)) if v}
        result: dict[str, Any] = self._get("/v1/stats/daily-magnet-metrics", params)
        return result
