"""The JSON API: one router module per area, included by the app factory (app/main.py)."""
