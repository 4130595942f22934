"""The colours of every figure: one list, so a series keeps its colour from chart to chart."""

COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]
"""Series colours in order (plotly's defaults, reordered so the first two contrast)."""
