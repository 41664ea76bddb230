"""Stage 5: domain simulators, an in-memory database plus compiled tools per episode."""

from agentscaler.sim.simulator import CallError, DomainSimulator, Observation

__all__ = ["CallError", "DomainSimulator", "Observation"]
