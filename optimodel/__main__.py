"""``python -m optimodel``: the same as the ``optimodel`` command."""

from .cli import run

run()
