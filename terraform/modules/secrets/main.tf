# Secret Manager: the venue credentials (containers only) and the configuration file (with its
# content, which holds no credentials: docs/configuration.md requires ${VAR} for every secret field).

resource "google_secret_manager_secret" "secret" {
  for_each = var.secret_ids

  project   = var.project_id
  secret_id = each.key
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret" "config" {
  project   = var.project_id
  secret_id = var.config_secret_id
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "config" {
  secret      = google_secret_manager_secret.config.id
  secret_data = var.config_json

  lifecycle {
    # Checked before any workload is pointed at it.
    precondition {
      condition     = can(jsondecode(var.config_json))
      error_message = "The configuration file is not valid JSON."
    }
  }
}
