# The audit trail that cannot be rewritten (docs/security.md#audit-trail): the platform publishes
# every order event, fill and trading-state change, hash-chained per order, to the `audit.records`
# topic; a Pub/Sub Cloud Storage subscription writes them, newline-separated, into a bucket whose
# retention policy is LOCKED — no one, project owners and the service itself included, can delete
# or overwrite an object before it is `retention_days` old, and the lock cannot be undone.
# `npm run audit -- verify --day YYYY-MM-DD --dir gs://<bucket>/audit` checks a day's chain.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  pubsub_agent = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-pubsub.iam.gserviceaccount.com"
}

resource "google_storage_bucket" "audit" {
  project                     = var.project_id
  name                        = var.bucket_name
  location                    = var.location
  storage_class               = "STANDARD"
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  force_destroy               = false
  labels                      = var.labels

  # A retention policy and object versioning do not go together; the policy is the protection.
  retention_policy {
    retention_period = var.retention_days * 86400
    is_locked        = var.retention_locked
  }

  lifecycle_rule {
    action {
      type = "Delete"
    }
    condition {
      age = var.retention_days + 1
    }
  }
}

resource "google_pubsub_topic" "records" {
  project                    = var.project_id
  name                       = var.topic
  labels                     = var.labels
  message_retention_duration = "604800s"
}

# Pub/Sub's service agent writes the objects: create only (no delete, no overwrite) and read the
# bucket's metadata, as the Cloud Storage subscription requires.
resource "google_storage_bucket_iam_member" "agent_creator" {
  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.objectCreator"
  member = local.pubsub_agent
}

resource "google_storage_bucket_iam_member" "agent_reader" {
  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.legacyBucketReader"
  member = local.pubsub_agent
}

resource "google_pubsub_subscription" "archive" {
  project = var.project_id
  name    = "${var.topic}.archive"
  topic   = google_pubsub_topic.records.id
  labels  = var.labels

  ack_deadline_seconds       = 300
  message_retention_duration = "604800s"
  expiration_policy {
    ttl = ""
  }

  cloud_storage_config {
    bucket                   = google_storage_bucket.audit.name
    filename_prefix          = "${var.prefix}/"
    filename_suffix          = ".jsonl"
    filename_datetime_format = "YYYY-MM-DD/hh_mm_ssZ"
    max_duration             = var.max_file_duration
    max_bytes                = var.max_file_bytes
  }

  depends_on = [
    google_storage_bucket_iam_member.agent_creator,
    google_storage_bucket_iam_member.agent_reader,
  ]
}

# Workloads that write orders or trading states publish their records; they cannot read or
# change the bucket.
resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = var.publishers

  project = var.project_id
  topic   = google_pubsub_topic.records.name
  role    = "roles/pubsub.publisher"
  member  = each.value
}

# Auditors read (and verify) the trail; nobody is given delete.
resource "google_storage_bucket_iam_member" "reader" {
  for_each = var.readers

  bucket = google_storage_bucket.audit.name
  role   = "roles/storage.objectViewer"
  member = each.value
}
