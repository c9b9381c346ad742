"""What the benchmarks share: the stack's processes (`stack`), the throw-away database
(`db`), the test data (`cases`), the open-loop client (`client`), the simulated institutions
(`simulator`), CPU and memory read from /proc (`cpu`) and BENCHMARKS.md (`report`)."""
