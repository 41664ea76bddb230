"""Stage 3, domains: community detection on the tool graph, giants split, strays attached."""

from agentscaler.domains.build import build_domains, domain_tools
from agentscaler.domains.partition import DomainConfig, partition

__all__ = ["DomainConfig", "build_domains", "domain_tools", "partition"]
