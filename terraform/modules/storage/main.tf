# Cloud Storage buckets: the data bucket (tick data, instrument definitions, signals and backtest
# results under their prefixes, as the configuration's single storage.bucket expects) and the
# function sources. Access is IAM only (uniform bucket-level access), never public.

resource "google_storage_bucket" "bucket" {
  for_each = var.buckets

  project                     = var.project_id
  name                        = each.value.name
  location                    = coalesce(each.value.location, var.location)
  storage_class               = each.value.storage_class
  force_destroy               = each.value.force_destroy
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  versioning {
    enabled = each.value.versioning
  }

  dynamic "lifecycle_rule" {
    for_each = each.value.lifecycle_rules
    content {
      action {
        type          = lifecycle_rule.value.action
        storage_class = lifecycle_rule.value.storage_class
      }
      condition {
        age                = lifecycle_rule.value.age
        matches_prefix     = lifecycle_rule.value.matches_prefix
        num_newer_versions = lifecycle_rule.value.num_newer_versions
        with_state         = lifecycle_rule.value.with_state
      }
    }
  }
}
