# The image behind docker-compose.yml: the same package for the API and the worker.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY . /app
RUN scripts/install.sh && useradd --system seatlease
ENV PATH=/app/.venv/bin:$PATH
USER seatlease
EXPOSE 8000
# No key is baked in: run it with -e SEATLEASE_SECRET_KEY=<32+ random bytes> (and DATABASE_URL);
# without one the API and the worker refuse to start.
CMD ["uvicorn", "service.asgi:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
