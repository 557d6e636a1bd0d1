"""The fault suite's parts: a controllable TCP proxy, the stack of real processes, traffic, counts, scenarios."""
