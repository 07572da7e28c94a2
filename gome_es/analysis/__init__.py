"""Pure analysis of recorded runs."""
