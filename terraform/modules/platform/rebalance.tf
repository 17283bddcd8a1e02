# Rebalancing (docs/rebalancing.md): the `rebalance-trigger` Cloud Function, triggered by Eventarc on
# the Cloud Storage object-finalize events of the data bucket. Kept apart from the Pub/Sub-triggered
# functions of modules/catalog and modules/functions: it has no trigger topic and no push
# subscription. The function filters on `rebalance.weights_prefix` itself (Eventarc can only filter
# on the bucket), plans, and publishes order instructions to `orders.requests`.
#
# Identities: `fn-rebalance-trigger` runs the function (Firestore, the data bucket: reads weights
# files and daily bars, writes rebalance records under `portfolio/`; publishes to orders.requests);
# `ev-rebalance-trigger` is Eventarc's identity delivering events (run.invoker on the function,
# eventarc.eventReceiver). Cloud Storage's service agent publishes the bucket's events
# (pubsub.publisher), as every Cloud Storage trigger needs.

variable "rebalance_trigger_max_instances" {
  description = "Most instances of rebalance-trigger (a rebalance is a few orders; events are rare)."
  type        = number
  default     = 5
}

locals {
  rebalance_trigger_name    = "rebalance-trigger"
  rebalance_trigger_enabled = fileexists("${path.module}/../../../functions/rebalance-trigger/index.ts")
}

data "google_storage_project_service_account" "gcs_agent" {
  project = var.project_id
}

resource "google_service_account" "rebalance_trigger" {
  count        = local.rebalance_trigger_enabled ? 1 : 0
  project      = var.project_id
  account_id   = "fn-rebalance-trigger"
  display_name = "Function rebalance-trigger"
  description  = "Runs rebalance-trigger: weights file -> plan -> orders.requests."
}

resource "google_service_account" "rebalance_trigger_events" {
  count        = local.rebalance_trigger_enabled ? 1 : 0
  project      = var.project_id
  account_id   = "ev-rebalance-trigger"
  display_name = "Eventarc rebalance-trigger"
  description  = "Delivers the data bucket's object-finalize events to rebalance-trigger."
}

resource "google_project_iam_member" "rebalance_trigger_firestore" {
  count   = local.rebalance_trigger_enabled ? 1 : 0
  project = var.project_id
  role    = "roles/datastore.user"
  member  = "serviceAccount:${google_service_account.rebalance_trigger[0].email}"
  condition {
    title       = local.firestore_condition.title
    description = local.firestore_condition.description
    expression  = local.firestore_condition.expression
  }
}

resource "google_storage_bucket_iam_member" "rebalance_trigger_data" {
  count  = local.rebalance_trigger_enabled ? 1 : 0
  bucket = module.storage.names["data"]
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.rebalance_trigger[0].email}"
}

resource "google_pubsub_topic_iam_member" "rebalance_trigger_orders" {
  count   = local.rebalance_trigger_enabled ? 1 : 0
  project = var.project_id
  topic   = "orders.requests"
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${google_service_account.rebalance_trigger[0].email}"

  depends_on = [module.pubsub]
}

resource "google_secret_manager_secret_iam_member" "rebalance_trigger_config" {
  count     = local.rebalance_trigger_enabled ? 1 : 0
  project   = var.project_id
  secret_id = module.secrets.config_secret_id
  role      = "roles/secretmanager.secretAccessor"
  member    = "serviceAccount:${google_service_account.rebalance_trigger[0].email}"
}

resource "google_project_iam_member" "rebalance_trigger_event_receiver" {
  count   = local.rebalance_trigger_enabled ? 1 : 0
  project = var.project_id
  role    = "roles/eventarc.eventReceiver"
  member  = "serviceAccount:${google_service_account.rebalance_trigger_events[0].email}"
}

resource "google_project_iam_member" "gcs_agent_publisher" {
  count   = local.rebalance_trigger_enabled ? 1 : 0
  project = var.project_id
  role    = "roles/pubsub.publisher"
  member  = "serviceAccount:${data.google_storage_project_service_account.gcs_agent.email_address}"
}

resource "google_cloudfunctions2_function" "rebalance_trigger" {
  count       = local.rebalance_trigger_enabled ? 1 : 0
  project     = var.project_id
  location    = var.region
  name        = local.rebalance_trigger_name
  description = "Weights files in the data bucket: plan the rebalance, publish its orders to orders.requests."
  labels      = local.labels

  build_config {
    runtime     = "nodejs20"
    entry_point = local.rebalance_trigger_name
    source {
      storage_source {
        bucket = module.storage.names["sources"]
        object = module.functions.source_object
      }
    }
    environment_variables = {
      NPM_CONFIG_OMIT = "dev"
    }
    service_account   = "projects/${var.project_id}/serviceAccounts/${module.iam.emails[local.build_account]}"
    docker_repository = module.artifact_registry.id
  }

  service_config {
    available_memory               = "256Mi"
    timeout_seconds                = 120
    max_instance_count             = var.rebalance_trigger_max_instances
    service_account_email          = google_service_account.rebalance_trigger[0].email
    ingress_settings               = "ALLOW_INTERNAL_ONLY"
    all_traffic_on_latest_revision = true
    environment_variables = merge(local.environment, {
      NODE_OPTIONS  = "--max-old-space-size=128"
      EXEC_CONFIG   = "/etc/exec/config.json"
      EXEC_FUNCTION = local.rebalance_trigger_name
    })
    secret_volumes {
      mount_path = "/etc/exec"
      project_id = var.project_id
      secret     = module.secrets.config_secret_id
      versions {
        version = module.secrets.config_version
        path    = "config.json"
      }
    }
  }

  event_trigger {
    trigger_region        = var.region
    event_type            = "google.cloud.storage.object.v1.finalized"
    retry_policy          = "RETRY_POLICY_RETRY"
    service_account_email = google_service_account.rebalance_trigger_events[0].email
    event_filters {
      attribute = "bucket"
      value     = module.storage.names["data"]
    }
  }

  depends_on = [
    google_project_iam_member.rebalance_trigger_event_receiver,
    google_project_iam_member.gcs_agent_publisher,
    google_storage_bucket_iam_member.rebalance_trigger_data,
    google_secret_manager_secret_iam_member.rebalance_trigger_config,
  ]
}

resource "google_cloud_run_v2_service_iam_member" "rebalance_trigger_invoker" {
  count    = local.rebalance_trigger_enabled ? 1 : 0
  project  = var.project_id
  location = var.region
  name     = google_cloudfunctions2_function.rebalance_trigger[0].name
  role     = "roles/run.invoker"
  member   = "serviceAccount:${google_service_account.rebalance_trigger_events[0].email}"
}

# `rebalance-complete` (a Pub/Sub-triggered function of the catalog, on exec.orders) writes the
# actual state of each completed rebalance under the state prefix of the data bucket
# (`rebalance.state_prefix`, default `portfolio`): object user there and nowhere else. The catalog
# gives it Firestore (orders, portfolio_state, nav_snapshots, rebalance_completions) and read access
# to the data bucket (rebalance records, locators, daily bars).
locals {
  rebalance_complete_fn      = "rebalance-complete"
  rebalance_complete_enabled = contains(keys(local.functions), local.rebalance_complete_fn)
  rebalance_state_prefix     = try(local.exec_config.rebalance.state_prefix, "portfolio")
}

resource "google_storage_bucket_iam_member" "rebalance_complete_state" {
  count  = local.rebalance_complete_enabled ? 1 : 0
  bucket = module.storage.names["data"]
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${module.iam.emails["fn-${local.rebalance_complete_fn}"]}"
  condition {
    title       = "rebalance-state-prefix-only"
    description = "Write only the rebalance state (actual state, records) under the state prefix."
    expression  = "resource.name.startsWith(\"projects/_/buckets/${local.data_bucket}/objects/${local.rebalance_state_prefix}/\")"
  }
}

# The daily NAV snapshot of rebalanced portfolios: Cloud Scheduler publishes one message a day to
# `rebalance.daily`, which the catalog's `rebalance-nav` function consumes (push subscription
# `rebalance-nav.rebalance.daily`). Snapshots are dated at the UTC day start, so a retry or a
# second message the same day rewrites the same snapshot. Cloud Scheduler publishes as its service
# agent (it holds the publisher role by default).
variable "rebalance_nav_schedule" {
  description = "When rebalance-nav takes the daily NAV snapshot (cron, UTC)."
  type        = string
  default     = "5 0 * * *"
}

locals {
  rebalance_nav_fn      = "rebalance-nav"
  rebalance_nav_enabled = contains(keys(local.functions), local.rebalance_nav_fn)
}

resource "google_project_service" "rebalance_scheduler" {
  count              = local.rebalance_nav_enabled ? 1 : 0
  project            = var.project_id
  service            = "cloudscheduler.googleapis.com"
  disable_on_destroy = false
}

resource "google_cloud_scheduler_job" "rebalance_nav_daily" {
  count       = local.rebalance_nav_enabled ? 1 : 0
  project     = var.project_id
  region      = var.region
  name        = "rebalance-nav-daily"
  description = "Daily NAV snapshot of rebalanced portfolios (rebalance-nav)."
  schedule    = var.rebalance_nav_schedule
  time_zone   = "Etc/UTC"

  pubsub_target {
    topic_name = "projects/${var.project_id}/topics/rebalance.daily"
    data       = base64encode("{\"type\":\"nav_daily\"}")
  }

  depends_on = [module.pubsub, google_project_service.rebalance_scheduler]
}
