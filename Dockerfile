# One image for every process: api, worker, beat, simulator, flower (docker-compose.yml picks
# the command).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STOPAY_DATA_DIR=/data

WORKDIR /srv
COPY pyproject.toml README.md alembic.ini ./
COPY app ./app
COPY workers ./workers
COPY simulator ./simulator
COPY migrations ./migrations
# /docs/protocol and /docs/problems are served from these pages (app/api/served_docs.py).
COPY docs/institution-protocol.md docs/problems.md ./docs/
# The monitoring extra is Flower, for the flower service; the other services never import it.
RUN pip install --no-cache-dir -e '.[monitoring]' \
 && useradd --system --home-dir /srv stopay \
 && mkdir -p /data && chown stopay /data

USER stopay
EXPOSE 8000 8100 5555
CMD ["stopay", "api", "--host", "0.0.0.0"]
