"""ASGI entry point of the collector alone: ``uvicorn ingestion.asgi:app``."""

from ingestion.app import create_collector_app

app = create_collector_app()
