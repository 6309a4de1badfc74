"""The hostile suite reuses the API fixtures (SQLite and PostgreSQL, the two-org world)."""

from tests.app_api.conftest import (  # noqa: F401  (fixtures, re-exported for this package)
    api_settings,
    client,
    fresh_url,
    metadata_url,
    module_client,
    module_url,
    module_world,
    shared_url,
    world,
)
