"""Turning results into what a person reads, by topic: figures, tables, diagrams, code and the
plain-language readings (their words and thresholds in :mod:`.wording`). No Streamlit here."""
