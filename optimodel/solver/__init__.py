"""The LP in standard form, HiGHS, exact price intervals, duals to prices, the certificate and the diagnosis."""
