FROM python:3.11-slim

WORKDIR /app
# The CPU build of PyTorch, as `make` installs it.
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY analysis ./analysis
COPY storage ./storage
COPY monitoring ./monitoring
RUN pip install --no-cache-dir . && python -m compileall -q /app

# Not root: the process owns its data and caches and nothing else.
RUN useradd --create-home --uid 10001 brandpulse \
    && mkdir -p /data /cache /app/models \
    && chown brandpulse:brandpulse /data /cache /app/models
USER brandpulse

# The SQLite default lives on /data; the hub model (about 500 MB, downloaded on first start) and the probe verdicts
# on /cache, so that a new container does not download the model again.
ENV BRANDPULSE_DATABASE_URL=sqlite:////data/brandpulse.db \
    XDG_CACHE_HOME=/cache \
    HF_HOME=/cache/huggingface
VOLUME ["/data", "/cache"]
EXPOSE 3000 9108
CMD ["brandpulse", "serve"]
