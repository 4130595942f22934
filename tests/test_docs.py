"""The documentation agrees with the code."""

from __future__ import annotations

import re
from pathlib import Path

from optimodel.inputs.data import SCHEMAS
from optimodel.model.formulation import FAMILIES, formulation_markdown
from optimodel.results.tables import FIRM_COLUMNS, MARKET_COLUMNS, OPTION_COLUMNS, PRICE_COLUMNS, SECTOR_COLUMNS

ROOT = Path(__file__).resolve().parents[1]


def test_formulation_doc_is_generated_from_the_docstrings():
    assert (ROOT / "docs" / "formulation.md").read_text() == formulation_markdown(), (
        "regenerate: python -m optimodel.model.formulation > docs/formulation.md"
    )


def test_every_constraint_family_documents_its_math_and_symbols():
    for family in FAMILIES:
        doc = family.add.__doc__ or ""
        assert ".. math::" in doc, family.name
        assert "| symbol | component |" in doc, family.name


def test_readme_starts_with_the_two_commands_and_ci_runs_the_second():
    readme = (ROOT / "README.md").read_text()
    commands = re.findall(r"```sh\n(.*?)\n```", readme, flags=re.S)
    assert "optimodel solve scenarios/expansion.toml" in commands[0]
    assert "pytest" in commands[1]
    assert commands[1] in (ROOT / ".ci" / "run").read_text()


def test_formats_doc_names_every_output_column():
    formats = (ROOT / "docs" / "formats.md").read_text()
    for column in {*PRICE_COLUMNS, *MARKET_COLUMNS, *SECTOR_COLUMNS, *FIRM_COLUMNS, *OPTION_COLUMNS}:
        assert f"`{column}`" in formats or column in formats, column


def test_formats_doc_documents_every_input_column():
    formats = (ROOT / "docs" / "formats.md").read_text()
    for schema in SCHEMAS:
        assert f"### {schema.name}" in formats, schema.name
        for column in schema.columns:
            assert f"`{column.name}`" in formats, (schema.name, column.name)


def test_every_scenario_field_has_a_docstring():
    from optimodel.inputs import scenario as scenario_module
    from optimodel.model import reserve

    # Every closed table of the scenario, the families' included (they are registered on
    # import), found rather than listed, so a new one is covered.
    models = scenario_module.ClosedModel.__subclasses__()
    assert {scenario_module.Scenario, reserve.ReservePolicy, reserve.ReserveTier, reserve.ReserveRules} <= set(models)
    for family in FAMILIES:
        for model in (family.market_rules, family.section.model if family.section else None):
            assert model is None or model in models or model.__doc__, family.name
    for model in models:
        for name, field in model.model_fields.items():
            assert field.description, f"{model.__name__}.{name} has no docstring"


def test_formats_doc_lists_every_warning_code():
    from optimodel.inputs.plausibility import WarningCode

    formats = (ROOT / "docs" / "formats.md").read_text()
    for code in WarningCode:
        assert f"| `{code.value}` |" in formats, code.value
