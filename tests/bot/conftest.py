from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.pipeline import dispose_engines


@pytest.fixture(autouse=True)
def _dispose_job_context_engines() -> Iterator[None]:
    yield
    dispose_engines()
