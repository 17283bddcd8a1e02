# The stateful venue-edge service on Cloud Run.
#
# Exactly one instance (min 1 = max 1): it holds the long-lived venue sessions (ccxt REST with its
# rate-limit budget, WebSocket streams for fills and market data), the execution-algorithm
# scheduler and the periodic reconciliation. Those are per-process state tied to the venue API keys:
# a second instance would open second sessions on the same keys (sharing rate limits and nonces)
# and run every TWAP/VWAP/Iceberg schedule twice. Scaling to zero would drop the WebSockets and stop
# the scheduler between requests, so the CPU is always allocated (not only during requests).
#
# max-instances 1 is set on the service as well as the revision, but Cloud Run may still run two
# instances for a while (a rollout overlaps revisions; the limit can briefly be exceeded). That is
# made safe in the code, not here: the edge trades only while it holds the fenced `venue-edge`
# lease in Firestore (stateful/edge/lease.ts); the other instance waits in STANDBY (its /readyz
# answers 200 "standby" so the rollout completes and the old instance gets its SIGTERM).
#
# Egress: every packet leaves through the VPC (Direct VPC egress, no connector) and Cloud NAT with
# a reserved static address (modules/network), the one address to whitelist on venue API keys.

resource "google_cloud_run_v2_service" "service" {
  project             = var.project_id
  location            = var.region
  name                = var.name
  ingress             = var.ingress
  deletion_protection = var.deletion_protection
  labels              = var.labels

  # Service-level cap, over every revision (the template's cap is per revision).
  scaling {
    max_instance_count = var.max_instances
  }

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

    dynamic "vpc_access" {
      for_each = var.vpc_egress == null ? [] : [var.vpc_egress]
      content {
        egress = "ALL_TRAFFIC"
        network_interfaces {
          network    = vpc_access.value.network
          subnetwork = vpc_access.value.subnetwork
        }
      }
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

      # Started once /readyz answers 200: the lease is held and the venue sessions are connected,
      # or the edge waits in STANDBY for the lease (stateful/observability/probes.ts).
      startup_probe {
        http_get {
          path = var.startup_path
          port = var.port
        }
        initial_delay_seconds = 0
        period_seconds        = 5
        timeout_seconds       = 3
        failure_threshold     = 24
      }

      # /healthz fails only when the process cannot serve, or lost the venue-edge lease for good.
      liveness_probe {
        http_get {
          path = var.liveness_path
          port = var.port
        }
        period_seconds    = 15
        timeout_seconds   = 5
        failure_threshold = 3
      }
    }

    # Google Cloud Managed Service for Prometheus: scrapes the service's /metrics (port 8080) every
    # 30 s into Cloud Monitoring, where the dashboard and the venue-session alert query it with PromQL.
    dynamic "containers" {
      for_each = var.prometheus_sidecar_image == null ? [] : [var.prometheus_sidecar_image]
      content {
        name       = "prometheus"
        image      = containers.value
        depends_on = [var.name]
        resources {
          limits = {
            cpu    = "0.25"
            memory = "256Mi"
          }
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
