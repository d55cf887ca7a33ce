FROM python:3.11-slim

WORKDIR /app
# The CPU build of PyTorch, as `make` installs it.
RUN pip install --no-cache-dir "torch==2.13.0" --index-url https://download.pytorch.org/whl/cpu
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY analysis ./analysis
COPY storage ./storage
COPY monitoring ./monitoring
RUN pip install --no-cache-dir .

ENV BRANDPULSE_DATABASE_URL=sqlite:////data/brandpulse.db
VOLUME ["/data"]
EXPOSE 3000 9108
CMD ["brandpulse", "serve"]
