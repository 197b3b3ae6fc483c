"""Fixtures of the `services` tests: a production stack on the machine's Postgres and RabbitMQ.

Without the services the tests are skipped on a laptop and fail under CI (`CI=true`): CI must not pass by
skipping them.
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from arima_assets.data.sample import SAMPLE_PATH
from arima_assets_tests.conftest import missing_service
from arima_assets_tests.services.stack import ProductionStack, services_missing


@pytest.fixture
def production_stack(tmp_path: Path) -> Iterator[ProductionStack]:
    """A fresh production deployment on the shipped 12-ISBN sample; every process and database removed after."""
    missing = services_missing()
    if missing:
        missing_service(f"services tests need {', '.join(missing)}")
    stack = ProductionStack(root=tmp_path, sales_path=Path(SAMPLE_PATH))
    try:
        stack.create()
        yield stack
    finally:
        stack.close()
