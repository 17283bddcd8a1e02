# The stateful venue-edge service on Cloud Run.
#
# Exactly one instance (min 1 = max 1): it holds the long-lived venue sessions (ccxt REST with its
# rate-limit budget, WebSocket streams for fills and market data), the execution-algorithm
# scheduler and the periodic reconciliation. Those are per-process state tied to the venue API keys:
# a second instance would open second sessions on the same keys (sharing rate limits and nonces)
# and run every TWAP/VWAP/Iceberg schedule twice. Scaling to zero would drop the WebSockets and stop
# the scheduler between requests, so the CPU is always allocated (not only during requests).
#
# During a rollout the old revision's instance lives on for a short while beside the new one; the
# design tolerates that (client order ids are derived from operation ids, so a slice sent twice is
# one order at the venue; the subscriptions split messages between the two, never copy them).

resource "google_cloud_run_v2_service" "service" {
  project             = var.project_id
  location            = var.region
  name                = var.name
  ingress             = var.ingress
  deletion_protection = var.deletion_protection
  labels              = var.labels

  template {
    service_account                  = var.service_account_email
    execution_environment            = "EXECUTION_ENVIRONMENT_GEN2"
    max_instance_request_concurrency = var.concurrency
    timeout                          = var.request_timeout
    labels                           = var.labels

    scaling {
      min_instance_count = var.min_instances
      max_instance_count = var.max_instances
    }

    containers {
      name  = var.name
      image = var.image

      ports {
        name           = "http1"
        container_port = var.port
      }

      resources {
        limits = {
          cpu    = var.cpu
          memory = var.memory
        }
        cpu_idle          = false # CPU always allocated: sessions and scheduler run between requests
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = merge(
          var.environment,
          var.config_secret == null ? {} : { EXEC_CONFIG = "${var.config_secret.mount_path}/config.json" },
        )
        content {
          name  = env.key
          value = env.value
        }
      }

      dynamic "env" {
        for_each = var.secret_environment
        content {
          name = env.key
          value_source {
            secret_key_ref {
              secret  = env.value.secret
              version = env.value.version
            }
          }
        }
      }

      dynamic "volume_mounts" {
        for_each = var.config_secret == null ? [] : [var.config_secret]
        content {
          name       = "exec-config"
          mount_path = volume_mounts.value.mount_path
        }
      }

      # Ready once the HTTP server listens (start-up loads the config, reconciles and opens sessions).
      startup_probe {
        tcp_socket {
          port = var.port
        }
        initial_delay_seconds = 0
        period_seconds        = 5
        timeout_seconds       = 3
        failure_threshold     = 24
      }

      dynamic "liveness_probe" {
        for_each = var.liveness_path == null ? [] : [var.liveness_path]
        content {
          http_get {
            path = liveness_probe.value
            port = var.port
          }
          period_seconds    = 30
          timeout_seconds   = 5
          failure_threshold = 3
        }
      }
    }

    dynamic "volumes" {
      for_each = var.config_secret == null ? [] : [var.config_secret]
      content {
        name = "exec-config"
        secret {
          secret = volumes.value.secret
          items {
            version = volumes.value.version
            path    = "config.json"
            mode    = 292 # 0444
          }
        }
      }
    }
  }

  traffic {
    type    = "TRAFFIC_TARGET_ALLOCATION_TYPE_LATEST"
    percent = 100
  }

  lifecycle {
    # Set by gcloud when someone deploys by hand; not ours to fight over.
    ignore_changes = [client, client_version]
  }
}

resource "google_cloud_run_v2_service_iam_member" "invoker" {
  for_each = var.invokers

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.service.name
  role     = "roles/run.invoker"
  member   = each.value
}
