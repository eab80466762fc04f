# resnet-viz in a container: one Streamlit server per container. For a large class, run several
# replicas behind a load balancer with cookie affinity (deploy/nginx.conf, deploy/compose.yaml,
# deploy/k8s/; README.md, "Running it for a lecture hall").
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /app

RUN useradd --create-home --uid 1000 app
COPY requirements.txt ./
RUN pip install -r requirements.txt
COPY --chown=app:app . .

USER app
# ImageNet weights downloaded at run time are cached here; mount a volume to keep them.
ENV TORCH_HOME=/home/app/.cache/torch
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["streamlit", "run", "app.py", "--server.address=0.0.0.0", "--server.port=8501", "--server.headless=true"]
