"""Command lines from typed dataclasses: each field is a documented `--dashed-flag`; errors are one clear line."""

from __future__ import annotations

import argparse
import dataclasses
import sys
import types
import typing
from typing import Any, Callable, Literal, get_args, get_origin, get_type_hints

from .errors import UserError


def option(help: str, default: Any = None, *, repeat: bool = False, choices: tuple | None = None, **kwargs: Any) -> Any:
    """A dataclass field that is also a documented command-line flag; `repeat`: the flag may be given many times
    (a list of strings); `choices`: the values it takes, from the tuple that defines them (never typed twice)."""
    return dataclasses.field(default=default, metadata={"help": help, "repeat": repeat, "choices": choices},
                             **kwargs)


def _unwrap_optional(tp: Any) -> Any:
    if get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in get_args(tp) if a is not type(None)]
        return args[0] if len(args) == 1 else str
    return tp


def _comma_list(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


class DefaultOnce(argparse.HelpFormatter):
    """Each option's default said once: by its own help where that names it (an environment variable, a rule that
    decides it), else as "(default: X)"; nothing for a switch that is off or an option without one (argparse's
    ArgumentDefaultsHelpFormatter printed "(default: None)" after help that had already said it)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if not action.option_strings or "default" in text.lower() or action.default in (None, False, argparse.SUPPRESS):
            return text
        return text + " (default: %(default)s)"


def parser_for(cls: type, description: str) -> argparse.ArgumentParser:
    """One flag per dataclass field; `metadata={"help": ...}` documents it, each default said once (DefaultOnce)."""
    parser = argparse.ArgumentParser(description=description, formatter_class=DefaultOnce)
    hints = get_type_hints(cls)
    for field in dataclasses.fields(cls):
        flag = "--" + field.name.replace("_", "-")
        tp = _unwrap_optional(hints[field.name])
        kwargs: dict[str, Any] = {"help": field.metadata.get("help", ""), "dest": field.name}
        default = field.default if field.default is not dataclasses.MISSING else None
        if tp is bool:
            # Flags that default to on get a --no-... form; the others are plain switches.
            action = argparse.BooleanOptionalAction if default else "store_true"
            parser.add_argument(flag, action=action, default=bool(default), **kwargs)
            continue
        if field.metadata.get("repeat"):
            parser.add_argument(flag, action="append", default=None, metavar="NAME=PATH", **kwargs)
            continue
        if field.metadata.get("choices"):
            kwargs["choices"] = list(field.metadata["choices"])
            kwargs["type"] = str
        elif get_origin(tp) is Literal:
            kwargs["choices"] = list(get_args(tp))
            kwargs["type"] = str
        elif tp is list or get_origin(tp) is list:  # `Optional[list]` unwraps to the bare `list`
            kwargs["type"] = _comma_list
            kwargs["metavar"] = "A,B,..."
        else:
            kwargs["type"] = tp
        parser.add_argument(flag, default=default, **kwargs)
    return parser


def parse(cls: type, argv: list[str] | None, description: str):
    """Parse and build the dataclass; a bad value its `__post_init__` finds is one `error:` line, exit status 2
    (argparse itself still answers malformed flags with the usage)."""
    parser = parser_for(cls, description)
    namespace = parser.parse_args(argv)
    try:
        return cls(**vars(namespace))
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def run(main: Callable[[list[str] | None], Any], argv: list[str] | None = None) -> int:
    """Run an entry point; a UserError prints `error: ...` (no traceback) and exits with status 2."""
    try:
        main(argv)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    return 0
