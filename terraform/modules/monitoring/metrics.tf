# Where the numbers come from:
#
# - the venue edge's Prometheus metrics (stateful/edge/metrics.ts, drift/monitor.ts, served on
#   /metrics) are scraped by the Managed Service for Prometheus sidecar of the Cloud Run service
#   (modules/cloud_run `prometheus_sidecar`) and queried here with PromQL;
# - the functions' numbers are log-based metrics over the one JSON line each message ends with
#   (functions/shared/pubsub-function.ts: message = outcome, status, rejection_reason, duration_ms);
# - reconciliation differences, drift REDUCING switches and lease losses are log-based metrics over
#   the service's WARNING / ERROR lines, so they page even if the scrape stops;
# - Pub/Sub and Cloud Run's own metrics (dead letters, 5xx) come built in.

locals {
  function_services = join(" OR ", [for f in var.function_names : "resource.labels.service_name=\"${f}\""])
}

resource "google_logging_metric" "intake_outcomes" {
  project     = var.project_id
  name        = "exec/intake_outcomes"
  description = "Order instructions handled by order-intake, by outcome, order status and the rule that denied or rejected them."
  filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.function=\"order-intake\" AND jsonPayload.duration_ms>=0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key         = "outcome"
      value_type  = "STRING"
      description = "ack outcome (created, duplicate, ...), invalid, poison"
    }
    labels {
      key         = "status"
      value_type  = "STRING"
      description = "The order's status after intake (ROUTED, DENIED, REJECTED, ...)"
    }
    labels {
      key         = "rule"
      value_type  = "STRING"
      description = "The leading code of the rejection reason: the risk rule or check that refused the order"
    }
  }

  label_extractors = {
    outcome = "EXTRACT(jsonPayload.message)"
    status  = "EXTRACT(jsonPayload.status)"
    rule    = "REGEXP_EXTRACT(jsonPayload.rejection_reason, \"^([A-Za-z_]+)\")"
  }
}

resource "google_logging_metric" "intake_latency" {
  project     = var.project_id
  name        = "exec/intake_latency"
  description = "Time order-intake spent on one message (decode, idempotent create, risk, routing, publish), in milliseconds."
  filter      = "resource.type=\"cloud_run_revision\" AND jsonPayload.function=\"order-intake\" AND jsonPayload.duration_ms>=0"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "DISTRIBUTION"
    unit        = "ms"
  }

  value_extractor = "EXTRACT(jsonPayload.duration_ms)"

  bucket_options {
    exponential_buckets {
      num_finite_buckets = 24
      growth_factor      = 1.6
      scale              = 1
    }
  }
}

resource "google_logging_metric" "function_errors" {
  project     = var.project_id
  name        = "exec/function_errors"
  description = "ERROR (or worse) log entries of the Cloud Functions, by function."
  filter      = "resource.type=\"cloud_run_revision\" AND (${local.function_services}) AND severity>=ERROR"

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "function"
      value_type = "STRING"
    }
  }

  label_extractors = {
    function = "EXTRACT(resource.labels.service_name)"
  }
}

resource "google_logging_metric" "reconciliation_differences" {
  project     = var.project_id
  name        = "exec/reconciliation_differences"
  description = "Open differences reported by the reconciliation (stateful/edge/reconcile), by venue and kind."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.service_name}\" AND severity=WARNING AND jsonPayload.run_id:* AND jsonPayload.kind:* AND jsonPayload.message=~\"^reconciliation \""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
    labels {
      key        = "venue"
      value_type = "STRING"
    }
    labels {
      key        = "kind"
      value_type = "STRING"
    }
  }

  label_extractors = {
    venue = "EXTRACT(jsonPayload.venue)"
    kind  = "EXTRACT(jsonPayload.kind)"
  }
}

resource "google_logging_metric" "drift_reducing" {
  project     = var.project_id
  name        = "exec/drift_reducing"
  description = "The drift monitor switched a scope to REDUCING (stateful/edge/drift)."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.service_name}\" AND jsonPayload.message=~\"^drift monitor set REDUCING\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}

resource "google_logging_metric" "lease_lost" {
  project     = var.project_id
  name        = "exec/lease_lost"
  description = "A venue edge lost its lease (stateful/edge/lease.ts): it stopped sending and exits."
  filter      = "resource.type=\"cloud_run_revision\" AND resource.labels.service_name=\"${var.service_name}\" AND jsonPayload.message=~\"^venue-edge lease lost\""

  metric_descriptor {
    metric_kind = "DELTA"
    value_type  = "INT64"
    unit        = "1"
  }
}
