"""python manage.py ensure_bucket — create the private S3 bucket for recordings if it does not exist."""

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = ("With CADENCE_STORAGE=s3, create the bucket AWS_STORAGE_BUCKET_NAME (private: no public policy or ACL) "
            "unless it exists. Idempotent; the compose stack runs it once before the other services start.")
    requires_system_checks = []  # the audio key check reads the bucket this command creates

    def handle(self, *args, **options) -> None:
        if settings.CADENCE_STORAGE != "s3":
            self.stdout.write("CADENCE_STORAGE is not s3: no bucket to create.")
            return
        client, bucket = default_storage.connection.meta.client, default_storage.bucket_name
        try:
            client.head_bucket(Bucket=bucket)
            self.stdout.write(f"Bucket {bucket} exists.")
            return
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket", "NotFound"):
                raise CommandError(f"Cannot reach bucket {bucket}: {exc.response['Error'].get('Message', exc)}") from None
        except BotoCoreError as exc:
            raise CommandError(f"Cannot reach the object store: {exc}") from None
        region = client.meta.region_name
        extra = ({"CreateBucketConfiguration": {"LocationConstraint": region}}
                 if region and region != "us-east-1" else {})
        client.create_bucket(Bucket=bucket, **extra)
        self.stdout.write(f"Bucket {bucket} created.")
