"""Unit tests of the working calendar (``iku_admin.calendar``).

Expected values are calculated by hand; each assertion shows its arithmetic. Office
hours (WIB, UTC+7): Monday-Thursday 07:30-12:00 and 13:00-16:00 (4.5 h + 3 h = 450 min),
Friday 07:30-11:30 and 13:00-16:30 (4 h + 3.5 h = 450 min).

Dates used (2026): Monday 2 March .. Monday 9 March has no holiday; Monday 16 February
is "cuti bersama" Imlek, Tuesday 17 February is Chinese New Year (national holiday);
Monday 17 August is Independence Day (national holiday).
"""

from __future__ import annotations

import random
import time as clock
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import holidays
import pytest
import sqlalchemy
from sqlalchemy import event
from sqlalchemy.orm import Session

import models
from iku_admin.calendar import (
    DEFAULT_WEEK,
    MINUTES_PER_DAY,
    WorkingCalendar,
    WorkingHours,
)

WIB = ZoneInfo("Asia/Jakarta")
MON, TUE, WED, THU, FRI, SAT, SUN = range(7)


def day(year: int, month: int, dom: int, weekday: int) -> date:
    """A date, checked to fall on the weekday the test's arithmetic assumes."""
    value = date(year, month, dom)
    assert value.weekday() == weekday, f"{value} is not weekday {weekday}"
    return value


def wib(on: date, hour: int, minute: int = 0) -> datetime:
    """An aware moment in the office time zone (WIB)."""
    return datetime.combine(on, time(hour, minute), tzinfo=WIB)


MON_2_MAR = day(2026, 3, 2, MON)
TUE_3_MAR = day(2026, 3, 3, TUE)
THU_5_MAR = day(2026, 3, 5, THU)
FRI_6_MAR = day(2026, 3, 6, FRI)
SAT_7_MAR = day(2026, 3, 7, SAT)
MON_9_MAR = day(2026, 3, 9, MON)
INDEPENDENCE_DAY = day(2026, 8, 17, MON)
IMLEK = day(2026, 2, 17, TUE)
CUTI_BERSAMA_IMLEK = day(2026, 2, 16, MON)


@pytest.fixture
def cal() -> WorkingCalendar:
    """The default calendar: WIB, default week, national holidays, no exceptions."""
    return WorkingCalendar()


# ------------------------------------------------------------------ configuration


def test_default_week_is_seven_and_a_half_hours_a_day() -> None:
    # Mon-Thu: (16:00 - 07:30) - (13:00 - 12:00) = 8.5 h - 1 h = 7.5 h = 450 min
    for weekday in (MON, TUE, WED, THU):
        hours = DEFAULT_WEEK[weekday]
        assert hours is not None
        assert (hours.start, hours.end) == (time(7, 30), time(16, 0))
        assert (hours.break_start, hours.break_end) == (time(12, 0), time(13, 0))
        assert hours.minutes == 450
    # Fri: (16:30 - 07:30) - (13:00 - 11:30) = 9 h - 1.5 h = 7.5 h = 450 min
    friday = DEFAULT_WEEK[FRI]
    assert friday is not None
    assert (friday.start, friday.end) == (time(7, 30), time(16, 30))
    assert (friday.break_start, friday.break_end) == (time(11, 30), time(13, 0))
    assert friday.minutes == 450
    assert DEFAULT_WEEK[SAT] is None
    assert DEFAULT_WEEK[SUN] is None
    # "1 hari" = 7.5 working hours = 7.5 * 60 = 450 minutes
    assert MINUTES_PER_DAY == 450


def test_working_hours_are_validated() -> None:
    with pytest.raises(ValueError, match="break_end <= end"):  # break after closing
        WorkingHours(time(8), time(12), time(11), time(13))
    with pytest.raises(ValueError, match="break_start <= break_end"):  # break reversed
        WorkingHours(time(8), time(16), time(13), time(12))
    with pytest.raises(ValueError, match="empty"):  # empty day
        WorkingHours(time(8), time(8), time(8), time(8))
    # No break: 08:00-12:00 = 240 min, in one period
    no_break = WorkingHours(time(8), time(12), time(10), time(10))
    assert no_break.minutes == 240
    assert no_break.periods == ((time(8), time(12)),)


def test_calendar_arguments_are_validated() -> None:
    with pytest.raises(ValueError, match="week keys"):
        WorkingCalendar(week={7: DEFAULT_WEEK[MON]})
    with pytest.raises(ValueError, match="unknown time zone"):
        WorkingCalendar(tz="Asia/Nowhere")
    with pytest.raises(TypeError):  # a datetime would never equal a date: refused
        WorkingCalendar(extra_off=[wib(MON_2_MAR, 0)])


# ------------------------------------------------------------------ days


def test_independence_day_is_a_national_holiday_known_to_holidays() -> None:
    known = holidays.country_holidays("ID", years=2026)
    assert INDEPENDENCE_DAY in known
    assert IMLEK in known
    assert CUTI_BERSAMA_IMLEK not in known  # cuti bersama is configured, not built in


def test_working_days(cal: WorkingCalendar) -> None:
    assert cal.is_working_day(MON_2_MAR)
    assert cal.is_working_day(FRI_6_MAR)
    assert not cal.is_working_day(SAT_7_MAR)
    assert not cal.is_working_day(day(2026, 3, 8, SUN))
    assert not cal.is_working_day(INDEPENDENCE_DAY)
    assert cal.is_national_holiday(INDEPENDENCE_DAY)
    assert cal.hours_for(MON_2_MAR) == DEFAULT_WEEK[MON]
    assert cal.hours_for(FRI_6_MAR) == DEFAULT_WEEK[FRI]
    assert cal.hours_for(SAT_7_MAR) is None
    assert cal.hours_for(INDEPENDENCE_DAY) is None
    # Without national holidays, Independence Day (a Monday) is an ordinary Monday.
    assert WorkingCalendar(national_holidays=False).is_working_day(INDEPENDENCE_DAY)


def test_extra_days_off_and_extra_working_days() -> None:
    cal = WorkingCalendar(
        extra_off=[CUTI_BERSAMA_IMLEK, MON_9_MAR],
        extra_work=[SAT_7_MAR, INDEPENDENCE_DAY, MON_9_MAR],
    )
    assert not cal.is_working_day(CUTI_BERSAMA_IMLEK)
    assert cal.hours_for(CUTI_BERSAMA_IMLEK) is None
    # extra_work wins over a weekend, a national holiday and extra_off
    assert cal.is_working_day(SAT_7_MAR)
    assert cal.is_working_day(INDEPENDENCE_DAY)
    assert cal.is_working_day(MON_9_MAR)
    # An extra working Saturday keeps Monday's hours
    assert cal.hours_for(SAT_7_MAR) == DEFAULT_WEEK[MON]


def test_is_working_day_refuses_a_datetime(cal: WorkingCalendar) -> None:
    with pytest.raises(TypeError):
        cal.is_working_day(wib(MON_2_MAR, 9))


# ------------------------------------------------------------------ working_minutes


def test_within_one_morning(cal: WorkingCalendar) -> None:
    # Mon 08:00 -> 10:15 = 2 h 15 min = 135
    assert cal.working_minutes(wib(MON_2_MAR, 8), wib(MON_2_MAR, 10, 15)) == 135
    # Before opening counts nothing: Mon 06:00 -> 08:00 = (07:30 -> 08:00) = 30
    assert cal.working_minutes(wib(MON_2_MAR, 6), wib(MON_2_MAR, 8)) == 30


def test_across_the_lunch_break(cal: WorkingCalendar) -> None:
    # Mon 11:00 -> 14:00 = (11:00 -> 12:00) 60 + break 0 + (13:00 -> 14:00) 60 = 120
    assert cal.working_minutes(wib(MON_2_MAR, 11), wib(MON_2_MAR, 14)) == 120
    # Inside the break: Mon 12:10 -> 12:50 = 0
    assert cal.working_minutes(wib(MON_2_MAR, 12, 10), wib(MON_2_MAR, 12, 50)) == 0
    # After closing: Mon 15:00 -> 18:00 = (15:00 -> 16:00) = 60
    assert cal.working_minutes(wib(MON_2_MAR, 15), wib(MON_2_MAR, 18)) == 60


def test_across_the_friday_break(cal: WorkingCalendar) -> None:
    # Fri 11:00 -> 14:00 = (11:00 -> 11:30) 30 + break 0 + (13:00 -> 14:00) 60 = 90
    assert cal.working_minutes(wib(FRI_6_MAR, 11), wib(FRI_6_MAR, 14)) == 90
    # Friday closes at 16:30: Fri 15:00 -> 17:00 = (15:00 -> 16:30) = 90
    assert cal.working_minutes(wib(FRI_6_MAR, 15), wib(FRI_6_MAR, 17)) == 90


def test_across_a_weekend(cal: WorkingCalendar) -> None:
    # Fri 15:00 -> Mon 09:00 = Fri (15:00 -> 16:30) 90 + Sat 0 + Sun 0
    #                          + Mon (07:30 -> 09:00) 90 = 180
    assert cal.working_minutes(wib(FRI_6_MAR, 15), wib(MON_9_MAR, 9)) == 180


def test_across_a_national_holiday(cal: WorkingCalendar) -> None:
    fri = day(2026, 8, 14, FRI)
    tue = day(2026, 8, 18, TUE)
    assert INDEPENDENCE_DAY in holidays.country_holidays("ID", years=2026)
    # Fri 14 Aug 16:00 -> Tue 18 Aug 08:30
    #   = Fri (16:00 -> 16:30) 30 + Sat 0 + Sun 0 + Mon 17 Aug (holiday) 0
    #     + Tue (07:30 -> 08:30) 60 = 90
    assert cal.working_minutes(wib(fri, 16), wib(tue, 8, 30)) == 90
    # Without national holidays Monday counts in full: 30 + 450 + 60 = 540
    plain = WorkingCalendar(national_holidays=False)
    assert plain.working_minutes(wib(fri, 16), wib(tue, 8, 30)) == 540


def test_across_a_cuti_bersama_day() -> None:
    cal = WorkingCalendar(extra_off=[CUTI_BERSAMA_IMLEK])
    fri = day(2026, 2, 13, FRI)
    wed = day(2026, 2, 18, WED)
    # The cuti bersama Monday alone: 07:30 -> 16:00 would be 450, as a day off it is 0
    assert cal.working_minutes(wib(CUTI_BERSAMA_IMLEK, 7, 30), wib(CUTI_BERSAMA_IMLEK, 16)) == 0
    assert (
        WorkingCalendar().working_minutes(
            wib(CUTI_BERSAMA_IMLEK, 7, 30), wib(CUTI_BERSAMA_IMLEK, 16)
        )
        == 450
    )
    # Fri 13 Feb 16:00 -> Wed 18 Feb 08:00
    #   = Fri (16:00 -> 16:30) 30 + Sat 0 + Sun 0 + Mon (cuti bersama) 0
    #     + Tue (Imlek, national holiday) 0 + Wed (07:30 -> 08:00) 30 = 60
    assert cal.working_minutes(wib(fri, 16), wib(wed, 8)) == 60


def test_across_an_extra_working_saturday() -> None:
    cal = WorkingCalendar(extra_work=[SAT_7_MAR])
    # Fri 16:00 -> Mon 08:00 = Fri (16:00 -> 16:30) 30 + Sat (Monday's hours) 450
    #                          + Sun 0 + Mon (07:30 -> 08:00) 30 = 510
    assert cal.working_minutes(wib(FRI_6_MAR, 16), wib(MON_9_MAR, 8)) == 510
    # Saturday with Monday's hours: 11:00 -> 14:00 = 60 + 60 = 120 (break 12:00-13:00)
    assert cal.working_minutes(wib(SAT_7_MAR, 11), wib(SAT_7_MAR, 14)) == 120
    # Without the extra day: 30 + 0 + 0 + 30 = 60
    assert WorkingCalendar().working_minutes(wib(FRI_6_MAR, 16), wib(MON_9_MAR, 8)) == 60


def test_a_whole_week(cal: WorkingCalendar) -> None:
    # Mon 00:00 -> next Mon 00:00 = Mon-Thu 4 * 450 + Fri 450 + Sat 0 + Sun 0 = 2250
    assert cal.working_minutes(wib(MON_2_MAR, 0), wib(MON_9_MAR, 0)) == 2250
    # Mon 07:30 -> Fri 16:30 is the same working time: 2250
    assert cal.working_minutes(wib(MON_2_MAR, 7, 30), wib(FRI_6_MAR, 16, 30)) == 2250


def test_empty_and_reversed_spans(cal: WorkingCalendar) -> None:
    assert cal.working_minutes(wib(MON_2_MAR, 9), wib(MON_2_MAR, 9)) == 0
    assert cal.working_minutes(wib(MON_2_MAR, 10), wib(MON_2_MAR, 9)) == 0


def test_partial_minutes_are_floored(cal: WorkingCalendar) -> None:
    start = wib(MON_2_MAR, 9)
    # 09:00:00 -> 09:10:59 = 659 s; 659 // 60 = 10
    assert cal.working_minutes(start, start + timedelta(minutes=10, seconds=59)) == 10
    # 09:00:30 -> 09:01:29 = 59 s; 59 // 60 = 0
    assert cal.working_minutes(start + timedelta(seconds=30), start + timedelta(seconds=89)) == 0


def test_a_year_is_fast_and_equals_the_sum_over_days(cal: WorkingCalendar) -> None:
    jan_1 = day(2026, 1, 1, THU)
    start = wib(jan_1, 0)
    end = wib(day(2027, 1, 1, FRI), 0)
    # 2026 starts on a Thursday: 365 days = 52 weeks + 1 extra Thursday
    #   -> 52 * 5 + 1 = 261 weekdays.
    # National holidays on a weekday: 1 Jan, 16 Jan, 17 Feb, 19 Mar, 3 Apr, 1 May,
    #   14 May, 27 May, 1 Jun, 16 Jun, 17 Aug, 25 Aug, 25 Dec = 13
    #   (21-22 Mar, 5 Apr and 31 May fall on a weekend).
    # Working days: 261 - 13 = 248; every working day has 450 min -> 248 * 450 = 111600
    known = holidays.country_holidays("ID", years=2026)
    assert sum(1 for d in known if d.weekday() < 5) == 13
    began = clock.perf_counter()
    total = cal.working_minutes(start, end)
    elapsed = clock.perf_counter() - began
    assert total == 248 * 450 == 111600
    assert elapsed < 0.5, f"a year took {elapsed:.3f} s"

    days = [jan_1 + timedelta(days=i) for i in range(365)]
    per_day = sum(cal.working_minutes(wib(d, 0), wib(d, 0) + timedelta(days=1)) for d in days)
    from_hours = sum(h.minutes for d in days if (h := cal.hours_for(d)) is not None)
    assert per_day == from_hours == total


def test_ten_years_do_not_loop_over_minutes(cal: WorkingCalendar) -> None:
    # 10 years are 5.26 million minutes; a day loop does ~3650 iterations.
    began = clock.perf_counter()
    total = cal.working_minutes(datetime(2020, 1, 1, tzinfo=UTC), datetime(2030, 1, 1, tzinfo=UTC))
    elapsed = clock.perf_counter() - began
    assert elapsed < 1.0, f"ten years took {elapsed:.3f} s"
    # About 245-250 working days a year: between 10 * 240 * 450 and 10 * 255 * 450
    assert 10 * 240 * 450 < total < 10 * 255 * 450


# ------------------------------------------------------------------ time zones


def test_utc_input_is_converted_to_jakarta_time(cal: WorkingCalendar) -> None:
    # 01:00 UTC = 08:00 WIB, 03:15 UTC = 10:15 WIB -> 135 (as in one morning)
    start = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    end = datetime(2026, 3, 2, 3, 15, tzinfo=UTC)
    assert cal.working_minutes(start, end) == 135
    # 09:00 -> 10:00 UTC = 16:00 -> 17:00 WIB: after closing, 0
    # (read as local wall time it would wrongly give 60)
    assert (
        cal.working_minutes(
            datetime(2026, 3, 2, 9, tzinfo=UTC), datetime(2026, 3, 2, 10, tzinfo=UTC)
        )
        == 0
    )
    # Sun 23:00 UTC = Mon 06:00 WIB; Mon 01:30 UTC = Mon 08:30 WIB
    #   -> (07:30 -> 08:30) = 60
    assert (
        cal.working_minutes(
            datetime(2026, 3, 1, 23, tzinfo=UTC),
            datetime(2026, 3, 2, 1, 30, tzinfo=UTC),
        )
        == 60
    )
    # Any fixed offset works too: 10:00 WIT (UTC+9) = 08:00 WIB -> 08:00 -> 10:15 = 135
    wit = timezone(timedelta(hours=9))
    assert (
        cal.working_minutes(
            datetime(2026, 3, 2, 10, tzinfo=wit),
            datetime(2026, 3, 2, 3, 15, tzinfo=UTC),
        )
        == 135
    )


def test_office_time_zone_is_configurable() -> None:
    # Mon 15:00 -> 17:00 UTC = 22:00 -> 24:00 WIB: 0.
    # With the office in UTC: (15:00 -> 16:00) = 60.
    start = datetime(2026, 3, 2, 15, tzinfo=UTC)
    end = datetime(2026, 3, 2, 17, tzinfo=UTC)
    assert WorkingCalendar().working_minutes(start, end) == 0
    assert WorkingCalendar(tz="UTC").working_minutes(start, end) == 60
    # Sun 23:00 -> Mon 00:00 UTC = Mon 07:00 -> 08:00 WITA (UTC+8)
    #   -> (07:30 -> 08:00) = 30,
    # but = Mon 06:00 -> 07:00 WIB (UTC+7): before opening, 0
    early_start = datetime(2026, 3, 1, 23, tzinfo=UTC)
    early_end = datetime(2026, 3, 2, 0, tzinfo=UTC)
    assert WorkingCalendar(tz="Asia/Makassar").working_minutes(early_start, early_end) == 30
    assert WorkingCalendar().working_minutes(early_start, early_end) == 0


def test_naive_datetimes_are_refused(cal: WorkingCalendar) -> None:
    naive = datetime(2026, 3, 2, 9, 0)
    aware = wib(MON_2_MAR, 10)
    with pytest.raises(ValueError, match="start is a naive datetime"):
        cal.working_minutes(naive, aware)
    with pytest.raises(ValueError, match="end is a naive datetime"):
        cal.working_minutes(aware, naive)
    with pytest.raises(ValueError, match="start is a naive datetime"):
        cal.add_working_minutes(naive, 10)


# ------------------------------------------------------------------ add_working_minutes


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        # Mon 08:00 + 135 = 10:15
        (wib(MON_2_MAR, 8), 135, wib(MON_2_MAR, 10, 15)),
        # Mon 11:00 + 120 = 60 until 12:00, break, 60 more -> 14:00
        (wib(MON_2_MAR, 11), 120, wib(MON_2_MAR, 14)),
        # Fri 11:00 + 30 = 11:30: due exactly when the Friday break starts
        (wib(FRI_6_MAR, 11), 30, wib(FRI_6_MAR, 11, 30)),
        # Fri 11:00 + 31 = 30 until 11:30, break until 13:00, 1 more -> 13:01
        (wib(FRI_6_MAR, 11), 31, wib(FRI_6_MAR, 13, 1)),
        # Saturday 10:00 + 30: counting starts Mon 07:30 -> Mon 08:00
        (wib(SAT_7_MAR, 10), 30, wib(MON_9_MAR, 8)),
        # Mon 16:00 (closing time) + 30: counting starts Tue 07:30 -> Tue 08:00
        (wib(MON_2_MAR, 16), 30, wib(TUE_3_MAR, 8)),
        # Mon 16:00 + 0: counting would start at the next working moment, Tue 07:30
        (wib(MON_2_MAR, 16), 0, wib(TUE_3_MAR, 7, 30)),
        # Mon 09:00 + 0 = Mon 09:00 (already working time)
        (wib(MON_2_MAR, 9), 0, wib(MON_2_MAR, 9)),
        # Mon 15:00 + 60 = 16:00 on the same day, not Tue 07:30
        (wib(MON_2_MAR, 15), 60, wib(MON_2_MAR, 16)),
        # Fri 15:00 + 180 = 90 until 16:30 + weekend + 90 from Mon 07:30 -> Mon 09:00
        (wib(FRI_6_MAR, 15), 180, wib(MON_9_MAR, 9)),
        # The whole SOP, 1460 = 3 * 450 + 110, from Mon 07:30: three full days
        # (Mon, Tue, Wed) then Thu 07:30 + 110 = 09:20
        (wib(MON_2_MAR, 7, 30), 1460, wib(THU_5_MAR, 9, 20)),
    ],
)
def test_add_working_minutes(
    cal: WorkingCalendar, start: datetime, minutes: int, due: datetime
) -> None:
    result = cal.add_working_minutes(start, minutes)
    assert result == due
    assert result.tzinfo is UTC
    assert cal.working_minutes(start, result) == minutes


def test_add_working_minutes_crosses_a_national_holiday(cal: WorkingCalendar) -> None:
    fri = day(2026, 8, 14, FRI)
    tue = day(2026, 8, 18, TUE)
    # Fri 16:00 + 90 = 30 until 16:30, Sat, Sun, Mon 17 Aug off, Tue 07:30 + 60 -> 08:30
    assert cal.add_working_minutes(wib(fri, 16), 90) == wib(tue, 8, 30)


def test_add_working_minutes_accepts_utc_and_returns_utc(cal: WorkingCalendar) -> None:
    # 01:00 UTC = 08:00 WIB; + 135 = 10:15 WIB = 03:15 UTC
    due = cal.add_working_minutes(datetime(2026, 3, 2, 1, tzinfo=UTC), 135)
    assert due == datetime(2026, 3, 2, 3, 15, tzinfo=UTC)
    assert (due.tzinfo, due.hour, due.minute) == (UTC, 3, 15)


def test_add_working_minutes_refuses_impossible_requests(cal: WorkingCalendar) -> None:
    with pytest.raises(ValueError, match="negative"):
        cal.add_working_minutes(wib(MON_2_MAR, 9), -1)
    no_week = WorkingCalendar(week={}, national_holidays=False, extra_work=[SAT_7_MAR])
    # Only the extra Saturday works (Monday's hours): Mon 09:00 + 60 -> Sat 08:30
    assert no_week.add_working_minutes(wib(MON_2_MAR, 9), 60) == wib(SAT_7_MAR, 8, 30)
    # ... and after that Saturday there is no working day at all
    with pytest.raises(ValueError, match="no working day"):
        no_week.add_working_minutes(wib(SAT_7_MAR, 9), 450)


def test_add_and_count_round_trip_on_many_spans() -> None:
    cal = WorkingCalendar(extra_off=[CUTI_BERSAMA_IMLEK], extra_work=[SAT_7_MAR])
    rng = random.Random(20260302)
    base = wib(day(2026, 2, 9, MON), 0)
    for _ in range(300):
        start = base + timedelta(seconds=rng.randrange(40 * 24 * 3600))
        minutes = rng.randrange(0, 3 * MINUTES_PER_DAY)
        due = cal.add_working_minutes(start, minutes)
        assert due >= start
        assert cal.working_minutes(start, due) == minutes
        if minutes:
            # Minimal: one second earlier, a whole minute is not yet complete
            assert cal.working_minutes(start, due - timedelta(seconds=1)) == minutes - 1


_NATIONAL_2026 = frozenset(holidays.country_holidays("ID", years=2026))


def _reference_minutes(
    start: datetime, end: datetime, extra_off: set[date], extra_work: set[date]
) -> int:
    """Count working minutes one by one: slow, obviously right, only for short spans."""
    national = _NATIONAL_2026
    count = 0
    moment = start
    while moment < end:
        local = moment.astimezone(WIB)
        d, t = local.date(), local.time()
        working_day = d in extra_work or (
            d not in extra_off and d not in national and d.weekday() < 5
        )
        if d.weekday() == FRI:
            periods = [(time(7, 30), time(11, 30)), (time(13), time(16, 30))]
        else:  # Mon-Thu, and an extra working Saturday/Sunday (Monday's hours)
            periods = [(time(7, 30), time(12)), (time(13), time(16))]
        if working_day and any(a <= t < b for a, b in periods):
            count += 1
        moment += timedelta(minutes=1)
    return count


def test_matches_a_minute_by_minute_reference() -> None:
    extra_off = {CUTI_BERSAMA_IMLEK}
    extra_work = {day(2026, 2, 21, SAT)}
    cal = WorkingCalendar(extra_off=extra_off, extra_work=extra_work)
    rng = random.Random(17)
    base = datetime(2026, 2, 12, tzinfo=UTC)  # Thu 12 Feb .. about Tue 24 Feb
    for _ in range(60):
        start = base + timedelta(minutes=rng.randrange(10 * 24 * 60))
        end = start + timedelta(minutes=rng.randrange(3 * 24 * 60))
        expected = _reference_minutes(start, end, extra_off, extra_work)
        assert cal.working_minutes(start, end) == expected, (start, end)


# ------------------------------------------------------------------ from the database


@pytest.fixture
def engine() -> Iterator[sqlalchemy.Engine]:
    """A fresh in-memory SQLite database with the application's tables."""
    engine = sqlalchemy.create_engine("sqlite://")
    models.Base.metadata.create_all(engine)
    yield engine
    engine.dispose()


def _session_with_days(
    engine: sqlalchemy.Engine, *rows: tuple[date, str, str]
) -> tuple[Session, list[str]]:
    """A session holding ``calendar_day`` rows, and the list of SQL issued after."""
    with Session(engine) as setup:
        for on, kind, description in rows:
            setup.add(models.CalendarDay(day=on, kind=kind, description=description))
        setup.commit()
    statements: list[str] = []
    event.listen(
        engine,
        "before_cursor_execute",
        lambda conn, cursor, statement, *args: statements.append(statement),
    )
    return Session(engine), statements


def test_from_session_loads_the_week_and_the_exceptions_with_two_selects(
    engine: sqlalchemy.Engine,
) -> None:
    session, statements = _session_with_days(
        engine,
        (CUTI_BERSAMA_IMLEK, "off", "Cuti bersama Tahun Baru Imlek"),
        (SAT_7_MAR, "work", "Sabtu masuk kerja"),
    )
    with session:
        cal = WorkingCalendar.from_session(session)
    assert len(statements) == 2  # the office hours (none here: the default week), the days
    assert all(s.lstrip().upper().startswith("SELECT") for s in statements)
    assert cal.week == DEFAULT_WEEK
    assert cal.extra_off == {CUTI_BERSAMA_IMLEK}
    assert cal.extra_work == {SAT_7_MAR}
    assert not cal.is_working_day(CUTI_BERSAMA_IMLEK)
    assert cal.hours_for(SAT_7_MAR) == DEFAULT_WEEK[MON]
    assert cal.tz.key == "Asia/Jakarta"


def test_composite_history_of_steps(engine: sqlalchemy.Engine) -> None:
    """A dossier's steps across a Friday break, weekend, cuti bersama and holiday."""
    session, _ = _session_with_days(
        engine,
        (CUTI_BERSAMA_IMLEK, "off", "Cuti bersama Tahun Baru Imlek"),
    )
    with session:
        cal = WorkingCalendar.from_session(session)
    thu = day(2026, 2, 12, THU)
    fri = day(2026, 2, 13, FRI)
    wed = day(2026, 2, 18, WED)
    assert IMLEK in holidays.country_holidays("ID", years=2026)
    # Step history as the workflow stores it: UTC instants (WIB - 7 h).
    history = [
        # (step, standard minutes, became current, finished, hand-calculated minutes)
        # 1: Thu 09:00 -> 09:10 = 10
        (1, 10, wib(thu, 9), wib(thu, 9, 10), 10),
        # 2: Thu 09:10 -> 13:30 = (09:10 -> 12:00) 170 + break
        #    + (13:00 -> 13:30) 30 = 200
        (2, 20, wib(thu, 9, 10), wib(thu, 13, 30), 200),
        # 3: Thu 13:30 -> Fri 14:00 = Thu (13:30 -> 16:00) 150
        #    + Fri (07:30 -> 11:30) 240 + Friday break + (13:00 -> 14:00) 60 = 450
        (3, 450, wib(thu, 13, 30), wib(fri, 14), 450),
        # 4: Fri 14:00 -> Wed 10:00 = Fri (14:00 -> 16:30) 150 + Sat 0 + Sun 0
        #    + Mon 16 Feb (cuti bersama) 0 + Tue 17 Feb (Imlek) 0
        #    + Wed (07:30 -> 10:00) 150 = 300
        (4, 450, wib(fri, 14), wib(wed, 10), 300),
        # 5: Wed 10:00 -> 10:30 = 30
        (5, 30, wib(wed, 10), wib(wed, 10, 30), 30),
    ]
    total = 0
    for step, _standard, began, finished, expected in history:
        taken = cal.working_minutes(began.astimezone(UTC), finished.astimezone(UTC))
        assert taken == expected, f"step {step}"
        total += taken
    # 10 + 200 + 450 + 300 + 30 = 990
    assert total == 990
    # Whole span at once gives the same: Thu 09:00 -> Wed 10:30 = 990
    assert cal.working_minutes(wib(thu, 9), wib(wed, 10, 30)) == 990
    # If the cuti bersama Monday were a working day, step 4 would take 300 + 450 = 750
    assert WorkingCalendar().working_minutes(wib(fri, 14), wib(wed, 10)) == 750

    # Which steps were late? Due = became current + standard minutes.
    late = [
        step
        for step, standard, began, finished, _ in history
        if finished > cal.add_working_minutes(began, standard)
    ]
    # Step 2 took 200 > 20; step 3 took exactly 450 (on time); the rest are within.
    assert late == [2]
    # Step 4's due time: Fri 14:00 + 450 = Fri (14:00 -> 16:30) 150, then Sat, Sun,
    # Mon (cuti bersama), Tue (Imlek) off; Wed (07:30 -> 12:00) 270, 13:00 + 30 -> 13:30
    assert cal.add_working_minutes(wib(fri, 14), 450) == wib(wed, 13, 30)
