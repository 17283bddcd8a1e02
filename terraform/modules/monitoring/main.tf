# Alerts that matter for an at-least-once trading pipeline: a dead letter waiting (poison input or a
# consumer that gave up: someone must look, and replay or discard), a consumer falling behind, and
# the single venue-edge instance being down.

locals {
  consumer_filter = join(", ", [for s in var.consumer_subscriptions : "\"${s}\""])
  function_list   = join(", ", [for f in var.function_names : "\"${f}\""])
}

resource "google_monitoring_alert_policy" "dead_letters" {
  project      = var.project_id
  display_name = "${var.name_prefix}: dead letters waiting"
  combiner     = "OR"

  conditions {
    display_name = "Undelivered messages in a dead-letter subscription (ops.*.dlq)"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.label.subscription_id = ends_with(\".dlq\")"
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "60s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  alert_strategy {
    auto_close = "86400s"
  }

  documentation {
    mime_type = "text/markdown"
    content   = <<-EOT
      A message was dead-lettered. Its attributes say why: `dead_letter_reason`, `source_subscription`,
      `source_topic`, `source_message_id`, `delivery_attempt` (our adapters), or Pub/Sub's
      `CloudPubSubDeadLetterSource*` (native forwarding after max delivery attempts).
      Pull it from the ops subscription named in the alert, fix the cause, then republish the original
      data and attributes to the source topic (consumers are idempotent) or acknowledge it.
      See docs/messaging.md and docs/deploy.md.
    EOT
  }
}

resource "google_monitoring_alert_policy" "backlog" {
  count = length(var.consumer_subscriptions) > 0 ? 1 : 0

  project      = var.project_id
  display_name = "${var.name_prefix}: consumer falling behind"
  combiner     = "OR"

  conditions {
    display_name = "Oldest unacknowledged message older than ${var.backlog_age_threshold_seconds} s"
    condition_threshold {
      filter          = "resource.type = \"pubsub_subscription\" AND metric.type = \"pubsub.googleapis.com/subscription/oldest_unacked_message_age\" AND resource.label.subscription_id = one_of(${local.consumer_filter})"
      comparison      = "COMPARISON_GT"
      threshold_value = var.backlog_age_threshold_seconds
      duration        = "120s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  alert_strategy {
    auto_close = "3600s"
  }
}

resource "google_monitoring_alert_policy" "service_down" {
  count = var.service_name == null ? 0 : 1

  project      = var.project_id
  display_name = "${var.name_prefix}: ${coalesce(var.service_name, "-")} has no running instance"
  combiner     = "OR"

  conditions {
    display_name = "No instance of ${coalesce(var.service_name, "-")} for 5 minutes"
    condition_absent {
      filter   = "resource.type = \"cloud_run_revision\" AND resource.label.service_name = \"${coalesce(var.service_name, "-")}\" AND metric.type = \"run.googleapis.com/container/instance_count\""
      duration = "300s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_MAX"
        cross_series_reducer = "REDUCE_SUM"
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = "The venue edge holds every venue session and the algorithm scheduler: while it is down no order reaches a venue and no fill is recorded. Check the latest revision's logs; roll back as in docs/deploy.md."
  }
}

# --- the venue edge: pages -------------------------------------------------------------------------

# /readyz from outside (the startup probe only runs while an instance starts): a failing edge
# whose instance still runs is caught here. Authenticated with the monitoring service agent's
# OIDC token (modules/platform grants it run.invoker on the service).
resource "google_monitoring_uptime_check_config" "readyz" {
  count = var.service_name == null ? 0 : 1

  project      = var.project_id
  display_name = "${var.name_prefix}: ${var.service_name} /readyz"
  timeout      = "10s"
  period       = "60s"

  http_check {
    path           = "/readyz"
    port           = 443
    use_ssl        = true
    validate_ssl   = true
    request_method = "GET"
    accepted_response_status_codes {
      status_class = "STATUS_CLASS_2XX"
    }
    service_agent_authentication {
      type = "OIDC_TOKEN"
    }
  }

  monitored_resource {
    type = "cloud_run_revision"
    labels = {
      project_id   = var.project_id
      service_name = var.service_name
      location     = var.region
    }
  }
}

resource "google_monitoring_alert_policy" "readyz_failing" {
  count = var.service_name == null ? 0 : 1

  project      = var.project_id
  display_name = "${var.name_prefix}: ${var.service_name} /readyz failing"
  combiner     = "OR"

  conditions {
    display_name = "/readyz not 2xx from any checker region for 3 minutes"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"monitoring.googleapis.com/uptime_check/check_passed\" AND metric.label.check_id = \"${google_monitoring_uptime_check_config.readyz[0].uptime_check_id}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 1
      duration        = "180s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_NEXT_OLDER"
        cross_series_reducer = "REDUCE_COUNT_FALSE"
        group_by_fields      = ["resource.label.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = "The venue edge answers /readyz with 503: a venue session is down, its orders.routed subscription stopped, or the edge lost its lease. The body names the reasons (docs/monitoring.md)."
  }
}

resource "google_monitoring_alert_policy" "venue_session_down" {
  count = var.service_name == null ? 0 : 1

  project      = var.project_id
  display_name = "${var.name_prefix}: venue session down"
  combiner     = "OR"

  conditions {
    display_name = "A venue's private stream down for more than ${var.venue_down_seconds} s"
    condition_prometheus_query_language {
      query               = "min by (venue) (exec_edge_stream_up{stream=\"private\"}) < 1"
      duration            = "${var.venue_down_seconds}s"
      evaluation_interval = "30s"
    }
  }

  notification_channels = var.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = "No fills are streamed from this venue: the edge gap-fills over REST when the stream returns, but open orders are blind meanwhile. Check the venue's status and the edge's `stream` diagnostics (docs/monitoring.md)."
  }
}

# Events the edge logs that page at once: each a log-based metric (metrics.tf) above zero.
locals {
  log_event_alerts = {
    reconciliation_mismatch = {
      title     = "reconciliation mismatch"
      condition = "Reconciliation reported an open difference"
      metric    = google_logging_metric.reconciliation_differences.name
      period    = "300s"
      group_by  = ["metric.label.venue", "metric.label.kind"]
      doc       = "Our orders, fills or balances differ from the venue's. The log line names the venue, kind, key and operation (docs/reconciliation.md)."
    }
    drift_reducing = {
      title     = "drift switched to REDUCING"
      condition = "The drift monitor set REDUCING"
      metric    = google_logging_metric.drift_reducing.name
      period    = "60s"
      group_by  = []
      doc       = "Fills drift from the expected prices beyond the threshold: the scope only reduces positions now. Investigate, then set ACTIVE again through the trading-state API."
    }
    lease_lost = {
      title     = "venue-edge lease lost"
      condition = "A venue edge lost its lease"
      metric    = google_logging_metric.lease_lost.name
      period    = "60s"
      group_by  = []
      doc       = "An edge could not renew its lease (Firestore unreachable, the process paused) and stopped sending; a new instance takes over after the TTL. Frequent losses mean Firestore latency or CPU starvation (docs/deploy.md \"One venue edge at a time\")."
    }
  }
}

resource "google_monitoring_alert_policy" "log_event" {
  for_each = local.log_event_alerts

  project      = var.project_id
  display_name = "${var.name_prefix}: ${each.value.title}"
  combiner     = "OR"

  conditions {
    display_name = each.value.condition
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${each.value.metric}\""
      comparison      = "COMPARISON_GT"
      threshold_value = 0
      duration        = "0s"
      aggregations {
        alignment_period     = each.value.period
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = each.value.group_by
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = each.value.doc
  }
}

# --- the functions ---------------------------------------------------------------------------------

resource "google_monitoring_alert_policy" "function_errors" {
  count = length(var.function_names) > 0 ? 1 : 0

  project      = var.project_id
  display_name = "${var.name_prefix}: function errors"
  combiner     = "OR"

  conditions {
    display_name = "More than ${var.function_error_threshold} ERROR entries in 5 minutes in a function"
    condition_threshold {
      filter          = "resource.type = \"cloud_run_revision\" AND metric.type = \"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\""
      comparison      = "COMPARISON_GT"
      threshold_value = var.function_error_threshold
      duration        = "0s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_SUM"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["metric.label.function"]
      }
      trigger {
        count = 1
      }
    }
  }

  conditions {
    display_name = "5xx answers of a function above 5 % of its requests"
    condition_threshold {
      filter             = "resource.type = \"cloud_run_revision\" AND metric.type = \"run.googleapis.com/request_count\" AND metric.label.response_code_class = \"5xx\" AND resource.label.service_name = one_of(${local.function_list})"
      denominator_filter = "resource.type = \"cloud_run_revision\" AND metric.type = \"run.googleapis.com/request_count\" AND resource.label.service_name = one_of(${local.function_list})"
      comparison         = "COMPARISON_GT"
      threshold_value    = 0.05
      duration           = "300s"
      aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      denominator_aggregations {
        alignment_period     = "300s"
        per_series_aligner   = "ALIGN_RATE"
        cross_series_reducer = "REDUCE_SUM"
        group_by_fields      = ["resource.label.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels

  documentation {
    mime_type = "text/markdown"
    content   = "A function fails: its errors carry the stack in `stack_trace` (Error Reporting groups them). Pub/Sub redelivers and then dead-letters what it cannot process."
  }
}
