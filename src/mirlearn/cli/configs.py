"""The ``configs`` command: list the packaged configurations, or print one."""

from __future__ import annotations

import argparse
from typing import Any

from mirlearn.cli import options


def cmd_configs(args: argparse.Namespace) -> int:
    """List the packaged configs, or print one."""
    from mirlearn.config import dump_toml, load_config, packaged_configs

    if args.name:
        cfg = load_config(args.name)  # an unknown name stops here, in one line
        if args.full or args.name not in packaged_configs():
            print(dump_toml(cfg), end="")
        else:
            print(packaged_config_text(args.name), end="")
        return 0
    for name in packaged_configs():
        print(f"{name:<30} {load_config(name).description}")
    return 0


def packaged_config_text(name: str) -> str:
    """A packaged configuration's file as shipped: its comments (every ``# reduction:``) kept."""
    from importlib import resources

    return (resources.files("mirlearn") / "configs" / f"{name}.toml").read_text(encoding="utf-8")


def register(sub: Any) -> None:
    """Add ``configs`` to the subcommands."""
    c = options.add_command(sub, "configs", help="list packaged configs, or print one",
                            description="List the packaged configurations with their descriptions, or print "
                            "one as TOML (a starting point for --config FILE): the file as shipped, with the "
                            "comments that name every reduction, or with --full every setting.",
                            example="mirlearn configs\nmirlearn configs sigtia2014-relu-dropout-500 > my.toml")
    c.add_argument("name", nargs="?", help="a packaged config (or a TOML file) to print")
    c.add_argument("--full", action="store_true", help="print every setting, defaults included, without the "
                   "file's comments (default: the packaged file as shipped, with its comments)")
    c.set_defaults(func=cmd_configs)
