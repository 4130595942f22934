"""Running sweep chunks (and uncertainty draws) on an existing Dask distributed cluster.

Each chunk of points is one task; a worker builds the LP once per chunk and warm-starts the
rest. When a worker dies, the scheduler reruns its tasks on another worker (up to its
``distributed.scheduler.allowed-failures``); a chunk that still fails comes back with every one
of its points marked failed, so no point goes missing silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from optimodel.errors import InputError
from optimodel.inputs.scenario import Scenario

SCHEDULER_PROTOCOLS = ("tcp", "tls", "inproc", "ucx", "ws", "wss")
"""Dask's address schemes; an address without one is taken as tcp, as Dask does."""


def check_scheduler_address(scheduler: str) -> None:
    """``InputError`` (naming --scheduler) unless ``scheduler`` reads as ``[PROTOCOL://]HOST:PORT``.
    Checked before any work, so a typo costs no load or solve, and without importing Dask."""
    expected = "expected an address such as tcp://127.0.0.1:8786"
    protocol, separator, rest = scheduler.strip().rpartition("://")
    if separator and protocol not in SCHEDULER_PROTOCOLS:
        raise InputError(f"{scheduler!r} has an unknown protocol {protocol!r}; {expected}", key="--scheduler")
    if protocol == "inproc":
        return
    host, colon, port = rest.rpartition(":")
    if not colon or not host.strip("[]") or any(character.isspace() for character in host):
        raise InputError(f"{scheduler!r} is not a scheduler address; {expected}", key="--scheduler")
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise InputError(f"{scheduler!r} has no valid port (1-65535); {expected}", key="--scheduler")


CONNECT_TIMEOUT_VARIABLE = "OPTIMODEL_DASK_CONNECT_TIMEOUT"
"""Environment variable: seconds to wait for a Dask scheduler before --scheduler is an error."""
DEFAULT_CONNECT_TIMEOUT_SECONDS = 20.0


def connect_timeout() -> float:
    """How long ``connect`` waits: ``OPTIMODEL_DASK_CONNECT_TIMEOUT`` seconds, default 20 (a
    cluster starting up may take that long; a test of an unreachable address need not wait)."""
    text = os.environ.get(CONNECT_TIMEOUT_VARIABLE, "")
    try:
        seconds = float(text) if text.strip() else DEFAULT_CONNECT_TIMEOUT_SECONDS
    except ValueError:
        raise InputError(f"must be a number of seconds, got {text!r}", key=CONNECT_TIMEOUT_VARIABLE) from None
    if not 0 < seconds < float("inf"):
        raise InputError(f"must be a number of seconds > 0, got {text!r}", key=CONNECT_TIMEOUT_VARIABLE)
    return seconds


def connect(scheduler: str):
    """A Dask client of the cluster at ``scheduler``; ``InputError`` (naming --scheduler) when Dask
    is not installed, the address is malformed or the scheduler cannot be reached."""
    check_scheduler_address(scheduler)
    try:
        from distributed import Client
    except ImportError:
        raise InputError("--scheduler needs Dask: pip install 'optimodel[dask]'", key="--scheduler") from None
    try:
        return Client(scheduler, timeout=connect_timeout())
    except (OSError, TimeoutError, ValueError) as error:
        raise InputError(f"cannot reach the Dask scheduler at {scheduler} ({error})", key="--scheduler") from None


def run_on_dask(
    scheduler: str,
    base: Scenario,
    chunks: list,
    chunk_runner: Callable,
    failed: Callable[[Any, str], list],
    progress: Callable | None = None,
):
    """Yield each point's result as its chunk finishes on the cluster at ``scheduler``; a chunk
    whose task failed yields ``failed(chunk, reason)`` instead (its points, each marked failed:
    the caller knows what a point's result is, this module does not)."""
    from distributed import as_completed

    client = connect(scheduler)
    try:
        # pure=False: two chunks are distinct tasks even if Dask could not tell their inputs apart.
        futures = {client.submit(chunk_runner, base, chunk, pure=False, retries=2): chunk for chunk in chunks}
        for future in as_completed(futures):
            try:
                entries = future.result()
            except Exception as error:  # noqa: BLE001 - KilledWorker and friends fail the chunk visibly
                entries = failed(futures[future], f"cluster task failed: {type(error).__name__}: {error}")
            if progress:
                progress(len(entries))
            yield from entries
    finally:
        client.close()
