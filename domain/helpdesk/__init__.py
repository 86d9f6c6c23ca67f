"""The help desk (issue 15): tickets, their workflow and SLA, device swaps, and their KPIs."""
