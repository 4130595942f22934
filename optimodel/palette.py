"""The colours of every figure, in the reports and on the live page (contract section 13): one
colour per sector, market, option and run, the same in every figure of a page and across pages,
and never the same for two names of one figure.

The four covered sectors and the default market have fixed colours. Every other name takes, in
sorted order, the next colour not yet taken; past ten names the palette is a larger one, and past
that colours are made by turning the hue by the golden angle, so that no two names ever share one.
"""

from __future__ import annotations

import colorsys
from collections.abc import Iterable

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f", "#bcbd22", "#e377c2"]
"""Ten distinct colours (plotly's D3 set, reordered so the first two contrast)."""
LARGE = [
    "#2E91E5", "#E15F99", "#1CA71C", "#FB0D0D", "#DA16FF", "#222A2A", "#B68100", "#750D86", "#EB663B", "#511CFB",
    "#00A08B", "#FB00D1", "#FC0080", "#B2828D", "#6C7C32", "#778AAE", "#862A16", "#A777F1", "#620042", "#1616A7",
    "#DA60CA", "#6C4516", "#0D2A63", "#AF0038",
]
"""Twenty-four distinct dark colours (plotly's Dark24 set) for figures of more than ten names."""
FIXED = {
    "sector": {"power": "#1f77b4", "steel": "#d62728", "cement": "#8c564b", "aluminium": "#9467bd"},
    "market": {"national": "#1f77b4"},
}
"""Names whose colour never depends on what else a page shows."""
POLICY_LINE = "#444444"
"""Ceilings, floors, triggers and limits: drawn in one dark grey, named, with their own dashes."""


def colour_map(kind: str, names: Iterable[str]) -> dict[str, str]:
    """One distinct colour for each of ``names`` (of a ``kind``: sector, market, option, run)."""
    unique = sorted({str(name) for name in names})
    fixed = FIXED.get(kind, {})
    palette = COLOURS if len(unique) <= len(COLOURS) else LARGE
    chosen = {name: fixed[name] for name in unique if name in fixed}
    taken = set(chosen.values())
    free = (colour for colour in palette if colour not in taken)
    made = 0
    for name in unique:
        if name in chosen:
            continue
        colour = next(free, None)
        if colour is None:
            colour = _golden(made)
            made += 1
        chosen[name] = colour
        taken.add(colour)
    return chosen


def next_colour(kind: str, name: str, taken: set[str]) -> str:
    """A colour for one more ``name`` that none of ``taken`` has (its fixed one if free)."""
    fixed = FIXED.get(kind, {}).get(name)
    if fixed is not None and fixed not in taken:
        return fixed
    for colour in (*COLOURS, *LARGE):
        if colour not in taken:
            return colour
    index = 0
    while _golden(index) in taken:
        index += 1
    return _golden(index)


def ordered_colour_map(names: Iterable[str]) -> dict[str, str]:
    """Distinct colours in the order given (runs of a comparison: the first run, the second ...)."""
    unique = list(dict.fromkeys(str(name) for name in names))
    palette = COLOURS if len(unique) <= len(COLOURS) else LARGE
    return {name: palette[index] if index < len(palette) else _golden(index - len(palette)) for index, name in enumerate(unique)}


def _golden(index: int) -> str:
    """A colour of its own for the ``index``-th name past the palette: hues a golden angle apart."""
    hue = (0.11 + index * 0.381966) % 1.0
    lightness = 0.42 + 0.12 * (index % 3)
    red, green, blue = colorsys.hls_to_rgb(hue, lightness, 0.75)
    return f"#{round(red * 255):02x}{round(green * 255):02x}{round(blue * 255):02x}"


DASHES = ["solid", "dash", "dot", "dashdot", "longdash", "longdashdot", "5px,2px", "1px,4px", "8px,3px,2px,3px", "10px,6px"]
"""Line dashes for variants told apart by dash as well as colour (horizon variants, runs)."""


def dash(index: int) -> str:
    return DASHES[index % len(DASHES)]
