locals {
  # Old-space cap per function memory size (about half, leaving room for buffers and the runtime).
  heap_mb_for_memory = {
    "256Mi" = 128
    "512Mi" = 256
    "1Gi"   = 512
    "2Gi"   = 1024
    "4Gi"   = 2048
  }
}

# Cloud Run functions (Cloud Functions 2nd gen), one per folder under functions/, all built from one
# source archive. Every function is an HTTP-triggered service reached only by its Pub/Sub push
# subscription (declared in the pubsub module as `<function>.<topic>`, see its main.tf for why not
# Eventarc); the push identity gets roles/run.invoker here and nothing else.

# The archive is named by its content hash: a new build makes a new object and so a new revision of
# every function; an unchanged tree makes no change at all.
resource "google_storage_bucket_object" "source" {
  bucket       = var.source_bucket
  name         = "functions/${filemd5(var.source_archive)}.zip"
  source       = var.source_archive
  content_type = "application/zip"
}

resource "google_cloudfunctions2_function" "function" {
  for_each = var.functions

  project     = var.project_id
  location    = var.region
  name        = each.key
  description = each.value.description
  labels      = var.labels

  build_config {
    runtime     = var.runtime
    entry_point = each.key
    source {
      storage_source {
        bucket = var.source_bucket
        object = google_storage_bucket_object.source.name
      }
    }
    # Production install: devDependencies (emulators, test tools) stay out of the image.
    environment_variables = {
      NPM_CONFIG_OMIT = "dev"
    }
    service_account   = var.build_service_account == null ? null : "projects/${var.project_id}/serviceAccounts/${var.build_service_account}"
    docker_repository = var.docker_repository
  }

  service_config {
    available_memory                 = each.value.memory
    available_cpu                    = each.value.cpu
    timeout_seconds                  = each.value.timeout_seconds
    min_instance_count               = each.value.min_instances
    max_instance_count               = each.value.max_instances
    max_instance_request_concurrency = each.value.concurrency
    service_account_email            = each.value.service_account_email
    ingress_settings                 = var.ingress
    all_traffic_on_latest_revision   = true

    environment_variables = merge(
      var.environment,
      # V8 grows its heap lazily up to its own default, past a small function's memory under a
      # burst (measured: 250-325 MiB RSS at 256Mi with ~56 MiB live); cap the old space at half.
      contains(keys(local.heap_mb_for_memory), each.value.memory) ? { NODE_OPTIONS = "--max-old-space-size=${local.heap_mb_for_memory[each.value.memory]}" } : {},
      var.config_secret == null ? {} : { EXEC_CONFIG = "${var.config_secret.mount_path}/config.json" },
      each.value.environment,
      { EXEC_FUNCTION = each.key },
    )

    dynamic "secret_environment_variables" {
      for_each = each.value.secret_environment
      content {
        key        = secret_environment_variables.key
        project_id = var.project_id
        secret     = secret_environment_variables.value.secret
        version    = secret_environment_variables.value.version
      }
    }

    dynamic "secret_volumes" {
      for_each = var.config_secret == null ? [] : [var.config_secret]
      content {
        mount_path = secret_volumes.value.mount_path
        project_id = var.project_id
        secret     = secret_volumes.value.secret
        versions {
          version = secret_volumes.value.version
          path    = "config.json"
        }
      }
    }
  }
}

# Only the function's push identity may invoke it (the Cloud Run service behind a 2nd gen function
# has the function's name).
resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.functions

  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.function[each.key].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${each.value.invoker_email}"
}
