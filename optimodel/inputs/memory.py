"""Memory estimates, so that an instance too big for the machine fails cleanly instead of being
killed by the operating system half-way.

The figures are measured (benchmarks/README.md): peak memory grows by about 1.7 kB per LP column
over a fixed ~0.3 GB (0.61 GB at 193,643 columns, 3.29 GB at 1,936,043). Reading a table takes
about ten times its CSV size (every cell is first read as text) or thirty times its Parquet size.
"""

from __future__ import annotations

import re
from pathlib import Path

from optimodel.errors import InputError, OptimodelError

BYTES_PER_COLUMN = 1800
BASE_BYTES = 350 * 2**20
READ_FACTOR = {".csv": 10, ".gz": 40, ".parquet": 30}
UNITS = {"": 1, "B": 1, "K": 2**10, "KB": 2**10, "M": 2**20, "MB": 2**20, "G": 2**30, "GB": 2**30, "T": 2**40, "TB": 2**40}


class MemoryLimitError(OptimodelError):
    """The instance would need more memory than --max-memory allows. Exit code 1."""

    exit_code = 1


def parse_size(text: str) -> int:
    """'4GB', '500M', '2.5 GiB' -> bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*([KMGT]?B?|[KMGT]iB)?\s*", text, flags=re.IGNORECASE)
    if not match:
        raise InputError(f"cannot read memory size {text!r} (use e.g. 4GB or 500MB)", key="--max-memory")
    unit = (match.group(2) or "").upper().replace("IB", "B")
    return int(float(match.group(1)) * UNITS[unit])


GENERATE_BYTES_PER_FIRM = 13_000
"""Peak memory of ``optimodel data generate`` per firm, measured with /usr/bin/time -v: 0.25 GB at
3,700 firms, 0.67 GB at 37,000 and 2.63 GB at 200,000 (12.4 kB a firm over about 0.21 GB)."""
GENERATE_BASE_BYTES = 256 * 2**20


def available_memory() -> int | None:
    """Bytes the machine can give a new process now (Linux's MemAvailable), else its physical
    memory; None where neither can be read."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import os

        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, OSError, ValueError):
        return None


def check_generating(firms: int, available: int | None = None) -> None:
    """Before generating an instance: refuse (``InputError``, exit 2, naming --firms) one whose
    estimated peak memory is more than the machine has available (contract section 14)."""
    available = available_memory() if available is None else available
    need = GENERATE_BASE_BYTES + GENERATE_BYTES_PER_FIRM * firms
    if available is not None and need > available:
        most = max(0, (available - GENERATE_BASE_BYTES) // GENERATE_BYTES_PER_FIRM)
        raise InputError(
            f"{firms:,} firms need about {_gb(need)} of memory to generate, more than the {_gb(available)} available; "
            f"at most about {most:,} firms fit",
            key="--firms",
        )


def _gb(size: float) -> str:
    return f"{size / 2**30:.2f} GB"


def check_reading(paths: list[Path], limit: int | None) -> None:
    """Before reading: the tables' sizes against the limit."""
    if limit is None:
        return
    need = BASE_BYTES + sum(path.stat().st_size * READ_FACTOR.get(path.suffix.lower(), 10) for path in paths if path.exists())
    if need > limit:
        raise MemoryLimitError(f"reading the input tables needs about {_gb(need)}, more than --max-memory {_gb(limit)}")


def check_building(columns: int, limit: int | None) -> None:
    """Before building: the LP's columns against the limit."""
    if limit is None:
        return
    need = BASE_BYTES + BYTES_PER_COLUMN * columns
    if need > limit:
        raise MemoryLimitError(
            f"the model has {columns:,} columns and needs about {_gb(need)}, more than --max-memory {_gb(limit)}"
        )


def release_freed_memory() -> None:
    """Hand memory that is free again back to the operating system: Arrow's pool keeps what
    reading Parquet used, and glibc's heap keeps what pandas' and Pyomo's temporaries used.

    Measured on the 37,000-firm instance with capacity options: 0.41 GB after loading the tables
    and 0.36 GB after building the LP, which would otherwise sit in the process's resident memory
    through the solve (benchmarks/README.md). A no-op where glibc is not the C library."""
    import ctypes
    import ctypes.util

    import pyarrow

    pyarrow.default_memory_pool().release_unused()
    library = ctypes.util.find_library("c")
    if library is None:
        return
    try:
        trim = ctypes.CDLL(library).malloc_trim
    except (OSError, AttributeError):
        return
    trim(0)
