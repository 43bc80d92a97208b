"""Progress lines inside a long epoch (common.progress)."""
from common.progress import StepProgress, duration


def run_epoch(step_seconds: float, steps: int, interval_s: float = 30.0) -> list:
    clock = [0.0]
    lines = []
    progress = StepProgress(2, 20, steps, interval_s=interval_s, clock=lambda: clock[0],
                            out=lambda text, flush: lines.append(text))
    for done in range(1, steps + 1):
        clock[0] += step_seconds
        progress.step(done, lambda: 1.5)
    return lines


def test_a_long_epoch_prints_a_line_every_interval_with_the_time_left():
    lines = run_epoch(step_seconds=2.0, steps=100)  # 200 s: lines at 30, 60, ... 180 s, none at the end
    assert len(lines) == 6
    assert lines[0] == ("  epoch 2/20: step 15/100 (15%), loss so far 1.5000, 2.00 s/step, "
                        "about 2 min 50 s left in this epoch")


def test_the_time_left_ignores_a_slow_first_step():
    clock = [0.0]
    lines = []
    progress = StepProgress(1, 1, 10, interval_s=30.0, clock=lambda: clock[0], out=lambda text, flush: lines.append(text))
    for done, seconds in enumerate([60.0, 5.0, 5.0, 5.0], start=1):  # step 1 traces the graph
        clock[0] += seconds
        progress.step(done)
    assert lines == ["  epoch 1/1: step 2/10 (20%), 5.00 s/step, about 40 s left in this epoch"]


def test_a_short_epoch_prints_nothing_extra():
    assert run_epoch(step_seconds=0.1, steps=200) == []  # 20 s < 30 s


def test_lines_never_look_like_the_per_epoch_line():
    assert all("epoch   2/20" not in line for line in run_epoch(step_seconds=2.0, steps=100))


def test_duration():
    assert [duration(s) for s in (5, 65, 3725)] == ["5 s", "1 min 05 s", "1 h 02 min"]
