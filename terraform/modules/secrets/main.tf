# Secret Manager: the venue credentials (containers only) and the configuration file (with its
# content, which holds no credentials: docs/configuration.md requires ${VAR} for every secret field),
# twice: as written for the venue edge, and the functions' copy with every credential withheld.
#
# Venue credentials never pass through Terraform (or its state): the secrets are created empty
# here and their versions added by terraform/scripts/bootstrap-secrets.sh BEFORE any workload that
# reads them is deployed (docs/deploy.md "Secrets"); cloudbuild.yaml refuses to plan while a mapped
# secret has no enabled version.

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

resource "google_secret_manager_secret" "functions_config" {
  project   = var.project_id
  secret_id = var.functions_config_secret_id
  labels    = var.labels

  replication {
    auto {}
  }
}

resource "google_secret_manager_secret_version" "functions_config" {
  secret      = google_secret_manager_secret.functions_config.id
  secret_data = var.functions_config_json

  lifecycle {
    precondition {
      condition     = can(jsondecode(var.functions_config_json))
      error_message = "The functions' configuration is not valid JSON."
    }
    precondition {
      condition     = !can(regex("\\$\\{[A-Z0-9_]*(API_KEY|API_SECRET|PASSPHRASE)[A-Z0-9_]*\\}", var.functions_config_json))
      error_message = "The functions' configuration still references a venue credential variable."
    }
  }
}
