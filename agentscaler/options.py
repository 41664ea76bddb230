"""CLI flags generated from config fields, so a default and its help text are written once."""

from __future__ import annotations

import typer
from pydantic import BaseModel


def config_option(model: type[BaseModel], field: str) -> typer.models.OptionInfo:
    """A typer option whose default and help are ``model.field``'s own."""
    info = model.model_fields[field]
    return typer.Option(info.default, help=info.description)
