"""The one palette of every figure (contract section 13): fixed, distinct, never repeated."""

from __future__ import annotations

from optimodel.palette import COLOURS, FIXED, LARGE, colour_map, next_colour, ordered_colour_map


def test_sectors_and_the_default_market_keep_their_colours_whatever_else_is_drawn() -> None:
    assert colour_map("sector", ["steel", "power"]) == {"power": FIXED["sector"]["power"], "steel": FIXED["sector"]["steel"]}
    assert colour_map("sector", ["aluminium", "cement", "power", "steel", "chemicals"])["steel"] == FIXED["sector"]["steel"]
    assert colour_map("market", ["national", "power_market"])["national"] == FIXED["market"]["national"]


def test_names_take_free_colours_in_sorted_order_and_never_share_one() -> None:
    few = colour_map("option", ["b", "a", "c"])
    assert few == {"a": COLOURS[0], "b": COLOURS[1], "c": COLOURS[2]}
    for count in (10, 11, 24, 25, 60):
        names = [f"option{index:02d}" for index in range(count)]
        colours = colour_map("option", names)
        assert len(set(colours.values())) == count
        palette = COLOURS if count <= len(COLOURS) else LARGE
        assert list(colours.values())[: min(count, len(palette))] == palette[: min(count, len(palette))]
    # A fixed sector and the other sectors never collide either.
    sectors = colour_map("sector", ["power", "steel", "cement", "aluminium", *[f"sector{index}" for index in range(12)]])
    assert len(set(sectors.values())) == 16


def test_a_late_name_takes_a_colour_no_other_has() -> None:
    taken = set(COLOURS) | set(LARGE)
    colour = next_colour("option", "late", taken)
    assert colour not in taken and colour.startswith("#") and len(colour) == 7
    assert next_colour("sector", "steel", set()) == FIXED["sector"]["steel"]
    assert next_colour("sector", "steel", {FIXED["sector"]["steel"]}) != FIXED["sector"]["steel"]


def test_runs_keep_the_order_given() -> None:
    assert ordered_colour_map(["z", "a", "z"]) == {"z": COLOURS[0], "a": COLOURS[1]}
