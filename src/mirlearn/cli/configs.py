"""The ``configs`` command: list the packaged configurations, or print one."""

from __future__ import annotations

import argparse
from typing import Any

from mirlearn.cli import options


def cmd_configs(args: argparse.Namespace) -> int:
    """List the packaged configs, or print one."""
    from mirlearn.config import dump_toml, load_config, packaged_configs

    if args.name:
        print(dump_toml(load_config(args.name)), end="")
        return 0
    for name in packaged_configs():
        print(f"{name:<30} {load_config(name).description}")
    return 0


def register(sub: Any) -> None:
    """Add ``configs`` to the subcommands."""
    c = options.add_command(sub, "configs", help="list packaged configs, or print one",
                            description="List the packaged configurations with their descriptions, or print "
                            "one as TOML (a starting point for --config FILE).",
                            example="mirlearn configs\nmirlearn configs sigtia2014-relu-dropout-500 > my.toml")
    c.add_argument("name", nargs="?", help="a packaged config to print as TOML")
    c.set_defaults(func=cmd_configs)
