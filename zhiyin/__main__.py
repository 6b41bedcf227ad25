"""zhiyin's operator commands: a customer's personal data (zhiyin.privacy).

    python -m zhiyin privacy forget --phone 13812345678 [--operator NAME]
    python -m zhiyin privacy forget --sender SENDER_ID
    python -m zhiyin privacy export --phone 13812345678 [--out FILE]
    python -m zhiyin privacy purge [--dry-run]          # daily: the retention periods
    python -m zhiyin privacy rotate-key [--key KEY]     # a new data key, everything re-encrypted
    python -m zhiyin privacy rotate-key --retire        # drop the older keys

Every command takes --database-url (else DATABASE_URL) and --tracker-url (else TRACKER_DB_URL,
or TRACKER_DB_DIALECT and TRACKER_DB as in endpoints.yml), and upgrades the database schema
first. Exit status 2: the request could not be carried out as asked.
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from typing import List, Optional


def _operator() -> Optional[str]:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no user name in a bare container
        return None


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m zhiyin", description=__doc__.splitlines()[0])
    areas = parser.add_subparsers(dest="area", required=True)
    privacy = areas.add_parser("privacy", help="forget, export, purge, rotate the data keys")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--database-url", help="the business database (default: DATABASE_URL)")
    common.add_argument("--tracker-url", help="the tracker store (default: TRACKER_DB_URL, TRACKER_DB…)")
    common.add_argument("--operator", default=_operator(), help="who asks, for the audit log (default: $USER)")
    commands = privacy.add_subparsers(dest="command", required=True)

    def customer(command: argparse.ArgumentParser) -> None:
        who = command.add_mutually_exclusive_group(required=True)
        who.add_argument("--phone", help="the customer's mobile number")
        who.add_argument("--sender", help="the conversation's sender id")

    forget = commands.add_parser("forget", parents=[common], help="delete a customer's conversations and data")
    customer(forget)
    export = commands.add_parser("export", parents=[common], help="a customer's data as JSON")
    customer(export)
    export.add_argument("--out", help="write to this file (readable by its owner only), not stdout")
    purge = commands.add_parser("purge", parents=[common], help="delete what is past its retention period")
    purge.add_argument("--dry-run", action="store_true", help="only count")
    rotate = commands.add_parser("rotate-key", parents=[common], help="a new data key; or --retire the old ones")
    rotate.add_argument("--retire", action="store_true", help="drop every key but the newest")
    rotate.add_argument("--key", help="the new key (with ZHIYIN_DATA_KEYS: its first key, once set everywhere)")
    return parser


def _write_private(path: str, text: str) -> None:
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


def privacy(args: argparse.Namespace) -> int:
    from zhiyin import privacy as service
    from zhiyin.db import get_engine
    from zhiyin.migrate import upgrade
    from zhiyin.tracker_events import tracker_engine

    engine = get_engine(args.database_url) if args.database_url else get_engine()
    tracker = tracker_engine(args.tracker_url)
    upgrade(engine)
    operator = args.operator
    if args.command == "forget":
        forgotten = service.forget(engine, tracker, phone=args.phone, sender=args.sender, operator=operator)
        print(
            f"forgotten: {forgotten.conversations} conversations ({forgotten.events} events) deleted, "
            f"{forgotten.tickets} tickets anonymised ({forgotten.notes} notes erased), "
            f"{forgotten.agent_messages} agent messages and {forgotten.verifications} verifications deleted, "
            f"{forgotten.redacted} quotes of the number redacted elsewhere"
        )
        if not forgotten.compacted:
            print("warning: a SQLite file was busy and not compacted; run the command again when idle")
    elif args.command == "export":
        data = service.export(engine, tracker, phone=args.phone, sender=args.sender, operator=operator)
        text = service.export_json(data)
        if args.out:
            _write_private(args.out, text)
            print(
                f"exported {len(data['tickets'])} tickets, {len(data['conversations'])} conversations and "
                f"{len(data['agent_messages'])} agent messages to {args.out}"
            )
        else:
            sys.stdout.write(text)
    elif args.command == "purge":
        purged = service.purge(engine, tracker, dry_run=args.dry_run, operator=operator)
        verb = "would delete" if purged.dry_run else "deleted"
        print(
            f"{verb}: {purged.conversations} conversations ({purged.events} events); "
            f"{purged.tickets} tickets anonymised ({purged.notes} notes, {purged.agent_messages} agent messages); "
            f"{purged.order_verifications} order verifications, {purged.verification_failures} failed "
            f"verifications, {purged.login_failures} failed logins"
        )
    elif args.retire:
        if args.key:
            raise service.PrivacyError("--retire takes no --key")
        retired = service.retire_keys(engine, tracker, operator=operator)
        print(f"checked {retired.checked} stored values: all open with the newest key ({retired.plain} unencrypted)")
        if retired.source == "environment":
            print(f"set ZHIYIN_DATA_KEYS={retired.keys_value} for every server and restart them")
        else:
            print(f"retired {retired.retired} keys from the key file; restart the servers")
    else:
        rotated = service.rotate_key(engine, tracker, key=args.key, operator=operator)
        if not rotated.reencrypted:
            print(
                "new data key generated; nothing changed yet. Set, for every server and for this command:\n"
                f"  ZHIYIN_DATA_KEYS={rotated.keys_value}\n"
                "restart the servers, then run: python -m zhiyin privacy rotate-key --key NEW_KEY "
                "(the first of the list) to re-encrypt"
            )
        else:
            counts = ", ".join(f"{name} {count}" for name, count in rotated.counts.items())
            print(f"re-encrypted under the new key: {counts}")
            if rotated.source == "file":
                print("new key added to the key file; restart the servers so they read it")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    from zhiyin.crypto import UndecryptableData
    from zhiyin.privacy import PrivacyError

    try:
        args = _parser().parse_args(argv)
    except SystemExit as stop:  # --help, or a usage error argparse has explained
        return stop.code if isinstance(stop.code, int) else 2
    try:
        return privacy(args)
    except PrivacyError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except UndecryptableData as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
