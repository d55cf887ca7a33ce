"""``brandpulse serve``: the model, the Slack app (HTTP or Socket Mode) and the HTTP server, started and stopped together."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry
from slack_sdk.errors import SlackApiError
from sqlalchemy import text

from analysis.errors import AnalysisError, ModelUnavailable
from analysis.prediction import Classifier
from analysis.request_batcher import Batcher
from bot.config.brands import BrandsConfig
from bot.core.ingest import Importer
from bot.core.registry import ModelChoice
from bot.core.submit import Submissions
from bot.core.themes import ThemeQueries
from bot.errors import BrandpulseError
from bot.runtime.alert_hook import ALERTMANAGER_PATH, AlertHook
from bot.runtime.api import MENTIONS_PATH, OPENAPI_PATH, ApiEndpoint, ApiMetrics
from bot.runtime.api_auth import BearerTokens, WebhookSecrets
from bot.runtime.bodies import UnverifiedBodies
from bot.runtime.context import AppContext
from bot.runtime.pipeline import Pipeline
from bot.runtime.slack_http import ReplayGuard
from bot.runtime.swap import ModelWatcher, watcher_for
from bot.runtime.web import SLACK_EVENTS_PATH, HttpServer, SlackEndpoint, build_web_app
from bot.slack.app import build_slack_app
from bot.slack.deps import Services
from monitoring.exporter import MetricsServer
from monitoring.metrics import Metrics
from storage.db import safe_url
from storage.migrate import current_revision

if TYPE_CHECKING:
    from analysis.model import SentimentModel

log = logging.getLogger("brandpulse")


class Server:
    """Everything ``serve`` runs. ``start()`` returns once it is all up; ``stop()`` undoes it in reverse order."""

    def __init__(self, app: AppContext, *, load_model: bool = True) -> None:
        self.app = app
        self.load_model = load_model
        self.services: Services | None = None
        self.http: HttpServer | None = None
        self.slack_mode = "disabled"
        self._socket_handler: Any = None
        self.pipeline: Pipeline | None = None
        self.metrics_server: MetricsServer | None = None
        self.watcher: ModelWatcher | None = None

    def start(self) -> None:
        settings, app = self.app.settings, self.app
        engine = app.migrate()
        log.info("database %s at schema revision %s", safe_url(engine), current_revision(engine))
        log.info(
            "watching %d brands: %s (from %s)",
            len(app.brands.brands),
            ", ".join(app.brands.names),
            settings.brands_file,
        )
        registry, metrics = app.metrics_registry()
        predictor, model_error, serving = None, None, None
        if self.load_model:
            try:
                choice = app.model_choice()
                model = app.load_model(choice)
                log.info("model %s ready (%s; %s)", model.name, model.report.summary, choice.how)
                metrics.serving(
                    name=model.name, source=choice.source, device=model.report.device, precision=model.report.precision
                )
                predictor = Batcher(
                    metrics.measured(app.classifier(model, choice, keep_going=True)), max_batch=settings.batch_size
                )
                serving = choice.source
            except AnalysisError as exc:
                # Ingest, history and metrics keep working; classification waits for a model.
                model_error = str(exc)
                log.error("model unavailable: %s", exc)
        else:
            model_error = "no model is loaded"
        self.services = Services(
            settings=settings,
            sessions=app.sessions,
            brands=app.brands,
            predictor=predictor,
            model_error=model_error,
            metrics=metrics,
            encoder=app.encoder,
        )
        slack_app = None
        if settings.slack_enabled:
            slack_app = build_slack_app(self.services)
            self.slack_mode = "socket" if settings.slack_app_token is not None else "http"
        elif settings.slack_bot_token is None:
            log.info("Slack is disabled: BRANDPULSE_SLACK_BOT_TOKEN is not set")
        else:
            log.warning(
                "Slack is disabled: set BRANDPULSE_SLACK_SIGNING_SECRET (HTTP mode) or BRANDPULSE_SLACK_APP_TOKEN "
                "(Socket Mode) beside BRANDPULSE_SLACK_BOT_TOKEN"
            )
        endpoint = None
        if self.slack_mode == "http":
            assert slack_app is not None and settings.slack_signing_secret is not None
            endpoint = SlackEndpoint(
                app=slack_app,
                signing_secret=settings.slack_signing_secret.get_secret_value().encode(),
                replays=ReplayGuard(app.sessions),
            )
        api = self._api(registry)
        alerts = None
        if settings.alertmanager_tokens is not None:
            alerts = AlertHook(settings, app.sessions, BearerTokens(settings.alertmanager_token_list))
            log.info(
                "Alertmanager receiver at %s: accuracy alerts %s",
                ALERTMANAGER_PATH,
                "start a retrain" if settings.auto_retrain else "recommend a retrain",
            )
        bodies = UnverifiedBodies(settings.http_unverified_bytes, settings.http_body_timeout_seconds)
        web = build_web_app(slack=endpoint, health=self.health, api=api, alerts=alerts, bodies=bodies)
        self.http = HttpServer(
            web,
            host=settings.http_host,
            port=settings.http_port,
            max_connections=settings.http_max_connections,
            header_timeout=settings.http_header_timeout_seconds,
        )
        self.http.start()
        log.info(
            "HTTP server on http://%s:%d (/healthz): at most %d connections, request headers within %g s",
            settings.http_host,
            self.http.port,
            settings.http_max_connections,
            settings.http_header_timeout_seconds,
        )
        if api is not None:
            log.info(
                "ingest API at %s (%s); its OpenAPI document at %s",
                MENTIONS_PATH,
                " and ".join(
                    what
                    for what, on in (("bearer tokens", api.tokens), ("Standard Webhooks signatures", api.webhooks))
                    if on
                ),
                OPENAPI_PATH,
            )
        if self.slack_mode == "http":
            log.info("Slack over HTTP: events, commands and interactivity at %s", SLACK_EVENTS_PATH)
        elif self.slack_mode == "socket":
            from slack_bolt.adapter.socket_mode import SocketModeHandler

            assert settings.slack_app_token is not None and slack_app is not None
            self._socket_handler = SocketModeHandler(slack_app, settings.slack_app_token.get_secret_value())
            try:
                self._socket_handler.connect()
            except (SlackApiError, OSError) as exc:
                reason = exc.response.get("error") if isinstance(exc, SlackApiError) else exc
                raise BrandpulseError(
                    f"cannot connect to Slack in Socket Mode ({reason}); check BRANDPULSE_SLACK_APP_TOKEN "
                    "(an xapp- token with connections:write) and the network"
                ) from None
            log.info("Slack over Socket Mode: connected, no public URL needed")
        self.pipeline = Pipeline(app, self._model, run_jobs=settings.run_jobs)
        self.pipeline.on_brands.append(lambda config: self._brands_changed(config, api))
        self.pipeline.start()
        self.metrics_server = start_metrics(registry, host=settings.http_host, port=settings.metrics_port)
        if self.load_model:
            self.watcher = watcher_for(
                app,
                current=serving,
                on_swap=lambda model, choice: self._swap(model, choice, metrics),
                on_failure=lambda: metrics.model_swaps.labels("failed").inc(),
            )
            if self.watcher is not None:
                self.watcher.start()

    def _swap(self, model: SentimentModel, choice: ModelChoice, metrics: Metrics) -> None:
        """Serve ``model`` from now on: /sentiment and the jobs share the batcher, whose next batch runs on it."""
        services = self.services
        assert services is not None
        measured = metrics.measured(self.app.classifier(model, choice, keep_going=True))
        if services.predictor is None:
            services.predictor = Batcher(measured, max_batch=self.app.settings.batch_size)
            services.model_error = None
        else:
            services.predictor.swap(measured)
        metrics.serving(
            name=model.name, source=choice.source, device=model.report.device, precision=model.report.precision
        )
        metrics.model_swaps.labels("ok").inc()

    def _brands_changed(self, config: BrandsConfig, api: ApiEndpoint | None) -> None:
        """A new version of the brands file: Slack's listeners and the ingest API use it from the next request."""
        if self.services is not None:
            self.services.brands = config
        if api is not None:
            api.submissions.importer.matcher = config.matcher()
            api.brands = config.names
            if api.themes is not None:
                api.themes.brands = config

    def _api(self, registry: CollectorRegistry) -> ApiEndpoint | None:
        """The ingest API, when tokens or webhook secrets are set."""
        settings, app = self.app.settings, self.app
        tokens, webhooks = BearerTokens(settings.api_token_list), WebhookSecrets(settings.webhook_keys)
        if not (tokens or webhooks):
            return None
        importer = Importer(
            engine=app.engine,
            matcher=app.brands.matcher(),
            tz=settings.tz,
            default_source="api",
            languages=settings.languages,
        )
        return ApiEndpoint(
            submissions=Submissions(engine=app.engine, sessions=app.sessions, importer=importer),
            tokens=tokens,
            webhooks=webhooks,
            brands=app.brands.names,
            metrics=ApiMetrics(registry),
            themes=ThemeQueries(sessions=app.sessions, brands=app.brands, encoder=app.encoder, tz=settings.tz),
        )

    def _model(self) -> Classifier:
        """The jobs' model: the batcher, so that they share the one inference thread with /sentiment."""
        services = self.services
        if services is None or services.predictor is None:
            raise ModelUnavailable(services.model_error if services and services.model_error else "no model is loaded")
        return services.predictor

    def health(self) -> dict[str, Any]:
        report: dict[str, Any] = {"status": "ok", "slack": self.slack_mode}
        try:
            with self.app.engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            report["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - health reports any failure, it never raises
            report["status"] = "error"
            report["database"] = f"error: {type(exc).__name__}"
        services = self.services
        if services is not None and services.predictor is not None:
            report["model"] = services.predictor.model.name
        else:
            report["model"] = "unavailable"
        return report

    def stop(self) -> None:
        if self.watcher is not None:
            self.watcher.stop()
        if self.metrics_server is not None:
            self.metrics_server.stop()
        if self.pipeline is not None:
            self.pipeline.stop()
        if self._socket_handler is not None:
            self._socket_handler.close()
        if self.http is not None:
            self.http.stop()
        if self.services is not None and self.services.predictor is not None:
            self.services.predictor.close()


def start_metrics(registry: CollectorRegistry, *, host: str, port: int) -> MetricsServer:
    server = MetricsServer(registry, host=host, port=port)
    try:
        server.start()
    except OSError as exc:
        raise BrandpulseError(
            f"cannot serve metrics on {host}:{port} ({exc.strerror}); set BRANDPULSE_METRICS_PORT to a free port"
        ) from None
    log.info("Prometheus metrics on http://%s:%d/metrics", host, server.port)
    return server


class Exporter:
    """``brandpulse exporter``: the database's figures on /metrics, without the rest of ``serve``."""

    def __init__(self, app: AppContext) -> None:
        self.app = app
        self.server: MetricsServer | None = None

    def start(self) -> None:
        self.app.migrate()
        registry, _ = self.app.metrics_registry()
        self.server = start_metrics(registry, host=self.app.settings.http_host, port=self.app.settings.metrics_port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
