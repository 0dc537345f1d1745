"""Headless Chromium for page tests: Debian's chromium driven by Playwright, kept off the internet."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit
from weakref import WeakKeyDictionary

from playwright.sync_api import Page, Request, Route, sync_playwright

CHROMIUM = Path(os.environ.get("AGRIMAP_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass
class PageLog:
    """What a page asked for and what went wrong, recorded by ``browser_page``."""

    requested: list[str] = field(default_factory=list)
    blocked: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)


_LOGS: WeakKeyDictionary[Page, PageLog] = WeakKeyDictionary()


def chromium_available() -> bool:
    """True when Chromium is installed; Playwright's own browsers are never used."""
    return CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)


def is_local(url: str) -> bool:
    """True for URLs a test may fetch: our own server on the loopback, or inline data."""
    parts = urlsplit(url)
    if parts.scheme in {"data", "blob", "about"}:
        return True
    return parts.hostname in LOCAL_HOSTS


def page_log(page: Page) -> PageLog:
    """The requests, blocked requests and errors seen by a page from ``browser_page``."""
    return _LOGS[page]


def _guard(log: PageLog):
    def route(route: Route, request: Request) -> None:
        if is_local(request.url):
            route.continue_()
        else:
            log.blocked.append(request.url)
            route.abort("blockedbyclient")

    return route


@contextmanager
def browser_page(*, width: int = 1280, height: int = 800, mobile: bool = False) -> Iterator[Page]:
    """A page in a fresh headless Chromium profile; only 127.0.0.1/localhost is reachable.

    ``mobile`` emulates a phone (touch, device scale 2). Use ``page_log(page)`` to see what
    the page requested and which requests were blocked.
    """
    profile = tempfile.mkdtemp(prefix="agrimap-chromium-")
    try:
        with sync_playwright() as playwright:
            # A persistent context is the only way Playwright accepts our own user-data-dir.
            context = playwright.chromium.launch_persistent_context(
                profile,
                executable_path=str(CHROMIUM),
                headless=True,
                args=list(CHROMIUM_ARGS),
                viewport={"width": width, "height": height},
                is_mobile=mobile,
                has_touch=mobile,
                device_scale_factor=2 if mobile else 1,
                locale="vi-VN",
                service_workers="block",
            )
            try:
                log = PageLog()
                context.route("**/*", _guard(log))
                page = context.pages[0] if context.pages else context.new_page()
                page.on("request", lambda request: log.requested.append(request.url))
                page.on("pageerror", lambda error: log.page_errors.append(str(error)))
                page.on(
                    "console",
                    lambda msg: (
                        log.console_errors.append(msg.text) if msg.type == "error" else None
                    ),
                )
                _LOGS[page] = log
                yield page
            finally:
                context.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)


def screenshot(page: Page, path: Path, timeout: float | None = None) -> Path:
    """Save what the viewport shows as PNG at ``path`` (parent folders made); returns it.
    ``timeout`` (ms): Playwright's own (30 s) when None."""
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), timeout=timeout)
    return path


_RENDER_STATS_JS = """
() => {
  const q = (sel) => Array.from(document.querySelectorAll(sel));
  const canvases = q(".leaflet-pane canvas");
  let painted = 0;
  for (const canvas of canvases) {
    if (!canvas.width || !canvas.height) continue;
    const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) painted++;
  }
  // Features drawn on canvas leave no DOM node: ask Leaflet, when the page exposes its map.
  let canvasFeatures = null, canvasAreas = null, canvasPoints = null;
  const map = window.agrimapMap;
  if (map && window.L) {
    canvasFeatures = canvasAreas = canvasPoints = 0;
    map.eachLayer((layer) => {
      if (!(layer instanceof L.Path && layer._renderer instanceof L.Canvas)) return;
      canvasFeatures++;
      if (layer instanceof L.CircleMarker) canvasPoints++;
      else if (layer instanceof L.Polyline) canvasAreas++;
    });
  }
  const tiles = q("img.leaflet-tile");
  const legend = document.querySelector(".agrimap-legend, .legend, .leaflet-control .legend");
  const visible = (el) => !!el && !el.hidden && el.getClientRects().length > 0;
  const notices = document.getElementById("agrimap-notices");
  return {
    svg_paths: q(".leaflet-overlay-pane svg path, .leaflet-pane svg path.leaflet-interactive").length,
    canvases: canvases.length,
    canvas_painted_pixels: painted,
    canvas_features: canvasFeatures,
    canvas_areas: canvasAreas,
    canvas_points: canvasPoints,
    markers: q(".leaflet-marker-pane .leaflet-marker-icon").length,
    legend: visible(legend),
    legend_text: legend ? legend.innerText : "",
    layer_control_text: (document.querySelector(".leaflet-control-layers") || {}).innerText || "",
    tiles: tiles.length,
    tiles_loaded: tiles.filter((t) => t.complete && t.naturalWidth > 0).length,
    tile_errors: tiles.filter((t) => t.complete && t.naturalWidth === 0).length,
    notices: visible(notices) ? notices.innerText : "",
  };
}
"""


def map_render_stats(page: Page) -> dict:
    """What Leaflet drew, read from the page.

    Keys: ``svg_paths``; ``canvases`` and ``canvas_painted_pixels`` (non-transparent pixels);
    ``canvas_features`` / ``canvas_areas`` (polylines, polygons) / ``canvas_points`` (circle
    markers), counted through ``window.agrimapMap`` since canvas features leave no DOM node
    (None when the page does not expose its map); ``markers`` (icon markers); ``legend``
    (visible) and ``legend_text``; ``layer_control_text``; ``tiles``, ``tiles_loaded``,
    ``tile_errors``; ``notices`` (text of visible notices, else "").
    """
    return page.evaluate(_RENDER_STATS_JS)
