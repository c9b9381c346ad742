"""The benchmarks: thin scripts run as `python -m bench.<name>`, sharing `bench.support`."""
