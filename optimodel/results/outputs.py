"""Where results go: run folders and output files, and the rules that keep a user's work safe
(contract section 8).

A *run folder* is a folder optimodel made. It holds the marker file ``.optimodel-run`` (JSON: the
optimodel version, the scenario name, the time written, the kind of folder and the list of what
optimodel wrote into it). Every command that writes a folder (``solve``, ``sweep``,
``data generate``) and ``Result.write`` go through two steps:

1. ``plan_folder`` runs before any work. The target may be created, or may replace a folder
   optimodel made that holds nothing optimodel did not write (the command says what it replaced). Anything else (a folder of the
   user's, a file, ``.``, ``..``, a folder holding what the run reads, a place that cannot be
   written) is refused with an ``InputError`` (exit 2), and nothing is touched.
2. ``write_folder`` fills a hidden staging folder beside the target, writes the marker last, and
   only then swaps it into place. A failure or Ctrl-C removes the staging folder and leaves an
   earlier run folder exactly as it was.

Files that commands write by name (``snapshot``, ``compare``, ``report``) follow the same rules
through ``plan_file`` and ``write_file``: a file is replaced only when it is recognisably one
optimodel wrote. Folders and files are created with the user's umask.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from pathlib import Path

from optimodel.errors import InputError, display_path

log = logging.getLogger(__name__)

MARKER = ".optimodel-run"
"""Name of the marker file that makes a folder a run folder."""
SHOWN_ENTRIES = 3
"""How many of the user's own files a refusal names before it says "and N more"."""


class FolderKind(str, Enum):
    """What a folder made by optimodel holds (recorded in its marker, and named when one is replaced)."""

    run = "run"
    """The result of one solve (contract section 4)."""
    sweep = "sweep"
    """A sweep: sweep_prices.csv, sweep_status.csv and runs/."""
    dataset = "dataset"
    """An instance written by ``optimodel data generate``."""
    horizon = "horizon"
    """``optimodel horizon``: horizon.csv and summary.json."""
    uncertainty = "uncertainty"
    """``optimodel uncertainty``: draws.parquet, price_quantiles.csv, price_sensitivity.csv, summary.json."""


@dataclass(frozen=True)
class FolderPlan:
    """A checked output folder: where it goes and what it may replace."""

    shown: str
    """The folder as the user wrote it, for messages."""
    target: Path
    """The absolute folder, symbolic links resolved."""
    kind: FolderKind
    replaces: str = ""
    """The kind of the earlier optimodel folder there ("run", "sweep", ...), replaced once the new
    one is complete; "" when there is none."""


def _refuse(shown: str, problem: str) -> InputError:
    """The refusal as contract section 8 words it: ``DIR exists and is not ...``."""
    return InputError(f"{shown} {problem}")


def read_marker(folder: Path) -> dict | None:
    """The marker of a run folder (``{}`` when it exists but is not readable JSON), or None."""
    marker = folder / MARKER
    if not marker.is_file():
        return None
    try:
        content = json.loads(marker.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError):
        return {}
    return content if isinstance(content, dict) else {}


def _entries(folder: Path) -> list[str]:
    """Every file and folder below ``folder``, as relative POSIX paths (folders end in "/")."""
    found = []
    for root, directories, files in os.walk(folder):
        relative = Path(root).relative_to(folder)
        found += [(relative / name).as_posix() + "/" for name in directories]
        found += [(relative / name).as_posix() for name in files]
    return sorted(entry for entry in found if entry != MARKER)


def foreign_entries(folder: Path, marker: dict) -> list[str]:
    """What a run folder holds that its marker does not list: files the user put there. A marker
    without a list (written by hand, or damaged) vouches for the whole folder."""
    written = marker.get("files")
    if not isinstance(written, list):
        return []
    listed = set(written)
    return [entry for entry in _entries(folder) if entry not in listed]


def _holds(folder: Path, path: Path) -> bool:
    return path == folder or folder in path.parents


def _nearest_existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _check_writable(shown: str, target: Path) -> None:
    """Prove the folder can be written by making (and removing) a folder where it will go."""
    anchor = _nearest_existing(target.parent)
    if not anchor.is_dir():
        raise _refuse(shown, f"cannot be written: {anchor} is a file, not a folder")
    try:
        probe = Path(os.path.join(anchor, f".optimodel-probe-{secrets.token_hex(4)}"))
        os.mkdir(probe)
        os.rmdir(probe)
        if target.is_dir() and not os.access(target, os.W_OK | os.X_OK):
            raise PermissionError(f"Permission denied: '{target}'")
    except OSError as error:
        cause = error.strerror or str(error)
        raise _refuse(shown, f"cannot be written ({cause.lower()}: {anchor})") from None


def _check_replaceable(shown: str, target: Path, kind: FolderKind) -> None:
    """An existing target may be replaced only when empty, or a run folder of ``kind`` that
    holds nothing the user put there."""
    if not target.exists():
        return
    if not target.is_dir():
        raise _refuse(shown, "is a file, not a folder; choose another --out")
    if not any(target.iterdir()):
        return
    marker = read_marker(target)
    if marker is None:
        raise _refuse(shown, "exists and is not an optimodel run folder; choose another --out or remove it")
    foreign = foreign_entries(target, marker)
    if foreign:
        more = f" and {len(foreign) - SHOWN_ENTRIES} more" if len(foreign) > SHOWN_ENTRIES else ""
        raise _refuse(
            shown,
            f"is an optimodel run folder but holds files optimodel did not write ({', '.join(foreign[:SHOWN_ENTRIES])}"
            f"{more}); move them out or choose another --out"
        )


def plan_folder(path: str | Path, kind: FolderKind, reads: Iterable[Path] = ()) -> FolderPlan:
    """Check that ``path`` may receive a folder of ``kind`` before any work is done.

    ``reads`` are the files the command reads (scenario files, input tables): a folder holding
    one of them is never replaced. Raises ``InputError`` (exit 2) naming the folder and why.
    """
    shown = str(path)
    target = Path(path).resolve()
    if target.exists() and not target.is_dir():
        raise _refuse(shown, "is a file, not a folder; choose another --out")
    if Path(path).name in (".", "..") or str(path) in (".", ".."):
        raise _refuse(shown, "is the current folder or its parent; choose a new folder for --out")
    cwd = Path.cwd().resolve()
    if _holds(target, cwd):
        raise _refuse(shown, "holds the current folder; choose a new folder for --out")
    for read in reads:
        resolved = Path(read).resolve()
        if _holds(target, resolved):
            raise _refuse(shown, f"holds {display_path(read)}, which this command reads; choose another --out")
    _check_replaceable(shown, target, kind)
    _check_writable(shown, target)
    _lock(shown, target)
    replaces = ""
    if target.is_dir() and any(target.iterdir()):
        replaces = str((read_marker(target) or {}).get("kind", "run"))
    return FolderPlan(shown, target, kind, replaces=replaces)


# Locks ----------------------------------------------------------------------------------------

_HELD: dict[Path, tuple[int, Path]] = {}
"""Folders this process has locked: target -> (open lock file, its path)."""


def _lock_path(target: Path) -> Path:
    """The lock file of ``target``: in the temporary folder, so that nothing appears beside the
    user's files, named by a hash of the absolute path (one lock per folder, whoever names it)."""
    folder = Path(tempfile.gettempdir()) / "optimodel-locks"
    if not folder.is_dir():
        folder.mkdir(exist_ok=True)
        # Shared like the temporary folder itself: every user's runs lock here, none removes another's.
        os.chmod(folder, 0o1777)
    return folder / f"{hashlib.sha256(str(target).encode()).hexdigest()[:32]}.lock"


def _lock(shown: str, target: Path) -> None:
    """Hold ``target`` for this run (contract section 14): a second run into the same folder at
    the same time is refused before it does any work, so only one run ever reports writing it.
    The lock is the kernel's (flock), so a run that dies for any reason frees it."""
    try:
        import fcntl
    except ImportError:  # Not POSIX: no locking, as before.
        return
    if target in _HELD:
        return
    try:
        path = _lock_path(target)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    except OSError as error:
        # A temporary folder that cannot be written must not stop the run: it goes on unlocked.
        log.debug("cannot lock %s (%s); writing it unlocked", target, error)
        return
    while True:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(descriptor)
            raise _refuse(shown, "is in use by another optimodel run; wait for it to finish or choose another --out") from None
        # The run that held the lock removes its file as it lets go: the lock taken must be on the
        # file now at the path, or a third run could take another one beside it.
        try:
            if os.stat(path).st_ino == os.fstat(descriptor).st_ino:
                _HELD[target] = (descriptor, path)
                return
        except FileNotFoundError:
            pass
        os.close(descriptor)
        descriptor = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)


def unlock(target: Path) -> None:
    """Let go of ``target`` (once its folder is written, or the run has failed)."""
    held = _HELD.pop(target, None)
    if held is not None:
        descriptor, path = held
        # Removed while still locked, so no other run can lock this file after it is gone.
        path.unlink(missing_ok=True)
        os.close(descriptor)


def unlock_all() -> None:
    """Let go of every folder this process holds (a command that failed before writing)."""
    for target in list(_HELD):
        unlock(target)


def _unique_sibling(target: Path, label: str) -> Path:
    return target.parent / f".{target.name}.{label}-{secrets.token_hex(4)}"


def _make_parents(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents (umask permissions); return those created,
    deepest first, so that a failure can remove them again."""
    missing = []
    while not folder.exists():
        missing.append(folder)
        folder = folder.parent
    for created in reversed(missing):
        os.mkdir(created)
    return missing


def _remove_empty(folders: list[Path]) -> None:
    for folder in folders:
        try:
            os.rmdir(folder)
        except OSError:
            return


def marker_content(kind: FolderKind, scenario: str, files: list[str]) -> dict:
    """The marker's JSON: who wrote the folder, when, and what it holds."""
    from optimodel.version import __version__

    return {
        "optimodel_version": __version__,
        "scenario": scenario,
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
        "kind": kind.value,
        "files": files,
    }


def write_folder(plan: FolderPlan, scenario: str, fill: Callable[[Path], None]) -> Path:
    """Fill a staging folder with ``fill(staging)``, add the marker, and swap it into place.

    The target is checked again just before the swap (something may have appeared there while
    the run solved). On any failure, Ctrl-C included, the staging folder and any parent folders
    made for it are removed, and an earlier folder at the target is left as it was.
    """
    created = _make_parents(plan.target.parent)
    staging = _unique_sibling(plan.target, "tmp")
    try:
        os.mkdir(staging)
        fill(staging)
        (staging / MARKER).write_text(
            json.dumps(marker_content(plan.kind, scenario, _entries(staging)), indent=2) + "\n", encoding="utf-8"
        )
        _check_replaceable(plan.shown, plan.target, plan.kind)
        _swap_into_place(staging, plan.target)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        _remove_empty(created)
        raise
    finally:
        unlock(plan.target)
    return plan.target


def sibling_plan(plan: FolderPlan, label: str) -> FolderPlan:
    """A plan for a new folder beside ``plan``'s target, ``<name>-<label>`` (then ``-2``, ``-3``
    ... while one exists), for what must not replace the target (an interrupted run's draws)."""
    number = 1
    while True:
        suffix = label if number == 1 else f"{label}-{number}"
        target = plan.target.parent / f"{plan.target.name}-{suffix}"
        if not os.path.lexists(target):
            checked = plan_folder(target, plan.kind)
            # The run goes to the new folder: the target it was planned for is left alone, and free.
            unlock(plan.target)
            return FolderPlan(str(Path(plan.shown).parent / target.name), checked.target, plan.kind)
        number += 1


def _swap_into_place(staging: Path, target: Path) -> None:
    """Rename ``staging`` to ``target``. A non-empty earlier folder is first renamed aside and
    removed only once the new one is in place; if that fails it is renamed back."""
    if target.is_dir() and any(target.iterdir()):
        retired = _unique_sibling(target, "old")
        os.rename(target, retired)
        try:
            os.rename(staging, target)
        except BaseException:
            os.rename(retired, target)
            raise
        shutil.rmtree(retired, ignore_errors=True)
    else:
        # rename(2) creates the target, or atomically replaces an empty folder.
        os.rename(staging, target)


def record_in_run_folder(folder: Path, written: Path) -> None:
    """Add a file optimodel wrote into an existing run folder (a report) to its marker's list,
    so that replacing the folder later does not take it for the user's own file."""
    marker = read_marker(folder)
    if not marker or not isinstance(marker.get("files"), list):
        return
    entry = written.resolve().relative_to(folder.resolve()).as_posix()
    if entry in marker["files"]:
        return
    marker["files"] = sorted([*marker["files"], entry])
    write_file(folder / MARKER, lambda path: path.write_text(json.dumps(marker, indent=2) + "\n", encoding="utf-8"))


# Files --------------------------------------------------------------------------------------------


def plan_file(
    path: str | Path, recognise: Callable[[Path], bool], what: str, reads: Iterable[Path] = ()
) -> Path:
    """Check that ``path`` may be written: it does not exist, or ``recognise`` says it is
    ``what`` (a file optimodel wrote). Raises ``InputError`` (exit 2) otherwise."""
    shown = str(path)
    target = Path(path).resolve()
    if target.is_dir():
        raise _refuse(shown, "is a folder; give a file name to --out")
    for read in reads:
        if Path(read).resolve() == target:
            raise _refuse(shown, "is a file this command reads; choose another --out")
    if target.exists() and not recognise(target):
        raise _refuse(shown, f"exists and is not {what}; choose another --out or remove it")
    _check_writable(shown, target)
    return target


def write_file(path: Path, write: Callable[[Path], object]) -> Path:
    """Write a file through ``write(staging)`` beside it and rename it into place."""
    created = _make_parents(path.parent)
    staging = _unique_sibling(path, "tmp")
    try:
        write(staging)
        os.replace(staging, path)
    except BaseException:
        staging.unlink(missing_ok=True)
        _remove_empty(created)
        raise
    return path


def first_line(path: Path) -> str:
    """The first line of a text file, without its end ("" when unreadable)."""
    try:
        with open(path, encoding="utf-8-sig") as handle:
            return handle.readline().rstrip("\r\n")
    except (OSError, UnicodeDecodeError):
        return ""
