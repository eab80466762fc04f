"""Numbers as the pages write them: exact counts, short SI values, memory and tensor shapes."""

from __future__ import annotations


def format_count(n: int) -> str:
    """Exact, with thousands separators: 44549160 -> "44,549,160"."""
    return f"{n:,}"


def format_si(n: float, unit: str = "") -> str:
    """Short engineering notation: 7801406440 -> "7.80 G"."""
    for factor, prefix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= factor:
            return f"{n / factor:.2f} {prefix}{unit}"
    return f"{n:g} {unit}".rstrip()


def format_bytes(n: int) -> str:
    """Binary units, as memory is allocated: 102760448 -> "98.0 MiB"."""
    for factor, unit in ((1024**3, "GiB"), (1024**2, "MiB"), (1024, "KiB")):
        if n >= factor:
            return f"{n / factor:.1f} {unit}"
    return f"{n} B"


def format_shape(shape: tuple[int, ...], batch: bool = False) -> str:
    """(1, 256, 56, 56) -> "256×56×56" (the batch dimension only when asked)."""
    return "×".join(str(d) for d in (shape if batch else shape[1:]))
