"""Print the event catalog (type, version, consumers), as text, JSON or one JSON Schema per file."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from identity_project.eventbus.catalog_view import catalog_entries


class Command(BaseCommand):
    help = "Print the event catalog; --json for machines, --json-schema DIR to export the schemas."

    def add_arguments(self, parser):
        parser.add_argument("--json", dest="as_json", action="store_true", help="a JSON list of the events")
        parser.add_argument(
            "--json-schema", metavar="DIR", help="write <type>.v<version>.json files into DIR"
        )

    def handle(self, *args, as_json: bool, json_schema: str | None, **options):
        if json_schema:
            entries = catalog_entries(newest_only=False)
            folder = Path(json_schema)
            folder.mkdir(parents=True, exist_ok=True)
            for entry in entries:
                path = folder / f"{entry['type']}.v{entry['version']}.json"
                path.write_text(_dumps(entry["schema"]) + "\n")
            self.stdout.write(f"wrote {len(entries)} schemas to {folder}")
            return
        entries = catalog_entries()
        if as_json:
            self.stdout.write(_dumps(entries))
        else:
            for entry in entries:
                consumers = ", ".join(entry["consumers"]) or "-"
                self.stdout.write(f"{entry['type']:<48} v{entry['version']}  {entry['name']:<32} {consumers}")
            self.stdout.write(f"{len(entries)} events")


def _dumps(value) -> str:
    return json.dumps(value, indent=2, sort_keys=False)
