"""Run folders (contract section 8): optimodel creates a folder or replaces one it made, and
never touches anything else. Every case is run through the real command line on real files."""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from builders import copy_example, run_cli

SCENARIO = "two-firms.toml"
SWEEP = ["--set", "sectors.power.cap_tco2e.2026=60,55"]


@pytest.fixture
def case(tmp_path: Path) -> Path:
    return copy_example(tmp_path)


def tree(folder: Path) -> dict[str, tuple[bytes | None, int]]:
    """Every path below ``folder`` with its bytes (None for a folder) and permission bits."""
    return {
        path.relative_to(folder).as_posix(): (None if path.is_dir() else path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
        for path in sorted(folder.rglob("*"))
    }


def leftovers(folder: Path) -> list[str]:
    """Staging or retired folders a run could have left beside its target."""
    return [path.name for path in folder.iterdir() if ".tmp-" in path.name or ".old-" in path.name]


def writing_command(command: str, case: Path, out: Path) -> list[str]:
    """The arguments of each command that writes a folder, aimed at ``out``."""
    scenario = str(case / SCENARIO)
    return {
        "solve": ["solve", scenario, "--out", str(out)],
        "sweep": ["sweep", scenario, *SWEEP, "--out", str(out)],
        "data": ["data", "generate", "--firms", "8", "--out", str(out)],
    }[command]


@pytest.mark.parametrize("command", ["solve", "sweep", "data"])
def test_out_naming_a_users_folder_is_refused_and_untouched(case: Path, command: str) -> None:
    mywork = case / "mywork"
    mywork.mkdir()
    (mywork / "notes.txt").write_text("my notes\n")
    (mywork / "important.toml").write_text('name = "mine"\n')
    before = tree(mywork)
    completed = run_cli(*writing_command(command, case, mywork))
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.strip() == (
        f"error: {mywork} exists and is not an optimodel run folder; choose another --out or remove it"
    )
    assert tree(mywork) == before
    assert leftovers(case) == []


@pytest.mark.parametrize("command", ["solve", "sweep", "data"])
def test_out_naming_a_file_is_refused_and_the_file_kept(case: Path, command: str) -> None:
    target = case / "results.txt"
    target.write_text("a file of mine\n")
    completed = run_cli(*writing_command(command, case, target))
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith("error:") and "results.txt is a file" in completed.stderr
    assert target.read_text() == "a file of mine\n"


def test_an_empty_folder_the_user_made_may_receive_the_run(case: Path) -> None:
    (case / "empty").mkdir()
    assert run_cli("solve", str(case / SCENARIO), "--out", str(case / "empty")).returncode == 0
    assert (case / "empty" / "prices.csv").exists()


def test_a_rerun_replaces_its_own_run_folder_and_says_so(case: Path) -> None:
    out = case / "out"
    first = run_cli("solve", str(case / SCENARIO), "--out", str(out))
    assert first.returncode == 0 and "replacing" not in first.stdout
    marker = json.loads((out / ".optimodel-run").read_text())
    assert marker["scenario"] == "two-firms" and marker["kind"] == "run"
    assert {"optimodel_version", "written"} <= set(marker) and "prices.csv" in marker["files"]
    second = run_cli("solve", str(case / SCENARIO), "--out", str(out))
    assert second.returncode == 0, second.stderr
    assert f"results written to {out} (replacing the earlier run folder there)" in second.stdout
    assert leftovers(case) == []


def test_a_run_folder_holding_a_users_file_is_not_replaced(case: Path) -> None:
    out = case / "out"
    assert run_cli("solve", str(case / SCENARIO), "--out", str(out)).returncode == 0
    (out / "notes.txt").write_text("written by the planner\n")
    before = tree(out)
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(out))
    assert completed.returncode == 2
    assert "holds files optimodel did not write (notes.txt)" in completed.stderr
    assert tree(out) == before


def test_a_folder_of_another_kind_is_replaced_and_named(case: Path) -> None:
    # Contract section 8: any folder that holds the marker may be replaced; the command says what.
    out = case / "out"
    assert run_cli("solve", str(case / SCENARIO), "--out", str(out)).returncode == 0
    completed = run_cli("data", "generate", "--firms", "8", "--out", str(out))
    assert completed.returncode == 0, completed.stderr
    assert "(replacing the earlier run folder there)" in completed.stdout
    assert json.loads((out / ".optimodel-run").read_text())["kind"] == "dataset"


def test_a_report_inside_a_run_folder_does_not_block_the_next_run(case: Path) -> None:
    out = case / "out"
    assert run_cli("solve", str(case / SCENARIO), "--out", str(out)).returncode == 0
    assert run_cli("report", str(out)).returncode == 0
    assert run_cli("solve", str(case / SCENARIO), "--out", str(out)).returncode == 0


def test_reproducing_a_run_never_deletes_its_folder(case: Path) -> None:
    # The case: `optimodel solve runs/two-firms/scenario.toml` with the default --out,
    # which is the folder that holds the scenario being read.
    assert run_cli("solve", str(case / SCENARIO), cwd=case).returncode == 0
    run = case / "runs" / "two-firms"
    before = tree(run)
    completed = run_cli("solve", "runs/two-firms/scenario.toml", cwd=case)
    assert completed.returncode == 2
    assert "runs/two-firms holds runs/two-firms/scenario.toml, which this command reads" in completed.stderr
    assert tree(run) == before
    # An infeasible edit of the run's scenario, solved elsewhere: exit 3, the scenario stays.
    scenario = run / "scenario.toml"
    scenario.write_text(scenario.read_text().replace("2026 = 60", "2026 = 1"))
    before = tree(run)
    completed = run_cli("solve", "runs/two-firms/scenario.toml", "--out", "again", cwd=case)
    assert completed.returncode == 3, completed.stderr
    assert tree(run) == before and not (case / "again").exists()


@pytest.mark.parametrize("out", [".", "data", "data/two-firms-firms.csv"])
def test_out_holding_or_being_what_the_run_reads_is_refused(case: Path, out: str) -> None:
    before = tree(case)
    completed = run_cli("solve", SCENARIO, "--out", out, cwd=case)
    assert completed.returncode == 2, completed.stderr
    assert completed.stderr.startswith(f"error: {out} ")
    assert tree(case) == before


def test_out_dot_and_dotdot_are_refused_before_solving(case: Path) -> None:
    work = case / "work"
    work.mkdir()
    before = tree(case)
    for out in (".", ".."):
        completed = run_cli("solve", "../two-firms.toml", "--out", out, cwd=work)
        assert completed.returncode == 2, completed.stderr
        assert "is the current folder or its parent" in completed.stderr
        assert "internal failure" not in completed.stderr
    assert tree(case) == before


def test_out_that_cannot_be_written_is_refused_before_solving(case: Path) -> None:
    completed = run_cli("solve", str(case / SCENARIO), "--out", "/sys/optimodel-test-run")
    assert completed.returncode == 2
    assert completed.stderr.startswith("error: /sys/optimodel-test-run cannot be written (operation not permitted")
    completed = run_cli("solve", str(case / SCENARIO), "--out", str(case / SCENARIO / "out"))
    assert completed.returncode == 2 and "is a file, not a folder" in completed.stderr


def as_another_user() -> dict:
    """subprocess options that run the command as an unprivileged user (root ignores file
    permissions, so a read-only folder only refuses someone else)."""
    if os.geteuid() != 0:
        return {}
    return {"user": "nobody", "group": "nogroup", "extra_groups": []}


def test_a_read_only_folder_is_refused_before_solving_naming_the_cause() -> None:
    shared = Path(tempfile.mkdtemp(prefix="optimodel-read-only-"))
    try:
        shared.chmod(0o755)
        copy_example(shared)
        for path in shared.rglob("*"):
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            probe = subprocess.run([sys.executable, "-c", "import optimodel"], capture_output=True, **as_another_user())
        except OSError as error:
            probe = subprocess.CompletedProcess([], 1, b"", str(error).encode())
        if probe.returncode != 0:
            # test_a_denied_folder_is_refused_naming_the_cause covers the same rule in-process.
            pytest.skip(f"the unprivileged user cannot run this Python: {probe.stderr[-200:]!r}")
        locked = shared / "locked"
        locked.mkdir()
        completed = run_cli("solve", str(shared / SCENARIO), "--out", str(locked / "run"))  # as root: made
        assert completed.returncode == 0, completed.stderr
        locked.chmod(0o555)
        before = tree(locked)
        for out in (locked / "new", locked / "run"):
            completed = run_cli("solve", str(shared / SCENARIO), "--out", str(out), cwd=shared, **as_another_user())
            assert completed.returncode == 2, completed.stderr
            assert completed.stderr.startswith(f"error: {out} cannot be written (permission denied: {locked})")
            assert tree(locked) == before
    finally:
        for path in [shared, *shared.rglob("*")]:
            if path.is_dir():
                path.chmod(0o755)
        shutil.rmtree(shared)


def test_a_denied_folder_is_refused_naming_the_cause(case: Path, monkeypatch, capsys) -> None:
    """The rule above without a second user: the operating system denies a write below
    ``locked`` (as it would for a colleague's read-only folder)."""
    from optimodel.cli import main

    locked = case / "locked"
    locked.mkdir()
    real_mkdir = os.mkdir

    def denied(path, *arguments, **options):
        if Path(path).parent == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_mkdir(path, *arguments, **options)

    monkeypatch.setattr(os, "mkdir", denied)
    before = tree(case)
    assert main(["solve", str(case / SCENARIO), "--out", str(locked / "run")]) == 2
    assert capsys.readouterr().err.startswith(f"error: {locked / 'run'} cannot be written (permission denied: {locked})")
    assert tree(case) == before


@pytest.mark.parametrize("umask, folder_mode, file_mode", [(0o022, 0o755, 0o644), (0o002, 0o775, 0o664)])
def test_run_and_sweep_folders_follow_the_umask(case: Path, umask: int, folder_mode: int, file_mode: int) -> None:
    for command in ("solve", "sweep"):
        out = case / f"{command}-{umask:o}"
        completed = run_cli(*writing_command(command, case, out), umask=umask)
        assert completed.returncode == 0, completed.stderr
        for path in [out, *out.rglob("*")]:
            expected = folder_mode if path.is_dir() else file_mode
            assert stat.S_IMODE(path.stat().st_mode) == expected, (path, oct(path.stat().st_mode))


def test_snapshot_replaces_a_prices_table_and_nothing_else(case: Path) -> None:
    notes = case / "notes.csv"
    notes.write_text("my,own\ntable,1\n")
    completed = run_cli("snapshot", str(case / SCENARIO), "--out", str(notes))
    assert completed.returncode == 2
    assert "notes.csv exists and is not a prices table" in completed.stderr
    assert notes.read_text() == "my,own\ntable,1\n"
    completed = run_cli("snapshot", str(case / SCENARIO), "--out", str(case / "data"))
    assert completed.returncode == 2 and "is a folder" in completed.stderr
    prices = case / "prices.csv"
    prices.write_text("market,year,price,price_low,price_high\nnational,2025,1,1,1\n")
    assert run_cli("snapshot", str(case / SCENARIO), "--out", str(prices)).returncode == 0
    # 2026 sits on the CCS step: price 50, interval [50, 80] (README, by hand).
    rows = {line.split(",")[1]: [float(cell) for cell in line.split(",")[2:]] for line in prices.read_text().splitlines()[1:]}
    assert rows["2026"] == [50.0, 50.0, 80.0]


def test_compare_and_report_never_overwrite_a_users_file(case: Path) -> None:
    for run in ("a", "b"):
        assert run_cli("solve", str(case / SCENARIO), "--out", str(case / run)).returncode == 0
    mine = case / "mine.csv"
    mine.write_text("keep me\n")
    completed = run_cli("compare", str(case / "a"), str(case / "b"), "--out", str(mine))
    assert completed.returncode == 2 and mine.read_text() == "keep me\n"
    page = case / "page.html"
    page.write_text("<html>my page</html>")
    completed = run_cli("report", str(case / "a"), "--out", str(page))
    assert completed.returncode == 2 and page.read_text() == "<html>my page</html>"
    # Their own outputs are replaced.
    assert run_cli("compare", str(case / "a"), str(case / "b"), "--out", str(case / "cmp.csv")).returncode == 0
    assert run_cli("compare", str(case / "a"), str(case / "b"), "--out", str(case / "cmp.csv")).returncode == 0
    assert run_cli("report", str(case / "a"), "--out", str(case / "r.html")).returncode == 0
    assert run_cli("report", str(case / "a"), "--out", str(case / "r.html")).returncode == 0
