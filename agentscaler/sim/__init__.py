"""Stage 5: simulators at scale. Ray actors host the episodes of many domains' simulators
(``SimulatorPool``), and ``agentscaler play`` drives one simulator by hand or by pipe. The simulator
itself, ``envs.DomainSimulator``, is the environment's executable form."""

from agentscaler.sim.hosting import EpisodesLost, SimulatorPool, StepResult, domain_slot
from agentscaler.sim.hosting_host import EpisodeHost
from agentscaler.sim.play import play_command

__all__ = ["EpisodeHost", "EpisodesLost", "SimulatorPool", "StepResult", "domain_slot", "play_command"]
