"""The one rule for finding a credential in a request (the API and the collector share it).

``Authorization: <scheme> <token>`` with the scheme ``Bearer`` in any letter case (RFC 7235:
schemes are case-insensitive), else ``X-API-Key: <token>``. A different scheme (``Basic``)
presents nothing, so ``X-API-Key`` may still be read beside it.
"""

from __future__ import annotations


def presented_token(authorization: str, x_api_key: str) -> str:
    """The token a caller presents, or "" when there is none.

    Args:
        authorization: the ``Authorization`` header's value ("" when absent).
        x_api_key: the ``X-API-Key`` header's value ("" when absent).
    """
    scheme, _, value = authorization.strip().partition(" ")
    token = value.strip() if scheme.lower() == "bearer" else ""
    return token or x_api_key.strip()
