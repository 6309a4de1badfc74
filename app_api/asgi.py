"""ASGI entry point: ``uvicorn app_api.asgi:app`` (API + collector)."""

from app_api.main import create_app

app = create_app()
