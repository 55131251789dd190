"""Calendar months as ``YYYY-MM`` strings: checking, bounds, neighbours, ranges (naive UTC, as in the store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


def check_month(value: str | None) -> str | None:
    """``value`` if it is ``YYYY-MM`` (zero-padded on the way out); raises ValueError with a clear message otherwise."""
    if value is None:
        return None
    parts = value.split("-")
    if len(parts) != 2 or not all(p.isdigit() for p in parts) or len(parts[0]) != 4 or not 1 <= int(parts[1]) <= 12:
        raise ValueError(f"not a month (YYYY-MM): {value!r}")
    return f"{int(parts[0]):04d}-{int(parts[1]):02d}"


def month_start(month: str) -> datetime:
    """The first instant of ``YYYY-MM``."""
    y, m = map(int, month.split("-"))
    return datetime(y, m, 1)


def month_end(month: str) -> datetime:
    """The last microsecond of ``YYYY-MM``."""
    nxt = next_month_start(check_month(month))  # type: ignore[arg-type]
    return nxt - timedelta(microseconds=1) if nxt is not None else datetime.max


def next_month_start(month: str) -> datetime | None:
    """The first instant after ``YYYY-MM`` (None after December 9999, the last month a datetime holds)."""
    y, m = map(int, month.split("-"))
    return None if (y, m) == (9999, 12) else datetime(y + (m == 12), 1 if m == 12 else m + 1, 1)


def previous_month(month: str) -> str:
    """The month before ``YYYY-MM``."""
    y, m = map(int, month.split("-"))
    return f"{y - 1:04d}-12" if m == 1 else f"{y:04d}-{m - 1:02d}"


def month_of(when: datetime) -> str:
    """The ``YYYY-MM`` of a time (the year zero-padded, as the store's ISO text has it)."""
    return f"{when.year:04d}-{when.month:02d}"


def current_month(today: datetime | None = None) -> str:
    """The current calendar month (UTC): no later month has data yet."""
    return month_of(today or datetime.now(UTC))


def previous_calendar_month(today: datetime | None = None) -> str:
    """The month before the current one (UTC), the month a scheduled report covers."""
    return previous_month(current_month(today))


def month_range(first: str, last: str) -> list[str]:
    """Every ``YYYY-MM`` from ``first`` to ``last`` inclusive."""
    y, m = map(int, first.split("-"))
    ly, lm = map(int, last.split("-"))
    out = []
    while (y, m) <= (ly, lm):
        out.append(f"{y:04d}-{m:02d}")
        y, m = (y + 1, 1) if m == 12 else (y, m + 1)
    return out


def month_name(number: int) -> str:
    """The ``YYYY-MM`` that is ``number`` months after 1970-01 (numpy's ``datetime64[M]`` as an integer)."""
    y, m = divmod(number, 12)
    return f"{1970 + y:04d}-{m + 1:02d}"
