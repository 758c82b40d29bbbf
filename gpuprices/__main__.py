"""``python -m gpuprices`` is the ``gpuprices`` command."""

from gpuprices.cli import main

main()
