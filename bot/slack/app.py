"""The Slack app: a slack-bolt ``App`` with every listener registered and one error handler for them all."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor

from slack_bolt import App

from bot.errors import ConfigError
from bot.slack.client import web_client
from bot.slack.deps import Services, roles_for
from bot.slack.errors import handle_error
from bot.slack.listeners import register_all

LISTENER_THREADS = 64


def build_slack_app(services: Services) -> App:
    """The bolt App with every feature's listeners. Needs the bot token and a signing secret or an app token."""
    settings = services.settings
    if settings.slack_bot_token is None:
        raise ConfigError("BRANDPULSE_SLACK_BOT_TOKEN is not set")
    if settings.slack_signing_secret is None and settings.slack_app_token is None:
        raise ConfigError("set BRANDPULSE_SLACK_SIGNING_SECRET (HTTP mode) or BRANDPULSE_SLACK_APP_TOKEN (Socket Mode)")
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else None
    app = App(
        client=web_client(settings),
        signing_secret=secret,
        # Socket Mode messages come over an authenticated websocket and carry no signature.
        request_verification_enabled=secret is not None and settings.slack_app_token is None,
        # auth.test runs on the first request instead, so that brandpulse starts while Slack is unreachable.
        token_verification_enabled=False,
        logger=logging.getLogger("bot.slack"),
        # Listeners ack first and then wait for the model; bolt's default pool of 5 threads would make the 6th
        # concurrent command wait for a free thread before it is even acknowledged.
        listener_executor=ThreadPoolExecutor(max_workers=LISTENER_THREADS, thread_name_prefix="slack-listener"),
    )
    client = app.client

    def group_members(group: str) -> list[str]:
        return [str(user) for user in client.usergroups_users_list(usergroup=group).get("users") or []]

    services.roles = roles_for(settings, group_members)
    register_all(app, services)
    app.error(handle_error)
    return app
