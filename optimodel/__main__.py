"""``python -m optimodel``: the same as the ``optimodel`` command."""

from optimodel.cli import run

run()
