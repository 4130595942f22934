"""Property test (hypothesis): whatever a user's folders hold and wherever --out points, no byte
of anything the user made is changed, and nothing optimodel half-wrote is left behind.

Each example builds a workspace with the two-firm project and a random tree of the user's own
files (with names that look like results: prices.csv, summary.json, inputs/), sometimes inside a
real run folder the user added files to, then runs solve, sweep or data generate in-process with
--out drawn from every kind of target: the user's folders and files, new paths inside them,
".", "..", the project, its data folder and one of its tables.
"""

from __future__ import annotations

import contextlib
import stat
import tempfile
from pathlib import Path

from builders import copy_example
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimodel.cli import main

NAMES = ["notes.txt", "prices.csv", "summary.json", "inputs", "runs", "data", "scenario.toml", ".hidden", "a", "b"]
CONTENT = st.binary(max_size=40)
USER_TREE = st.dictionaries(
    st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(lambda parts: "/".join(parts)), CONTENT, max_size=6
)


def build_tree(root: Path, files: dict[str, bytes]) -> None:
    """Write the user's files; a path that clashes with an earlier one (a file where a folder is
    needed, or the reverse) is skipped, as it could not exist on a disk either."""
    root.mkdir(exist_ok=True)
    for relative, content in files.items():
        path = root / relative
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            if not path.exists():
                path.write_bytes(content)
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue


def snapshot(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    return {
        path.relative_to(folder).as_posix(): (None if path.is_dir() else path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(folder.rglob("*"))
    }


def command(kind: str, out: str) -> list[str]:
    scenario = "project/two-firms.toml"
    return {
        "solve": ["-q", "solve", scenario, "--out", out],
        "sweep": ["-q", "sweep", scenario, "--set", "sectors.power.cap_tco2e.2026=60,55", "--out", out],
        "data": ["-q", "data", "generate", "--firms", "4", "--out", out],
    }[kind]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    files=USER_TREE,
    inside_a_run=st.booleans(),
    kind=st.sampled_from(["solve", "solve", "sweep", "data"]),
    target=st.one_of(
        st.sampled_from([".", "..", "user", "project", "project/data", "project/data/two-firms-firms.csv"]),
        st.lists(st.sampled_from([*NAMES, "new"]), min_size=1, max_size=3).map(lambda parts: "user/" + "/".join(parts)),
    ),
)
def test_no_byte_the_user_made_ever_changes(files: dict[str, bytes], inside_a_run: bool, kind: str, target: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        workspace = Path(folder) / "workspace"
        copy_example(workspace / "project")
        made_by_optimodel: set[str] = set()
        if inside_a_run:
            # A real run folder the user may later have put files into.
            with contextlib.chdir(workspace):
                assert main(["-q", "solve", "project/two-firms.toml", "--out", "user"]) == 0
            made_by_optimodel = set(snapshot(workspace / "user"))
        build_tree(workspace / "user", files)
        foreign = bool(set(snapshot(workspace / "user")) - made_by_optimodel)
        before = snapshot(Path(folder))
        out = workspace / target
        created_by_run = not out.exists() or (out.is_dir() and not any(out.iterdir()))
        with contextlib.chdir(workspace):
            code = main(command(kind, target))
        assert code in (0, 2)
        after = snapshot(Path(folder))
        written = out.resolve().relative_to(Path(folder).resolve()).as_posix() if code == 0 else None
        for path, content in before.items():
            replaced = written is not None and (path == written or path.startswith(written + "/"))
            if replaced:
                # Only a folder optimodel made (or an empty one) may be replaced.
                assert created_by_run or not foreign, (path, target)
                continue
            assert after.get(path) == content, (path, target, code)
        for path in after:
            if path not in before:
                # New: the target, what is in it, or a parent folder made for it.
                assert written is not None and (
                    path == written or path.startswith(written + "/") or written.startswith(path + "/")
                ), (path, target)
            assert ".tmp-" not in path and ".old-" not in path, path
