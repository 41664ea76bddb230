"""Stage 3, domains: community detection on the tool graph, giants split, strays attached."""

from agentscaler.domains.build import build_domains, domain_tools
from agentscaler.domains.cli import domains_command
from agentscaler.domains.partition import DomainConfig, partition

__all__ = ["DomainConfig", "build_domains", "domain_tools", "domains_command", "partition"]
