"""Files the app ships: trained models, shipped curves, the digits set and sample images.

``ASSETS_DIR`` is the one place that knows where they live.
"""

from pathlib import Path

ASSETS_DIR = Path(__file__).resolve().parent
