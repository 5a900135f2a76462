"""The soak: days of a house with faults everywhere (run by scripts/soak, not by pytest's
normal collection: no module here is named test_*)."""
