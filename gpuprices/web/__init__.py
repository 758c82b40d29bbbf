"""The web dashboard, JSON API and Prometheus metrics of ``gpuprices serve`` (Starlette + Jinja2 + uPlot)."""
