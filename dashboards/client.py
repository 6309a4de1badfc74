"""The dashboards' only door to data: the Lodestone API (tenant scoping and RBAC live there)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from kernel.settings import load_settings


class ApiError(RuntimeError):
    """The API answered with an error; ``message`` is the API's own explanation."""

    def __init__(self, status: int, message: str, code: str = "",
                 details: list[Any] | None = None) -> None:
        super().__init__(f"{status}: {message}")
        self.status, self.message, self.code = status, message, code
        self.details = details or []


class LodestoneClient:
    """A caller of the API with one credential (an API key or a bearer token from sign-in)."""

    def __init__(self, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 20.0) -> None:
        settings = load_settings()  # not cached: each Streamlit run sees the current values
        self.base_url = (base_url or settings.api_url).rstrip("/")
        self.api_key = settings.dashboard_api_key if api_key is None else api_key
        self.timeout = timeout

    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        headers = {**self._headers(), **kwargs.pop("headers", {})}
        try:
            r = httpx.request(method, f"{self.base_url}{path}", headers=headers,
                              timeout=self.timeout, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach the API at {self.base_url}: {exc}") from exc
        if r.status_code >= 400:
            try:
                err = r.json()["error"]
                message, code, details = err["message"], err.get("code", ""), err.get("details")
            except Exception:
                message, code, details = r.text[:200], "", None
            raise ApiError(r.status_code, message, code, details)
        return r.json() if r.content else None

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v not in (None, "")}
        return self._send("GET", path, params=clean)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self._send("POST", path, json=json, **kwargs)

    def put(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self._send("PUT", path, json=json, **kwargs)

    def get_bytes(self, path: str, params: dict[str, Any] | None = None) -> bytes:
        """A file the API serves (an artifact, a QR code)."""
        try:
            r = httpx.get(f"{self.base_url}{path}", params=params, headers=self._headers(),
                          timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ApiError(0, f"cannot reach the API at {self.base_url}: {exc}") from exc
        if r.status_code >= 400:
            raise ApiError(r.status_code, r.text[:200])
        return r.content

    # -- sign-in ---------------------------------------------------------------------------

    def token(self, email: str, password: str, organization: str | None = None) -> str:
        """A bearer token for a person (POST /v1/auth/token)."""
        body: dict[str, Any] = {"email": email, "password": password}
        if organization:
            body["organization"] = organization
        payload: dict[str, Any] = self.post("/v1/auth/token", body)
        return str(payload["access_token"])

    def me(self) -> dict[str, Any]:
        result: dict[str, Any] = self.get("/v1/me")
        return result

    # -- reads -----------------------------------------------------------------------------

    def stats(self, name: str, **filters: str | None) -> dict[str, Any]:
        """Rows of an analytics table (``funnels``, ``cohorts``, ``attribution``, ``roi``,
        ``experiment-results``) for the caller's organization."""
        result: dict[str, Any] = self.get(f"/v1/stats/{name}", filters)
        return result

    def paged(self, path: str, **params: Any) -> list[dict[str, Any]]:
        """Every item of a cursor-paginated list (bounded: 50 pages of 200)."""
        items: list[dict[str, Any]] = []
        cursor = None
        for _ in range(50):
            page = self.get(path, {"limit": 200, **params, **({"cursor": cursor} if cursor else {})})
            items.extend(page["data"])
            cursor = page.get("next_cursor")
            if not cursor:
                break
        return items

    def experiments(self) -> list[dict[str, Any]]:
        return self.paged("/v1/experiments")

    def daily_magnet_metrics(self, start: dt.date | None = None, end: dt.date | None = None,
                             magnet_id: str | None = None) -> dict[str, Any]:
        params = {k: str(v) for k, v in (("start", start), ("end", end), ("magnet_id", magnet_id)) if v}
        result: dict[str, Any] = self.get("/v1/stats/daily-magnet-metrics", params)
        return result
