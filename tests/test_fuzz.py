"""Fuzzing: malformed tables and scenario files never show a traceback and never leave a result
behind; every refusal is one `error:` line with a contract exit code."""

from __future__ import annotations

import contextlib
import io
import shutil
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from optimodel.cli import main

EXAMPLES = Path(__file__).resolve().parents[1] / "scenarios" / "examples"
TABLES = ["data/two-firms-firms.csv", "data/two-firms-emissions.csv", "data/two-firms-options.csv"]
RESULT_FILES = ("prices.csv", "markets.csv", "sectors.csv", "firms.csv", "options.csv", "summary.json")

cell = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["", "nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "1e400", "0x10", "1,5", "NULL", "-0", "10 ", "２０"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    st.text(alphabet="ñ漢字🙂\u200b\t\"',;", min_size=1, max_size=6),
)


@st.composite
def table_mutation(draw):
    table = draw(st.sampled_from(TABLES))
    kind = draw(st.sampled_from(["cell", "cell", "cell", "drop_column", "rename_column", "empty", "garbage_row", "binary"]))
    return table, kind, draw(cell), draw(st.integers(0, 50)), draw(st.integers(0, 50))


def mutate_table(text: str, kind: str, value: str, row: int, column: int) -> str | bytes:
    lines = text.splitlines()
    header = lines[0].split(",")
    if kind == "cell":
        target = 1 + row % (len(lines) - 1)
        cells = lines[target].split(",")
        cells[column % len(cells)] = value
        lines[target] = ",".join(cells)
    elif kind == "drop_column":
        index = column % len(header)
        lines = [",".join(part for i, part in enumerate(line.split(",")) if i != index) for line in lines]
    elif kind == "rename_column":
        header[column % len(header)] = value
        lines[0] = ",".join(header)
    elif kind == "empty":
        return ""
    elif kind == "garbage_row":
        lines.append(value)
    elif kind == "binary":
        return bytes([row, column, 0, 255, 254]) + value.encode("utf-8", "replace")
    return "\n".join(lines) + "\n"


SCENARIO_EDITS = st.one_of(
    st.tuples(
        st.just("replace"),
        st.sampled_from(["2025 = 70", "[2025, 2026]", '"AR5"', '"two-firms"', "[sectors.steel]", "data/two-firms-options.csv"]),
        cell,
    ),
    st.tuples(st.just("append"), st.just(""), st.sampled_from([
        "colour = 1", "discount_rate = -1", "discount_rate = 1e400", 'gwp = {CO2 = 0}', 'gwp = {CF4 = 1}',
        "[markets.x]\nsectors = []", '[markets.national]\nsectors = ["power", "steel"]\nborrowing = 2',
        "[[offsets]]\nquantity_tco2e = -5\nprice = 1", "[[offsets]]\nquantity_tco2e = 1e30\nprice = 1",
        "[solver]\nmethod = \"magic\"", "[solver]\ntime_limit_seconds = 0", 'extends = "two-firms.toml"',
        "[sectors.power]\nbenchmark = { 2025 = 1 }", "years = []", "name = ''", "=", "[[", "\x00",
    ])),
)


def run(folder: Path) -> tuple[int, str]:
    stderr, stdout = io.StringIO(), io.StringIO()
    with contextlib.redirect_stderr(stderr), contextlib.redirect_stdout(stdout):
        code = main(["solve", str(folder / "two-firms.toml"), "--out", str(folder / "out")])
    return code, stderr.getvalue()


def check(folder: Path, code: int, stderr: str) -> None:
    assert "Traceback" not in stderr
    assert code in (0, 1, 2, 3), code
    if code != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and lines[0].startswith("error:"), stderr
        assert "internal failure" not in lines[0], lines[0]
        out = folder / "out"
        assert not any((out / name).exists() for name in RESULT_FILES)
        if out.exists():
            assert not [path for path in out.iterdir() if path.name in RESULT_FILES]


def fresh_case() -> Path:
    folder = Path(tempfile.mkdtemp())
    shutil.copytree(EXAMPLES / "data", folder / "data")
    shutil.copy(EXAMPLES / "two-firms.toml", folder / "two-firms.toml")
    return folder


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(table_mutation())
def test_malformed_tables(mutation):
    table, kind, value, row, column = mutation
    folder = fresh_case()
    try:
        mutated = mutate_table((folder / table).read_text(), kind, value, row, column)
        (folder / table).write_bytes(mutated if isinstance(mutated, bytes) else mutated.encode("utf-8"))
        check(folder, *run(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(SCENARIO_EDITS)
def test_malformed_scenarios(edit):
    how, old, new = edit
    folder = fresh_case()
    try:
        path = folder / "two-firms.toml"
        text = path.read_text()
        path.write_text(text.replace(old, new, 1) if how == "replace" else text + "\n" + new + "\n", encoding="utf-8", errors="surrogatepass")
        check(folder, *run(folder))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
