"""The weekly digest (built from the insights functions, rendered per destination, sent once per week and
destination) and the daily "no one left waiting" follow-ups."""
