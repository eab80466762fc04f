"""Where and how heavy work runs: device choice with CPU fallback, heavy-work slots, per-model
locks."""
