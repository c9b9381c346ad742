"""A partner institution's own view: its instructions, callbacks and scorecard, nobody else's."""
