"""`make demo`: a scripted tour of the platform on the embedded defaults (demo/tour.py)."""
