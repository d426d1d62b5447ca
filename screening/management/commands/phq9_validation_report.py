from pathlib import Path

from django.core.management.base import BaseCommand

from screening.reports.html import render
from screening.reports.services import validation_report_content


class Command(BaseCommand):
    help = "Does the voice score track PHQ-9? Write the validation report as JSON, HTML or CSV (the pairs)."

    def add_arguments(self, parser):
        parser.add_argument("--format", choices=["json", "html", "csv"], default="html")
        parser.add_argument("--out", required=True, help="File to write ('-' for standard output)")
        parser.add_argument("--bootstrap", type=int, default=2000, help="Patient-level bootstrap resamples")

    def handle(self, *args, format: str, out: str, bootstrap: int, **options):
        text = render(validation_report_content(n_bootstrap=bootstrap), format)
        if out == "-":
            self.stdout.write(text)
            return
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(text)
        self.stderr.write(f"wrote {format} report to {out}")
