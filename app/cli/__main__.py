"""`python -m app.cli`: how the runner and the multi-process worker start a child."""

from app.cli import main

main()
