# Alerts that matter for an at-least-once trading pipeline: a dead letter waiting (poison input or a
# consumer that gave up: someone must look, and replay or discard), a consumer falling behind, and
# the single venue-edge instance being down.

locals {
  consumer_filter = join(", ", [for s in var.consumer_subscriptions : "\"${s}\""])
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
