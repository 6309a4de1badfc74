from __future__ import annotations

import pytest

from tests.orchestration.simulated import Simulated, build


@pytest.fixture(scope="session")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> Simulated:
    """20,000 simulated visitors (~110k events) through every asset, once per session."""
    return build(tmp_path_factory.mktemp("simulated") / "data", visitors=20_000)
