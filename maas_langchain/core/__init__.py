"""Core services and domain: agents, pools, handoffs, audit, policy. Imports no framework."""
