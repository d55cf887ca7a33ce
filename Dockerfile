# brandpulse's image: built in one stage, run from another that holds Python, the installed project and nothing to
# build with. The release workflow pushes it to ghcr.io; `docker compose build` builds it from this checkout.
FROM python:3.11-slim AS build

WORKDIR /src
# The CPU build of PyTorch, as `make` installs it, then held at that version while the rest installs.
RUN python -m venv /opt/brandpulse \
    && /opt/brandpulse/bin/pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu \
    && echo "torch==2.13.0" > /tmp/torch-constraint.txt
COPY pyproject.toml README.md LICENSE ./
COPY bot ./bot
COPY analysis ./analysis
COPY storage ./storage
COPY monitoring ./monitoring
RUN /opt/brandpulse/bin/pip install --no-cache-dir -c /tmp/torch-constraint.txt . \
    && /opt/brandpulse/bin/python -m compileall -q /opt/brandpulse

FROM python:3.11-slim

LABEL org.opencontainers.image.title="brandpulse" \
      org.opencontainers.image.description="Chat-ops bot that watches what people say about your brands and keeps the team informed in Slack." \
      org.opencontainers.image.licenses="MIT"

COPY --from=build /opt/brandpulse /opt/brandpulse
# Pango and a font for the PDF reports (WeasyPrint draws text with them). Not pinned: the base image's Debian
# release decides the versions, and a pin would break at its next point release.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
# Not root: a numeric user (10001) that owns its data, caches and models and nothing else.
RUN groupadd --gid 10001 brandpulse \
    && useradd --uid 10001 --gid 10001 --create-home brandpulse \
    && mkdir -p /data /cache /app/models \
    && chown 10001:10001 /data /cache /app/models
WORKDIR /app
USER 10001:10001

# The SQLite default lives on /data; the hub model (about 500 MB, downloaded on first start) and the probe verdicts
# on /cache, so that a new container does not download the model again.
ENV PATH=/opt/brandpulse/bin:$PATH \
    BRANDPULSE_DATABASE_URL=sqlite:////data/brandpulse.db \
    XDG_CACHE_HOME=/cache \
    HF_HOME=/cache/huggingface
VOLUME ["/data", "/cache"]
EXPOSE 3000 9108
CMD ["brandpulse", "serve"]
