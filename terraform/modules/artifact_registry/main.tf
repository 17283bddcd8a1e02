# The Docker repository for the venue-edge image (pushed by cloudbuild.yaml) and the functions'
# images (built by Cloud Functions). Old versions are cleaned up, the recent ones kept for rollbacks.

resource "google_artifact_registry_repository" "repository" {
  project       = var.project_id
  location      = var.region
  repository_id = var.repository_id
  format        = "DOCKER"
  description   = "Execution platform images"
  labels        = var.labels

  cleanup_policy_dry_run = false

  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_recent
    }
  }

  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "${var.delete_older_than_days * 86400}s"
    }
  }
}

resource "google_artifact_registry_repository_iam_member" "writer" {
  for_each = var.writers

  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.repository.name
  role       = "roles/artifactregistry.writer"
  member     = each.value
}
