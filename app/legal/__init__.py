"""The legal clock: renewals, freezes, releases, lapses and returns to victims."""
