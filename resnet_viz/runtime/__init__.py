"""Where and how heavy work runs: device choice with CPU fallback, the memory budget, heavy-work
slots, per-model locks, thread and kernel settings, warm timing."""
