"""The supervisors' dashboard: today's figures, the case queue, deadlines, escalations, live."""
