"""``lodestone keys rotate|check``: the master key that protects the leads' personal data."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def _cmd_rotate(args: argparse.Namespace) -> int:
    from kernel.crypto import keyring_for_settings, master_key_problem, rotate
    from kernel.metadata.db import make_engine, make_session_factory
    from kernel.settings import get_settings

    settings = get_settings()
    problem = master_key_problem(settings)
    if problem:
        print(f"lodestone: {problem}", file=sys.stderr)
        return 2
    engine = make_engine(settings.resolved_metadata_url)
    try:
        with make_session_factory(engine, settings)() as session:
            n = rotate(session, keyring_for_settings(settings))
            session.commit()
    finally:
        engine.dispose()
    ring = keyring_for_settings(settings)
    print(f"re-wrapped {n} data key(s) under master key {ring.current_id}; once every "
          "process runs with this key, LODESTONE_MASTER_KEYS_OLD can be emptied")
    return 0


def _cmd_check(args: argparse.Namespace) -> int:
    from kernel.crypto import keyring_for_settings, master_key_problem
    from kernel.settings import get_settings

    settings = get_settings()
    problem = master_key_problem(settings)
    if problem:
        print(f"lodestone: {problem}", file=sys.stderr)
        return 2
    print(f"every data key opens; current master key {keyring_for_settings(settings).current_id}")
    return 0


def add_commands(sub: Any) -> None:
    keys = sub.add_parser("keys", help="master key: rotate (re-wrap data keys), check")
    ksub = keys.add_subparsers(dest="keys_command", required=True, metavar="ACTION")
    s = ksub.add_parser("rotate", help="re-wrap every data key under LODESTONE_MASTER_KEY "
                        "(old keys in LODESTONE_MASTER_KEYS_OLD); no downtime")
    s.set_defaults(func=_cmd_rotate)
    s = ksub.add_parser("check", help="verify that the master keys open every data key")
    s.set_defaults(func=_cmd_check)
