"""Drawing on the registration page in headless Chromium, as an officer does: squares in
lon/lat, their screen points at a zoom, polygon clicks confirmed vertex by vertex."""

from __future__ import annotations

from playwright.sync_api import TimeoutError as PlaywrightTimeout

SIDE_M = 80  # a field of 80 m × 80 m, 0.64 ha
DRAW_ZOOM = 17  # about 1.1 m a pixel at 22° N: the field is ~70 px wide on screen


def square(lon: float, lat: float, side_m: float = SIDE_M) -> list[list[float]]:
    """Four corners of a square of ``side_m`` around (lon, lat), counter-clockwise."""
    dlat = side_m / 2 / 110_574
    dlon = side_m / 2 / (111_320 * 0.9248)  # cos 22.36°
    return [
        [lon - dlon, lat - dlat],
        [lon + dlon, lat - dlat],
        [lon + dlon, lat + dlat],
        [lon - dlon, lat + dlat],
    ]


def screen_points(page, corners: list[list[float]]) -> list[list[float]]:
    """Centre the map on the corners at DRAW_ZOOM; their page coordinates.

    Also checks, with the features the page loaded, that no registered area's box touches them:
    the spot must be empty on the officer's screen, not only in the database.
    """
    return page.evaluate(
        """([corners, zoom]) => {
          const map = agrimapRegister.map;
          const bounds = L.latLngBounds(corners.map(([lon, lat]) => [lat, lon]));
          map.setView(bounds.getCenter(), zoom, { animate: false });
          agrimapRegister.existing.eachLayer((layer) => {
            if (layer.getBounds().intersects(bounds)) {
              throw new Error("the spot touches " + layer.feature.properties.code);
            }
          });
          const box = map.getContainer().getBoundingClientRect();
          return corners.map(([lon, lat]) => {
            const p = map.latLngToContainerPoint([lat, lon]);
            return [box.left + p.x, box.top + p.y];
          });
        }""",
        [corners, DRAW_ZOOM],
    )


def draw(page, points: list[list[float]]) -> None:
    page.click(".leaflet-draw-draw-polygon")
    # Count the vertices Leaflet.draw takes: on a busy machine a click can be swallowed (it
    # ignores clicks closer than 50 ms together), so each one is confirmed, and repeated once.
    page.evaluate(
        "window.agrimapVertices = 0;"
        "agrimapRegister.map.on(L.Draw.Event.DRAWVERTEX, () => { window.agrimapVertices += 1; })"
    )
    for n, (x, y) in enumerate(points, start=1):
        for _attempt in range(2):
            page.mouse.move(x, y, steps=3)
            page.mouse.click(x, y)
            try:
                page.wait_for_function(f"window.agrimapVertices >= {n}", timeout=2_000)
                break
            except PlaywrightTimeout:
                continue
        page.wait_for_timeout(120)
    for _attempt in range(2):
        page.mouse.move(*points[0], steps=3)
        page.mouse.click(*points[0])
        try:
            page.wait_for_function("agrimapRegister.drawnLayer() !== null", timeout=5_000)
            return
        except PlaywrightTimeout:
            continue
    page.wait_for_function("agrimapRegister.drawnLayer() !== null", timeout=1_000)


def wait_checked(page) -> dict:
    page.wait_for_function("document.body.dataset.checkState === 'done'", timeout=15_000)
    return page.evaluate("agrimapRegister.lastCheck")
