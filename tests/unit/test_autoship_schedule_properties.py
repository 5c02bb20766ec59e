"""The schedule's invariants (docs/autoship.md), held over random sequences of customer actions
and daily runs, on the pure schedule: the same functions the service and the daily run apply.

A day of the simulation: the customer may act before or after the day's run; the run resumes a
pause that ends that day, then charges the subscription if its run is due."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from patronage.autoship.core import schedule
from patronage.autoship.core.schedule import (
    Frequency,
    Plan,
    first_run,
    next_after_run,
    one_cycle_after,
)
from patronage.errors import PatronageError

FIRST_DAY = date(2026, 1, 1)
#: The markets' last allowed days, as a company's markets table gives them.
LAST_DAYS = {"US": 28, "CA": 28, "GB": 28}

frequencies = st.one_of(
    st.builds(Frequency, st.just("monthly"), st.integers(1, 31)),
    st.builds(lambda w: Frequency("weeks", weeks=w), st.integers(1, 8)),
)
actions = st.one_of(
    st.tuples(st.sampled_from(["skip", "undo", "resume", "cancel", "restart"])),
    st.tuples(st.just("pause"), st.integers(0, 70)),
    st.tuples(st.just("change"), st.integers(1, 31)),
)
# (days to wait first, act after the day's run?, the action)
steps = st.lists(st.tuples(st.integers(0, 45), st.booleans(), actions), max_size=30)


@dataclass
class World:
    plan: Plan
    today: date = FIRST_DAY
    ran_today: bool = False
    deliveries: list[tuple[date, Frequency]] = field(default_factory=list)

    def run(self) -> None:
        """The day's run, as run_day applies the schedule."""
        day, plan = self.today, self.plan
        if plan.status == "paused" and plan.paused_until is not None \
                and plan.paused_until <= day:
            plan = schedule.resume(plan, plan.paused_until)
        if plan.status == "active" and plan.next_run <= day:
            # Runs happen every day, so a subscription is never overdue.
            assert plan.next_run == day
            self.deliveries.append((day, plan.frequency))
            plan = replace(plan, last_delivery=plan.next_run, next_run=next_after_run(
                plan.next_run, day, plan.frequency, plan.market, plan.last_days))
            assert plan.next_run > day
        self.plan, self.ran_today = plan, True

    def wait(self, days: int) -> None:
        for _ in range(days):
            if not self.ran_today:
                self.run()
            self.today, self.ran_today = self.today + timedelta(days=1), False

    def act(self, action: tuple[object, ...]) -> None:
        """The action as the service applies it (a cancelled autoship only restarts)."""
        plan, today, kind = self.plan, self.today, action[0]
        if plan.status == "cancelled" and kind != "restart":
            return
        try:
            if kind == "skip":
                after = schedule.skip(plan)
                assert after.next_run > plan.next_run and after.skipped == plan.next_run
            elif kind == "undo":
                after = schedule.undo_skip(plan, today)
                assert plan.skipped is not None and after.next_run == plan.skipped > today
            elif kind == "pause":
                assert isinstance(action[1], int)
                after = schedule.pause(plan, today + timedelta(days=action[1]), today)
                assert after.next_run == plan.next_run
            elif kind == "resume":
                after = schedule.resume(plan, today + timedelta(days=1))
                assert after.next_run >= plan.next_run
            elif kind == "change":
                assert isinstance(action[1], int)
                after = schedule.change_day(plan, action[1], today)
                if plan.skipped is not None:  # a skip survives a date change
                    assert after.next_run > plan.skipped
                if plan.frequency.kind == "monthly":  # it moves within or after that month
                    assert (after.next_run.year, after.next_run.month) >= (
                        plan.next_run.year, plan.next_run.month)
            elif kind == "cancel":
                after = schedule.cancel(plan)
            else:
                after = schedule.restart(plan, today)
        except PatronageError:
            return  # refused: nothing changed
        if after.status == "active" and kind != "pause":
            # Whatever the customer does, the next delivery is after today: a run that may
            # already have happened today is never brought back.
            assert after.next_run > today
        self.plan = after


@settings(max_examples=200, deadline=None)
@given(frequencies, st.sampled_from(["US", "DE", None]), steps)
def test_any_sequence_of_actions_keeps_the_schedules_promises(
        frequency: Frequency, market: str | None,
        sequence: list[tuple[int, bool, tuple[object, ...]]]) -> None:
    world = World(Plan(frequency, market, first_run(FIRST_DAY, frequency, market, LAST_DAYS),
                       last_days=LAST_DAYS))
    for wait, after_run, action in sequence:
        world.wait(wait)
        if after_run and not world.ran_today:
            world.run()
        world.act(action)
    world.wait(400)  # long enough for what was planned to happen
    days = [d for d, _ in world.deliveries]
    # No two deliveries closer than the frequency (a day, weeks × 7 days, or a calendar month).
    for (before, _), (after, frequency_then) in zip(world.deliveries, world.deliveries[1:],
                                                    strict=False):
        assert after >= one_cycle_after(before, frequency_then), (before, after)
    assert len(days) == len(set(days))
    # Monthly runs keep to the market's last allowed day.
    cap = LAST_DAYS.get(market or "", 31)
    assert all(d.day <= cap for d, f in world.deliveries if f.kind == "monthly")
    # An active subscription keeps being delivered; a cancelled or paused one is not late.
    if world.plan.status == "active":
        assert world.plan.next_run > world.today - timedelta(days=1)
