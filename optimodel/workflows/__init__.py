"""Many solves: sweeps, the horizon, Monte Carlo draws and their distribution on Dask."""
