"""Side-by-side tile and feature benchmark of AgriMap and tipg (run bench/tiles.py)."""
