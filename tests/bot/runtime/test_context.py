"""What every command is given: the metrics registry that carries the brands file's alert thresholds, and the
routes' models, loaded once and retried with a back-off when they cannot be."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from analysis.errors import ModelUnavailable
from bot.config.settings import load_settings
from bot.runtime.context import ROUTE_RETRY_SECONDS, AppContext
from tests.support.models import build_tiny_model

BRANDS = """
brands:
  - name: acme
    alerts: {channel: "#a", negative_share: 0.35, min_volume: 7}
  - name: quiet
"""


def test_each_brands_alert_thresholds_are_exported(tmp_path: Path) -> None:
    brands = tmp_path / "brands.yml"
    brands.write_text(BRANDS, encoding="utf-8")
    app = AppContext(load_settings(env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}", brands_file=brands))
    registry, _ = app.metrics_registry()
    assert registry.get_sample_value("brandpulse_brand_alert_negative_share", {"brand": "acme"}) == 0.35
    assert registry.get_sample_value("brandpulse_brand_alert_min_volume", {"brand": "acme"}) == 7
    # A brand without alerts has no thresholds, so the rule never fires for it (nor does the bot alert on it).
    assert registry.get_sample_value("brandpulse_brand_alert_negative_share", {"brand": "quiet"}) is None
    app.close()


def test_a_route_model_that_cannot_load_is_retried_after_a_growing_wait_then_kept_once_loaded(tmp_path: Path) -> None:
    app = AppContext(load_settings(env_file=None, database_url=f"sqlite:///{tmp_path / 'x.db'}"))
    now = [1000.0]
    app.clock = lambda: now[0]
    attempts: list[str] = []
    real_load = app.load_model

    def counting_load(source: str | None = None) -> Any:
        attempts.append(str(source))
        return real_load(source)

    app.load_model = counting_load  # type: ignore[method-assign]
    source = str(tmp_path / "multi-v1")
    with pytest.raises(ModelUnavailable):
        app.route_model(source)
    now[0] += ROUTE_RETRY_SECONDS - 1
    with pytest.raises(ModelUnavailable):  # within the wait: the same failure, no new attempt
        app.route_model(source)
    assert len(attempts) == 1
    now[0] += 1
    with pytest.raises(ModelUnavailable):  # tried again, failed again: the next wait is twice as long
        app.route_model(source)
    assert len(attempts) == 2
    build_tiny_model(Path(source))
    now[0] += ROUTE_RETRY_SECONDS * 2 - 1
    with pytest.raises(ModelUnavailable):
        app.route_model(source)
    assert len(attempts) == 2
    now[0] += 1
    model = app.route_model(source)
    assert model.name == "multi-v1" and app.route_model(source) is model and len(attempts) == 3
    app.close()
