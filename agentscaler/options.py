"""CLI verbs whose flags come from a stage's config model, so a setting, its default and its help are
written once (on the model) and every setting can be given as a flag or in ``--config FILE``.

    @config_command(TaskConfig)
    def tasks_command(config: TaskConfig, run: Path = typer.Option(..., "--run")) -> None: ...

gives ``agentscaler tasks --run DIR [--per-domain N] ... [--config FILE]``; flags override the file,
which overrides the model's defaults. Fields that are themselves models or mappings are set through
the file only.
"""

from __future__ import annotations

import functools
import inspect
import types
import typing
from pathlib import Path
from typing import Any, Callable, Literal, Optional

import typer
from pydantic import BaseModel, ValidationError

from agentscaler.configs import load_config

_SCALARS = (int, float, str, bool, Path)


def config_command(model: type[BaseModel], *, skip: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Decorate a verb that takes ``config: model``: the verb typer sees takes a flag per field instead (but
    ``skip``), plus ``--config FILE``, and builds the config from them (see the module docstring)."""

    def decorate(function: Callable) -> Callable:
        hints = typing.get_type_hints(function)
        own = [p.replace(annotation=hints.get(p.name, p.annotation))
               for p in inspect.signature(function).parameters.values() if p.name != "config"]
        flags = {name: flag for name, info in model.model_fields.items()
                 if name not in skip and (flag := _flag(name, info)) is not None}
        clash = set(flags) & {p.name for p in own} | ({"config_file"} & set(flags))
        if clash:
            raise TypeError(f"{function.__name__}: parameters {sorted(clash)} are also fields of {model.__name__}")
        file_option = inspect.Parameter(
            "config_file", inspect.Parameter.KEYWORD_ONLY, annotation=Optional[Path],
            default=typer.Option(None, "--config", exists=True, dir_okay=False,
                                 help=f"YAML file of {model.__name__} settings; flags given override it."))

        @functools.wraps(function)
        def command(**kwargs: Any) -> Any:
            values = {name: kwargs.pop(name) for name in flags}
            try:
                config = load_config(model, kwargs.pop("config_file"), values)
            except (ValidationError, ValueError) as e:
                raise typer.BadParameter(str(e)) from None
            return function(config=config, **kwargs)

        parameters = [*own, *flags.values(), file_option]
        command.__signature__ = inspect.Signature(parameters)
        command.__annotations__ = {p.name: p.annotation for p in parameters}
        del command.__wrapped__  # typer must see the signature above, not the function's own
        return command

    return decorate


def _flag(name: str, info) -> inspect.Parameter | None:
    """The option for one field (None: a field only a config file can set)."""
    kind, choices = _cli_type(info.annotation)
    if kind is None:
        return None
    option = "--" + name.replace("_", "-")
    if kind is bool:
        option = f"{option}/--no-{name.replace('_', '-')}"
    shown = "(required)" if info.is_required() else f"(default: {info.get_default(call_default_factory=True)})"
    help_text = " ".join(filter(None, [info.description, f"One of: {', '.join(map(str, choices))}." if choices else "",
                                       shown]))
    return inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=Optional[kind],
                             default=typer.Option(None, option, help=help_text, show_default=False))


def _cli_type(annotation: Any) -> tuple[Any, tuple]:
    """(the type typer parses a field's flag as, the allowed values of a Literal); (None, ()) when no flag fits."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _cli_type(args[0]) if len(args) == 1 else (None, ())
    if origin is Literal:
        choices = typing.get_args(annotation)
        return (str if all(isinstance(c, str) for c in choices) else None), choices
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        return (list[item], ()) if item in _SCALARS else (None, ())
    return (annotation, ()) if annotation in _SCALARS else (None, ())
