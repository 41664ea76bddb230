"""What every stage's settings share: a pydantic model that rejects keys it does not know, loaded from a
YAML file with command-line values on top.

A misspelt key in a job's YAML (``tua: 0.8``) must be an error, not a run at the default that looks
like the one asked for; torchtune's ``tune validate`` and TRL's configs hold the same line.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict

C = TypeVar("C", bound=BaseModel)


class StrictConfig(BaseModel):
    """Base of every stage's config: unknown keys are an error."""

    model_config = ConfigDict(extra="forbid")


def read_config_file(path: str | Path | None) -> dict[str, Any]:
    """A YAML (or JSON) mapping of settings; {} for no file."""
    if path is None:
        return {}
    data = yaml.safe_load(Path(path).read_text())
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a mapping of settings, not a {type(data).__name__}")
    return data


def load_config(model: type[C], path: str | Path | None = None, overrides: dict[str, Any] | None = None,
                assignments: list[str] | None = None) -> C:
    """``model`` from its defaults, then the file at ``path``, then ``overrides`` (None values are not
    given), then ``assignments``: ``"section.key=value"`` strings, the value read as YAML."""
    data = read_config_file(path)
    data.update({k: v for k, v in (overrides or {}).items() if v is not None})
    for assignment in assignments or []:
        dotted, sep, text = assignment.partition("=")
        if not sep or not dotted.strip():
            raise ValueError(f"{assignment!r} is not KEY=VALUE (a dotted key: graph.tau=0.8)")
        *sections, key = dotted.strip().split(".")
        target = data
        for section in sections:
            target = target.setdefault(section, {})
            if not isinstance(target, dict):
                raise ValueError(f"{assignment!r}: {section} is not a section")
        target[key] = yaml.safe_load(text)
    return model.model_validate(data)
