"""Result tables, run folders, reports, comparisons and the CBAM exposure."""
