"""What the user wrote: the scenario, the input tables, their checks and warnings."""
