# The image behind docker-compose.yml: the same package for the API and the worker.
FROM python:3.11-slim
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends nodejs npm && rm -rf /var/lib/apt/lists/*
COPY . /app
RUN scripts/install.sh && useradd --system seatlease
ENV PATH=/app/.venv/bin:$PATH
USER seatlease
EXPOSE 8000
CMD ["uvicorn", "service.asgi:app", "--host", "0.0.0.0", "--port", "8000", "--proxy-headers"]
