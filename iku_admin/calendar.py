"""The office's working calendar: hours, days off, and time in working minutes.

Every SOP step has a standard time in *working minutes* ("1 hari" = one working day =
7.5 working hours = 450 minutes, Perpres 21/2023). This module answers two questions:

* how many working minutes lie between two moments (``working_minutes``), and
* when a step that started at some moment is due (``add_working_minutes``).

Working time is defined by weekly office hours (with a break), Indonesian national
holidays (from the ``holidays`` package) and the agency's own exceptions: extra days off
such as "cuti bersama", and extra working days such as a working Saturday.

It is plain Python with no Flask import, so the CLI, the workflow, the views and a
benchmark can all use it. Moments are timezone-aware datetimes in any zone; they are
converted to the office time zone (Asia/Jakarta by default) to decide what is working
time. The cost of a computation grows with the number of calendar days spanned, never
with the number of minutes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import holidays

__all__ = [
    "DEFAULT_WEEK",
    "MINUTES_PER_DAY",
    "WorkingCalendar",
    "WorkingHours",
    "office_hours",
]

#: "1 hari" in an SOP's standard time: 37.5 hours a week over 5 days = 7.5 hours
#: = 450 minutes.
MINUTES_PER_DAY = 450

_ONE_DAY = timedelta(days=1)
_ONE_MINUTE = timedelta(minutes=1)


def _since_midnight(value: time) -> timedelta:
    """The wall-clock time of day as a duration since midnight."""
    return timedelta(
        hours=value.hour,
        minutes=value.minute,
        seconds=value.second,
        microseconds=value.microsecond,
    )


@dataclass(frozen=True)
class WorkingHours:
    """One weekday's office hours: working from ``start`` to ``end``, except the break.

    Times are naive wall-clock times in the calendar's office time zone. A day without a
    break has ``break_start == break_end``.
    """

    start: time
    end: time
    break_start: time
    break_end: time

    def __post_init__(self) -> None:
        values = (self.start, self.end, self.break_start, self.break_end)
        if any(not isinstance(value, time) for value in values):
            raise TypeError("working hours must be datetime.time values")
        if any(value.tzinfo is not None for value in values):
            raise ValueError("working hours are wall-clock times: give naive datetime.time values")
        if not (self.start <= self.break_start <= self.break_end <= self.end):
            raise ValueError("working hours must satisfy start <= break_start <= break_end <= end")
        if self.start == self.end:
            raise ValueError("working hours must not be empty (start == end)")

    @property
    def periods(self) -> tuple[tuple[time, time], ...]:
        """The working periods (before and after the break), in order, none empty."""
        if self.break_start == self.break_end:  # no break: one uninterrupted period
            return ((self.start, self.end),)
        candidates = ((self.start, self.break_start), (self.break_end, self.end))
        return tuple((a, b) for a, b in candidates if a < b)

    @property
    def minutes(self) -> int:
        """Working minutes in the day: office hours minus the break (floored)."""
        working = (_since_midnight(self.end) - _since_midnight(self.start)) - (
            _since_midnight(self.break_end) - _since_midnight(self.break_start)
        )
        return working // _ONE_MINUTE


_MON_THU = WorkingHours(
    start=time(7, 30), end=time(16, 0), break_start=time(12, 0), break_end=time(13, 0)
)
_FRIDAY = WorkingHours(
    start=time(7, 30), end=time(16, 30), break_start=time(11, 30), break_end=time(13, 0)
)

#: Weekday (``date.weekday()``: 0 = Monday ... 6 = Sunday) -> office hours, ``None``
#: for a day off. Monday-Thursday 8.5 h - 1 h break = 7.5 h; Friday 9 h - 1.5 h break
#: (Friday prayer) = 7.5 h.
#: Do not mutate it: pass your own mapping to ``WorkingCalendar(week=...)`` instead.
DEFAULT_WEEK: dict[int, WorkingHours | None] = {
    0: _MON_THU,
    1: _MON_THU,
    2: _MON_THU,
    3: _MON_THU,
    4: _FRIDAY,
    5: None,
    6: None,
}


def office_hours(day: Any) -> WorkingHours | None:
    """The ``WorkingHours`` of a weekday's row (``working``, ``start``, ``finish``,
    ``break_start``, ``break_end``; no break when both break times are empty), or None for
    a day off. Raises ``ValueError`` for hours in the wrong order."""
    if not day.working:
        return None
    if day.start is None or day.finish is None:
        raise ValueError("a working day needs its start and end")
    if (day.break_start is None) != (day.break_end is None):
        raise ValueError("a break needs both its start and its end")
    no_break = day.break_start is None
    return WorkingHours(
        start=day.start,
        end=day.finish,
        break_start=day.start if no_break else day.break_start,
        break_end=day.start if no_break else day.break_end,
    )


def _as_dates(values: Iterable[date], name: str) -> frozenset[date]:
    """Validate and freeze a collection of calendar days."""
    days = frozenset(values)
    for day in days:
        # A datetime is a date subclass but never equals a date: it would never match.
        if isinstance(day, datetime) or not isinstance(day, date):
            raise TypeError(f"{name} must contain datetime.date values, got {day!r}")
    return days


def _to_utc(moment: datetime, name: str) -> datetime:
    """Convert an aware datetime to UTC; naive datetimes are ambiguous and refused."""
    if not isinstance(moment, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} is a naive datetime: give a timezone-aware datetime")
    return moment.astimezone(UTC)


@functools.cache
def _national_holidays_of(year: int) -> frozenset[date]:
    # A fixed fact per year: worth computing once per process, not once per calendar.
    return frozenset(holidays.country_holidays("ID", years=year))


class WorkingCalendar:
    """Working days and hours of one office, and arithmetic in working minutes.

    A day is a working day when it is listed in ``extra_work`` (this wins over
    everything), or else when it is not in ``extra_off``, not an Indonesian national
    holiday (if ``national_holidays``) and its weekday has hours in ``week``.

    National holidays come from ``holidays.country_holidays("ID")`` (public holidays
    only); "cuti bersama" days are the agency's decision and are given as ``extra_off``.

    Instances are immutable apart from an internal per-year holiday cache, so one
    calendar can be shared, e.g. across the dossiers of a bulk action.
    """

    def __init__(
        self,
        tz: str = "Asia/Jakarta",
        week: Mapping[int, WorkingHours | None] = DEFAULT_WEEK,
        extra_off: Iterable[date] = (),
        extra_work: Iterable[date] = (),
        national_holidays: bool = True,
    ) -> None:
        """Build a calendar.

        :param tz: IANA name of the office time zone (WIB ``Asia/Jakarta``, WITA
            ``Asia/Makassar``, WIT ``Asia/Jayapura``).
        :param week: weekday (0 = Monday) -> ``WorkingHours``; ``None`` or a missing key
            for a day off.
        :param extra_off: extra days off (cuti bersama, local holidays).
        :param extra_work: extra working days (e.g. a working Saturday); they win over
            weekends, national holidays and ``extra_off``.
        :param national_holidays: whether Indonesian national holidays are days off.
        :raises ValueError: on an unknown weekday key or an unknown time zone.
        """
        unknown = set(week) - set(range(7))
        if unknown:
            raise ValueError(
                f"week keys must be weekdays 0 (Monday) to 6 (Sunday), got {sorted(unknown)}"
            )
        for hours in week.values():
            if hours is not None and not isinstance(hours, WorkingHours):
                raise TypeError(f"week values must be WorkingHours or None, got {hours!r}")
        try:
            self.tz = ZoneInfo(tz)
        except (KeyError, ValueError) as exc:  # ZoneInfoNotFoundError is a KeyError
            raise ValueError(f"unknown time zone {tz!r}") from exc
        self.week: dict[int, WorkingHours | None] = {day: week.get(day) for day in range(7)}
        self.extra_off: frozenset[date] = _as_dates(extra_off, "extra_off")
        self.extra_work: frozenset[date] = _as_dates(extra_work, "extra_work")
        self.national_holidays = national_holidays
        # An extra working day on a weekday without hours (e.g. a Saturday) keeps
        # Monday's hours; should Monday be off too, the first weekday that has hours.
        self._extra_day_hours: WorkingHours = self.week[0] or next(
            (hours for hours in self.week.values() if hours is not None), _MON_THU
        )
        # Needed to stop searching for a next working moment when none can ever come.
        self._has_weekly_work = any(hours is not None for hours in self.week.values())
        self._periods_cache: dict[date, list[tuple[datetime, datetime]]] = {}
        # Working time of the days from _prefix_start on, summed up: _prefix[i] is the
        # time of the i days before _prefix_start + i (so a span costs two lookups).
        self._prefix_start: date | None = None
        self._prefix: list[timedelta] = []
        self._last_extra_work: date | None = max(self.extra_work, default=None)

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(tz={self.tz.key!r}, "
            f"extra_off={len(self.extra_off)} days, "
            f"extra_work={len(self.extra_work)} days, "
            f"national_holidays={self.national_holidays})"
        )

    @classmethod
    def from_session(
        cls,
        session: Any,
        tz: str = "Asia/Jakarta",
        *,
        week: Mapping[int, WorkingHours | None] = DEFAULT_WEEK,
        national_holidays: bool = True,
    ) -> WorkingCalendar:
        """Build the calendar from the ``office_day`` and ``calendar_day`` tables.

        The weekly office hours come from ``office_day`` (``week`` when it has no rows);
        rows of ``calendar_day`` of kind ``'off'`` become extra days off, of kind
        ``'work'`` extra working days. ``session`` is a SQLAlchemy ``Session``
        (Flask-SQLAlchemy's ``db.session`` works too).
        """
        from sqlalchemy import select  # local: keeps this module light

        from models.system import CalendarDay, OfficeDay  # local: no import cycle

        office_days = session.scalars(select(OfficeDay)).all()
        if office_days:
            week = {day.weekday: office_hours(day) for day in office_days}
        rows = session.execute(select(CalendarDay.day, CalendarDay.kind)).all()
        return cls(
            tz=tz,
            week=week,
            extra_off=[day for day, kind in rows if kind == "off"],
            extra_work=[day for day, kind in rows if kind == "work"],
            national_holidays=national_holidays,
        )

    # ---------------------------------------------------------------- days

    def _national_holidays(self, year: int) -> frozenset[date]:
        """Indonesian national holidays of one year, computed once per process."""
        return _national_holidays_of(year)

    def is_national_holiday(self, day: date) -> bool:
        """Whether ``day`` is an Indonesian national holiday (ignores extra_work)."""
        return day in self._national_holidays(day.year)

    def is_working_day(self, day: date) -> bool:
        """Whether the office works on ``day``.

        ``extra_work`` wins over everything; ``extra_off``, national holidays (when
        enabled) and weekdays without hours (weekends) are days off.
        """
        if isinstance(day, datetime):
            raise TypeError("is_working_day takes a date, not a datetime")
        if day in self.extra_work:
            return True
        if day in self.extra_off:
            return False
        if self.national_holidays and day in self._national_holidays(day.year):
            return False
        return self.week[day.weekday()] is not None

    def hours_for(self, day: date) -> WorkingHours | None:
        """The office hours on ``day``, or ``None`` if it is not a working day.

        An extra working day on a weekday that normally has no hours (a Saturday) uses
        Monday's hours.
        """
        if not self.is_working_day(day):
            return None
        return self.week[day.weekday()] or self._extra_day_hours

    def _periods_utc(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working periods of ``day`` as UTC instants (empty on a day off).

        UTC instants keep durations right even in a time zone with daylight saving.
        Cached per instance: a calendar lives for one request or one transition.
        """
        cached = self._periods_cache.get(day)
        if cached is None:
            cached = self._periods_cache[day] = self._compute_periods_utc(day)
        return cached

    def _whole_days(self, first: date, last: date) -> timedelta:
        """Working time of the whole days ``first`` to ``last`` (inclusive)."""
        if last < first:
            return timedelta(0)
        if self._prefix_start is None or first < self._prefix_start:
            self._prefix_start, self._prefix = first, [timedelta(0)]
        end = (last - self._prefix_start).days + 1
        while len(self._prefix) <= end:
            day = self._prefix_start + timedelta(days=len(self._prefix) - 1)
            length = sum((e - b for b, e in self._periods_utc(day)), timedelta(0))
            self._prefix.append(self._prefix[-1] + length)
        return self._prefix[end] - self._prefix[(first - self._prefix_start).days]

    def _compute_periods_utc(self, day: date) -> list[tuple[datetime, datetime]]:
        hours = self.hours_for(day)
        if hours is None:
            return []
        return [
            (
                datetime.combine(day, begin, tzinfo=self.tz).astimezone(UTC),
                datetime.combine(day, end, tzinfo=self.tz).astimezone(UTC),
            )
            for begin, end in hours.periods
        ]

    # ---------------------------------------------------------------- minutes

    def working_minutes(self, start: datetime, end: datetime) -> int:
        """Whole working minutes between two aware moments.

        Only time inside office hours, outside breaks, on working days (all judged in
        the office time zone) counts. Returns 0 when ``end <= start``; otherwise the
        floor of the counted seconds divided by 60. Loops over the calendar days
        spanned, never over minutes.

        :raises ValueError: if either datetime is naive.
        """
        start_utc = _to_utc(start, "start")
        end_utc = _to_utc(end, "end")
        if end_utc <= start_utc:
            return 0
        first_day = start_utc.astimezone(self.tz).date()
        last_day = end_utc.astimezone(self.tz).date()
        total = timedelta(0)
        # Clipping is only effective on the first and last day; the days in between
        # contribute their full working time.
        for day in {first_day, last_day}:
            for period_start, period_end in self._periods_utc(day):
                overlap = min(period_end, end_utc) - max(period_start, start_utc)
                if overlap > timedelta(0):
                    total += overlap
        total += self._whole_days(first_day + _ONE_DAY, last_day - _ONE_DAY)
        return total // _ONE_MINUTE

    def add_working_minutes(self, start: datetime, minutes: int) -> datetime:
        """The due time: when ``minutes`` working minutes have elapsed after ``start``.

        If ``start`` lies outside working time, counting begins at the next working
        moment (with ``minutes == 0`` that moment itself is returned). When the budget
        runs out exactly at the end of a working period (e.g. at 12:00, or 16:00), that
        end is returned rather than the start of the next period. Returns an aware UTC
        datetime; ``working_minutes(start, add_working_minutes(start, m)) == m``.

        :raises ValueError: if ``start`` is naive, ``minutes`` is negative, or no
            working day follows ``start`` (a week without hours and no later extra
            working day).
        """
        start_utc = _to_utc(start, "start")
        if minutes < 0:
            raise ValueError("minutes must not be negative")
        remaining = timedelta(minutes=minutes)
        day = start_utc.astimezone(self.tz).date()
        while True:
            if not self._has_weekly_work and (
                self._last_extra_work is None or day > self._last_extra_work
            ):
                raise ValueError("the calendar has no working day after the start")
            for period_start, period_end in self._periods_utc(day):
                if period_end <= start_utc:
                    continue  # this period is over before the start
                begin = max(period_start, start_utc)
                available = period_end - begin
                # ``available`` is positive here, so a zero budget returns ``begin``.
                if remaining <= available:
                    return begin + remaining
                remaining -= available
            day += _ONE_DAY
