"""Trace slider moves end to end: where the time between a key press and the settled picture goes.

    python -m benchmarks.trace_move notebooks/00_start_here.ipynb [--control 0] [--moves 3]

Opens the notebook in JupyterLab in headless Chromium, Runs All, then installs timestamps on both sides, on one
clock (the browser's `performance.timeOrigin + performance.now()` and the kernel's `time.time()`, in ms since
the epoch, the same machine):

    browser                                   kernel
    key press / drop-down change
    websocket frames out and in  ------->     widget state set (the slider's new value)
      (message type and comm event decoded)   LivePanel.update: compute, draw (artists)
                                              canvas.draw_idle  (webagg asks the browser for a draw)
                                 <-------     ... browser answers "draw"
                                              canvas event "draw" -> Agg render -> PNG encode -> send image
    image blob arrives in ipympl
    paint (drawImage / putImageData)

and prints, per move, every stamp relative to the key press, and the gaps between them. Nothing here is a test.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from tests.browser.lab_server import CHROMIUM, CHROMIUM_FLAGS, start_lab, stop_lab

NB = ".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook"
SETTLE_MS = 600

BROWSER_STAMPS_JS = """
(() => {
  window.__trace = [];
  const T = (what, extra) =>
    window.__trace.push({t: performance.timeOrigin + performance.now(), what, ...(extra || {})});
  for (const name of ['drawImage', 'putImageData']) {
    const original = CanvasRenderingContext2D.prototype[name];
    CanvasRenderingContext2D.prototype[name] = function (...args) {
      T('browser: paint ' + name, {w: this.canvas.width, h: this.canvas.height});
      return original.apply(this, args);
    };
  }
  document.addEventListener('keydown', () => T('browser: key press'), true);
  document.addEventListener('change', (e) => {
    if (e.target && e.target.tagName === 'SELECT') T('browser: drop-down change');
  }, true);
  const createObjectURL = URL.createObjectURL;
  URL.createObjectURL = function (blob) {
    T('browser: image blob made (ipympl got the PNG)', {bytes: blob.size});
    return createObjectURL.call(URL, blob);
  };
  const describe = (data) => {
    let text = '';
    if (typeof data === 'string') text = data.slice(0, 4000);
    else {
      try { text = new TextDecoder('utf-8').decode(new Uint8Array(data).slice(0, 4000)); } catch (e) {}
    }
    const type = (text.match(/"msg_type":\\s*"(\\w+)"/) || [])[1] || '?';
    const state = (text.match(/"execution_state":\\s*"(\\w+)"/) || [])[1];
    const inner = (text.match(/\\\\?"type\\\\?":\\s*\\\\?"(\\w+)/) || [])[1];
    const method = (text.match(/"method":\\s*"(\\w+)"/) || [])[1];
    return type + (state ? ' ' + state : '') + (method ? ' ' + method : '')
      + (inner && type.startsWith('comm') ? ' ' + inner : '');
  };
  const Original = window.WebSocket;
  window.WebSocket = class extends Original {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (e) => {
        const size = typeof e.data === 'string' ? e.data.length : e.data.byteLength;
        T('ws in: ' + describe(e.data), {bytes: size});
      });
    }
    send(data) {
      const size = typeof data === 'string' ? data.length : (data.byteLength || 0);
      T('ws out: ' + describe(data), {bytes: size});
      return super.send(data);
    }
  };
})();
"""

KERNEL_STAMPS = '''
import json as _json, threading as _threading, time as _time
import ipywidgets as _W
import matplotlib.backends.backend_agg as _agg
import matplotlib.backends.backend_webagg_core as _core
from ipympl import backend_nbagg as _nb
from helpers import widgets as _widgets

_trace_file = open({path!r}, "a", buffering=1)


def _stamp(what, **extra):
    _trace_file.write(_json.dumps({{"t": _time.time() * 1000, "what": "kernel: " + what,
                                  "thread": _threading.current_thread().name, **extra}}) + "\\n")


def _wrap(owner, name, label, describe=None):
    original = getattr(owner, name)

    def wrapped(*args, **kwargs):
        extra = describe(*args, **kwargs) if describe else {{}}
        _stamp(label + " start", **extra)
        try:
            return original(*args, **kwargs)
        finally:
            _stamp(label + " end")
    setattr(owner, name, wrapped)


_wrap(_W.Widget, "set_state", "widget state set", lambda self, state: {{"keys": sorted(state)[:4]}})
_wrap(_widgets.LivePanel, "update", "LivePanel.update")
_wrap(_nb.Canvas, "draw_idle", "canvas.draw_idle")
_wrap(_core.FigureCanvasWebAggCore, "handle_event", "canvas event", lambda self, event: {{"type": event.get("type")}})
_wrap(_agg.FigureCanvasAgg, "draw", "Agg render")
_wrap(_core.FigureCanvasWebAggCore, "get_diff_image", "PNG encode")
_wrap(_nb.Canvas, "send_binary", "send image", lambda self, data: {{"bytes": len(data)}})


def _timed(f, label):
    def timed(*args, **kwargs):
        _stamp(label + " start")
        try:
            return f(*args, **kwargs)
        finally:
            _stamp(label + " end")
    return timed


for _panel in _widgets.LivePanel.live_instances():
    _panel.compute = _timed(_panel.compute, "compute")
    _panel.draw = _timed(_panel.draw, "draw (artists)")
print("trace hooks installed")
'''


def _idle(page) -> bool:
    text = page.inner_text("#jp-main-statusbar")
    return "| Idle" in text and "No Kernel" not in text


def _wait(predicate, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _controls(page):
    sliders = page.query_selector_all(f"{NB} .course-panel .widget-slider .noUi-handle")
    dropdowns = page.query_selector_all(f"{NB} .course-panel .widget-dropdown select")
    return [("slider", h) for h in sliders] + [("drop-down", s) for s in dropdowns]


def _move(page, kind, handle, step: int) -> None:
    handle.scroll_into_view_if_needed()
    if kind == "slider":
        now, top = handle.get_attribute("aria-valuenow"), handle.get_attribute("aria-valuemax")
        at_top = now is not None and top is not None and float(now) >= float(top)
        key = "ArrowLeft" if at_top or step % 2 else "ArrowRight"
        handle.focus()
        page.keyboard.press(key)
    else:
        options = handle.evaluate("s => Array.from(s.options).map(o => o.value)")
        handle.select_option(options[(options.index(handle.input_value()) + 1) % len(options)])


def _timeline(stamps: list[dict]) -> tuple[list[str], float | None]:
    start = next((s["t"] for s in stamps if s["what"] in ("browser: key press", "browser: drop-down change")), None)
    if start is None:
        return ["no key press recorded"], None
    lines, previous = [], start
    for s in stamps:
        if s["t"] < start - 1:
            continue
        extra = {k: v for k, v in s.items() if k not in ("t", "what")}
        lines.append(f"  {s['t'] - start:8.1f} ms  (+{s['t'] - previous:6.1f})  {s['what']}"
                     + (f"  {extra}" if extra else ""))
        previous = s["t"]
    paints = [s["t"] for s in stamps if s["what"].startswith("browser: paint")]
    return lines, (max(paints) - start if paints else None)


PARTS = {"compute": "kernel: compute", "draw": "kernel: draw (artists)", "render": "kernel: Agg render",
         "png": "kernel: PNG encode"}


def breakdown(stamps: list[dict]) -> dict[str, float] | None:
    """Where one move's time went, in ms: the sum of each kernel part's intervals after the key press (a prefetch
    compute that ran during the move counts: the move waited for it), and `other` = the latency left over
    (messages, the kernel's queue, the browser's decode and paint)."""
    start = next((s["t"] for s in stamps if s["what"] in ("browser: key press", "browser: drop-down change")), None)
    paints = [s["t"] for s in stamps if s["what"].startswith("browser: paint")]
    if start is None or not paints:
        return None
    parts = {}
    for name, prefix in PARTS.items():
        began, total = None, 0.0
        for s in stamps:
            if s["what"] == prefix + " start":
                began = max(s["t"], start)
            elif s["what"] == prefix + " end" and began is not None:
                total += max(0.0, min(s["t"], max(paints)) - began)
                began = None
        parts[name] = total
    parts["latency"] = max(paints) - start
    parts["other"] = parts["latency"] - sum(parts[name] for name in PARTS)
    return parts


def trace(notebook: Path, controls: list[int] | None, moves: int, out: Path | None) -> None:
    from playwright.sync_api import sync_playwright

    root = Path(tempfile.mkdtemp(prefix="trace-"))
    kernel_log = root / "kernel_trace.jsonl"
    lab = start_lab(root)
    copy = root / "notebooks" / notebook.name
    nb = nbformat.read(copy, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell(KERNEL_STAMPS.format(path=str(kernel_log))))
    nbformat.write(nb, copy)
    report = []
    try:
        with sync_playwright() as p:
            context = p.chromium.launch_persistent_context(
                str(root / "profile"), executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS,
                viewport={"width": 1400, "height": 1000})
            page = context.new_page()
            page.add_init_script(BROWSER_STAMPS_JS)
            page.goto(f"{lab['base']}/lab/workspaces/trace/tree/notebooks/{notebook.name}?reset")
            page.wait_for_selector(f"{NB} .jp-Cell", timeout=60_000)
            _wait(lambda: _idle(page), 90, "an idle kernel")
            page.click(".lm-MenuBar-itemLabel:text-is('Run')")
            page.click("li.lm-Menu-item[data-command='runmenu:run-all']")
            _wait(lambda: kernel_log.exists() or False, 240, "Run All (the trace cell)")
            time.sleep(1.0)
            _wait(lambda: _idle(page), 60, "an idle kernel after Run All")
            found = _controls(page)
            chosen = range(len(found)) if controls is None else controls
            latencies, breakdowns = [], []
            for index in chosen:
                kind, handle = found[index]
                label = handle.evaluate("h => (h.closest('.widget-slider, .widget-dropdown')"
                                        ".querySelector('.widget-label') || {}).textContent || '?'")
                for step in range(moves):
                    time.sleep(1.0)
                    kernel_log.write_text("")
                    page.evaluate("() => { window.__trace = []; }")
                    _move(page, kind, handle, step)
                    deadline = time.monotonic() + 10
                    while time.monotonic() < deadline:
                        time.sleep(0.1)
                        last = page.evaluate("() => { const p = window.__trace.filter(s => s.what.startsWith("
                                             "'browser: paint')); return [performance.timeOrigin + performance.now(),"
                                             " p.length ? p[p.length - 1].t : null]; }")
                        if last[1] is not None and last[0] - last[1] > SETTLE_MS and _idle(page):
                            break
                    stamps = page.evaluate("() => window.__trace")
                    stamps += [json.loads(line) for line in kernel_log.read_text().splitlines() if line.strip()]
                    stamps.sort(key=lambda s: s["t"])
                    lines, latency = _timeline(stamps)
                    parts = breakdown(stamps)
                    if parts:
                        lines.append("  breakdown (ms): " + ", ".join(f"{k} {v:.0f}" for k, v in parts.items()))
                        breakdowns.append(parts)
                    latencies.append(latency)
                    head = f"{notebook.name} control {index} ({kind} {label!r}) move {step + 1}: " + (
                        f"{latency:.0f} ms to the last paint" if latency is not None else "no paint")
                    report += [head, *lines, ""]
                    print("\n".join([head, *lines, ""]), flush=True)
            timed = [t for t in latencies if t is not None]
            if timed:
                summary = (f"{notebook.name}: {len(timed)} moves, median {statistics.median(timed):.0f} ms, "
                           f"max {max(timed):.0f} ms")
                if breakdowns:
                    summary += " | medians (ms): " + ", ".join(
                        f"{k} {statistics.median(b[k] for b in breakdowns):.0f}" for k in breakdowns[0])
                report.append(summary)
                print(summary)
            context.close()
    finally:
        stop_lab(lab)
    if out:
        out.write_text("\n".join(report) + "\n")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("notebook", type=Path)
    parser.add_argument("--control", type=int, action="append", help="index of a control (sliders, then drop-downs)")
    parser.add_argument("--moves", type=int, default=2, help="moves per control (alternating right/left)")
    parser.add_argument("--out", type=Path, help="also write the timelines to this file")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        sys.exit(f"needs Debian's Chromium at {CHROMIUM}")
    trace(args.notebook, args.control, args.moves, args.out)


if __name__ == "__main__":
    main()
