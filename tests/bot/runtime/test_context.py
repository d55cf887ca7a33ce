"""What every command is given: here, the metrics registry that carries the brands file's alert thresholds."""

from __future__ import annotations

from pathlib import Path

from bot.config.settings import load_settings
from bot.runtime.context import AppContext

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
