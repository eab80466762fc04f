"""The Streamlit layer: the only code that imports streamlit (with ``app.py`` and ``pages/``).

Each page's view, its widgets and what they share: model loading, lecture mode and the tour,
the sidebar's network controls and their parser, the heavy-work progress and error messages.
The logic they show lives below, in ``core``, ``analysis``, ``experiments`` and ``present``.
"""
