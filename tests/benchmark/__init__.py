"""The history-upload benchmark (run by scripts/benchmark, not by pytest's normal
collection: no module here is named test_*)."""
