"""``law-core config``: list all options, get one, or set one in the config file."""

from __future__ import annotations

import argparse

from law_core.config import SECRET_WORDS
from law_core.errors import ConfigError


def shown(option: str, value: str) -> str:
    if value and any(word in option.lower() for word in SECRET_WORDS):
        return "****"
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("key", nargs="?", metavar="SECTION.OPTION",
                        help="the option to get or set; omitted: list everything")
    parser.add_argument("value", nargs="?", help="the value to write into the config file")
    parser.add_argument("--origin", action="store_true",
                        help="also show where each value comes from")


def run(args: argparse.Namespace) -> int:
    from law_core.config import Config, config_file_candidates, get_config

    # setting may create the file $LAW_CORE_CONFIG names; reading needs it to exist
    config = Config.load(for_writing=True) if args.value is not None else get_config()
    if args.key is None:
        print(f"# config file: {config.path or 'none found; looked at ' + ', '.join(map(str, config_file_candidates()))}")  # noqa: E501
        for section in config.sections():
            print(f"[{section}]")
            for option in config.options(section):
                try:
                    value = shown(option, config.get(section, option, default=""))
                except ConfigError as err:  # an undefined variable: show it as written
                    value = f"{config._raw(section, option)}  # unresolved: {err}"
                origin = f"  # {config.origin(section, option)}" if args.origin else ""
                print(f"{option} = {value}{origin}")
            print()
        return 0
    section, sep, option = args.key.rpartition(".")
    if not sep or not section or not option:
        raise ConfigError(f"expected SECTION.OPTION, e.g. target.store, not {args.key!r}")
    if args.value is None:
        if not config.has(section, option):
            raise ConfigError(f"config option {section}.{option} is not set")
        print(config.get(section, option))
        if args.origin:
            print(f"# {config.origin(section, option)}")
        return 0
    path = config.set(section, option, args.value)
    print(f"{section}.{option} = {args.value}  (written to {path})")
    return 0
