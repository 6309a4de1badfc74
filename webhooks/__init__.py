"""Signed webhooks (Standard Webhooks): signing, SSRF guard, outbox fan-out, delivery worker."""
