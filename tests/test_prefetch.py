"""helpers.prefetch: which neighbours a panel computes ahead, in which order, and that a stale schedule is dropped."""

import io

import matplotlib

matplotlib.use("Agg")

import pytest  # noqa: E402

from helpers import plots, prefetch, widgets  # noqa: E402


class FakeLoop:
    """Stands in for the kernel's event loop: callbacks run only when the test says so."""

    def __init__(self):
        self.queue = []

    def call_later(self, delay, callback, *args):
        self.queue.append((callback, args))

    def add_callback(self, callback, *args):
        self.queue.append((callback, args))

    def run(self):
        while self.queue:
            callback, args = self.queue.pop(0)
            callback(*args)


def test_cache_key_treats_float_rounding_as_the_same_setting():
    assert prefetch.cache_key({"noise": 0.2 + 0.05}) == prefetch.cache_key({"noise": 0.25})
    assert prefetch.cache_key({"lr": 10 ** -2.25}) == prefetch.cache_key({"lr": 0.005623413251903491})
    assert prefetch.cache_key({"noise": 0.25}) != prefetch.cache_key({"noise": 0.3})
    assert prefetch.cache_key({"b": 1, "a": "x"}) == (("a", "x"), ("b", 1))


def test_neighbours_moved_control_first_in_its_direction_and_clamped():
    controls = {"width": widgets.int_slider("w", 1, 64, 1, 64), "noise": widgets.float_slider("n", 0.0, 0.5, 0.05, 0.2),
                "act": widgets.choice("a", ["relu", "tanh", "sigmoid"], "relu")}
    changes = prefetch.neighbours(controls, moved="noise", direction=-1)
    assert changes[0] == {"noise": 0.15} and changes[1] == {"noise": 0.25}
    assert {"width": 63} in changes and not any(c.get("width") == 65 for c in changes)  # at its maximum
    assert {"act": "tanh"} in changes and len([c for c in changes if "act" in c]) == 1  # no option before the first


def test_neighbours_of_a_log_slider_step_its_exponent():
    controls = {"lr": widgets.log_slider("lr", 1e-4, 1.0, 1e-2, steps_per_decade=4)}
    values = sorted(c["lr"] for c in prefetch.neighbours(controls))
    assert values == pytest.approx([10 ** -2.25, 10 ** -1.75])


def test_prefetcher_computes_one_neighbour_per_turn_and_drops_a_stale_schedule():
    store, calls = {}, []
    fetcher = prefetch.Prefetcher(compute=lambda kw: calls.append(kw) or kw["x"] * 10,
                                  store=store.__setitem__, cached=lambda key: key in store)
    fetcher.loop, fetcher.enabled = FakeLoop(), True
    fetcher.schedule({"x": 1}, [{"x": 2}, {"x": 0}], compute_seconds=0.1)
    assert fetcher.loop.queue == []  # nothing before the picture is rendered
    fetcher.start()
    for _ in range(2):  # add_callback, then call_later: one compute
        callback, args = fetcher.loop.queue.pop(0)
        callback(*args)
    assert calls == [{"x": 2}] and len(fetcher.loop.queue) == 1  # one compute, the next one queued
    fetcher.schedule({"x": 5}, [{"x": 6}], compute_seconds=0.1)  # the learner moved: the old queue is stale
    fetcher.start()
    fetcher.loop.run()
    assert calls == [{"x": 2}, {"x": 6}]
    assert store[prefetch.cache_key({"x": 6})] == 60 and prefetch.cache_key({"x": 6}) in fetcher.keys


def test_prefetcher_skips_slow_panels_and_is_off_outside_a_kernel():
    fetcher = prefetch.Prefetcher(compute=lambda kw: 0, store=lambda k, v: None, cached=lambda k: False)
    assert not fetcher.enabled  # pytest is not a kernel
    fetcher.loop, fetcher.enabled = FakeLoop(), True
    fetcher.schedule({"x": 1}, [{"x": 2}], compute_seconds=prefetch.MAX_COMPUTE_S + 1)
    fetcher.start()
    assert fetcher.loop.queue == []


def test_a_panel_move_to_a_prefetched_neighbour_is_not_computed_again():
    calls = []

    def compute(width, seed):
        calls.append(width)
        return [width, width * 2]

    fig, ax = plots.figure(ncols=1)
    line, = ax.plot([0, 1], [0, 0])
    panel = widgets.LivePanel(compute=compute, draw=lambda r, width: line.set_ydata(r), fig=fig,
                              controls={"width": widgets.int_slider("w", 1, 8, 1, 4)})
    panel.prefetcher.loop, panel.prefetcher.enabled = FakeLoop(), True
    panel.controls["width"].value = 5  # a move up: 6 is the likeliest next setting, then 4 (cached already)
    assert calls == [4, 5]
    fig.savefig(io.BytesIO(), format="png")  # the picture is rendered: its draw_event starts the neighbours
    panel.prefetcher.loop.run()
    assert calls == [4, 5, 6]
    panel.controls["width"].value = 6
    assert calls == [4, 5, 6]
    assert "computed ahead" in panel.status.value
    assert list(line.get_ydata()) == [6, 12]


def test_results_computed_ahead_and_not_used_are_dropped_at_the_next_move():
    store = {}
    fetcher = prefetch.Prefetcher(compute=lambda kw: kw["x"], store=store.__setitem__,
                                  cached=lambda key: key in store, discard=lambda key: store.pop(key, None))
    fetcher.loop, fetcher.enabled = FakeLoop(), True
    fetcher.schedule({"x": 1}, [{"x": x} for x in range(2, 2 + prefetch.MAX_AHEAD + 3)], compute_seconds=0.1)
    fetcher.start()
    fetcher.loop.run()
    assert len(store) == prefetch.MAX_AHEAD  # at most MAX_AHEAD per move
    moved_to = prefetch.cache_key({"x": 2})
    fetcher.used(moved_to)  # the learner moved there: it stays
    fetcher.schedule({"x": 2}, [], compute_seconds=0.1)
    assert list(store) == [moved_to]
