"""QR codes for a magnet's landing page, per channel: SVG or PNG, error correction M.

The encoded URL is the landing page with ``utm_source=qr``, the medium the user chose
(print, poster, slide, packaging …) and an optional campaign, so scans show up as their
own channel in the analytics.
"""

from __future__ import annotations

import io
import re
from urllib.parse import urlencode

import segno

from kernel.errors import DomainError

_TAG = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
FORMATS = {"svg": "image/svg+xml", "png": "image/png"}


class QrError(DomainError):
    code = "invalid"


def tag(value: str, what: str) -> str:
    """A UTM value: lower-case letters, digits, ``_`` and ``-``, at most 64."""
    value = value.strip().lower()
    if not _TAG.match(value):
        raise QrError(f"{what} must be 1-64 lower-case letters, digits, '_' or '-' "
                      f"(got {value[:70]!r})", [{"field": what}])
    return value


def tagged_url(landing_url: str, source: str, medium: str, campaign: str = "") -> str:
    query = {"utm_source": source, "utm_medium": medium}
    if campaign:
        query["utm_campaign"] = campaign
    return f"{landing_url}?{urlencode(query)}"


def qr_code(landing_url: str, *, medium: str = "print", campaign: str = "",
            fmt: str = "svg", scale: int = 8) -> tuple[bytes, str, str]:
    """(image bytes, media type, encoded URL) of the QR code for ``landing_url``."""
    if fmt not in FORMATS:
        raise QrError(f"format must be one of {sorted(FORMATS)}", [{"field": "format"}])
    if not 1 <= scale <= 40:
        raise QrError("scale must be between 1 and 40", [{"field": "scale"}])
    url = tagged_url(landing_url, "qr", tag(medium, "medium"),
                     tag(campaign, "campaign") if campaign else "")
    code = segno.make(url, error="m", boost_error=False)
    out = io.BytesIO()
    if fmt == "svg":
        code.save(out, kind="svg", scale=scale, border=4, xmldecl=False,
                  title="QR code", desc=url)
    else:
        code.save(out, kind="png", scale=scale, border=4)
    return out.getvalue(), FORMATS[fmt], url
