"""Everything that speaks Slack: the bolt app, the Web API client, Block Kit, outbox delivery and the listeners,
which receive ``deps.Services``."""
