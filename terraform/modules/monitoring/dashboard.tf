# One dashboard for the desk: what the edge sends and receives, what risk refuses, whether the
# books agree with the venues, and whether anything is stuck. PromQL over the edge's Prometheus
# metrics (scraped by the Managed Service for Prometheus sidecar), the log-based metrics of
# metrics.tf, and Pub/Sub's own.

locals {
  prom_tile = {
    for k, t in {
      orders_per_s      = { title = "Orders sent per second, by venue and outcome", query = "sum by (venue, outcome) (rate(exec_edge_orders_total[1m]))" }
      fills             = { title = "Fills per minute, by venue", query = "sum by (venue) (increase(exec_edge_venue_events_total{kind=\"trade\"}[1m]))" }
      venue_latency_p99 = { title = "Venue submit latency p99 (s), by venue", query = "histogram_quantile(0.99, sum by (venue, le) (rate(exec_edge_submit_seconds_bucket[5m])))" }
      reconnects        = { title = "WebSocket reconnects per 5 min, by venue", query = "sum by (venue) (increase(exec_edge_venue_diagnostics_total{diagnostic=~\"reconnect|stream\"}[5m]))" }
      streams_up        = { title = "Venue streams up (1) / down (0)", query = "min by (venue, stream) (exec_edge_stream_up)" }
      drift_bps         = { title = "Fill drift (bps), by venue", query = "max by (venue) (abs(exec_fill_drift_bps))" }
      } : k => {
      title = t.title
      xyChart = {
        dataSets = [{
          plotType        = "LINE"
          timeSeriesQuery = { prometheusQuery = t.query }
        }]
      }
    }
  }

  log_tile = {
    for k, t in {
      denials_by_rule = {
        title   = "Orders denied or rejected at intake, by rule (per minute)"
        filter  = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.intake_outcomes.name}\" AND metric.label.status=one_of(\"DENIED\", \"REJECTED\")"
        group   = ["metric.label.rule"]
        aligner = "ALIGN_RATE"
      }
      recon_differences = {
        title   = "Reconciliation differences, by venue and kind"
        filter  = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.reconciliation_differences.name}\""
        group   = ["metric.label.venue", "metric.label.kind"]
        aligner = "ALIGN_SUM"
      }
      dlq_depth = {
        title   = "Dead letters waiting (ops.*.dlq)"
        filter  = "metric.type=\"pubsub.googleapis.com/subscription/num_undelivered_messages\" AND resource.type=\"pubsub_subscription\" AND resource.label.subscription_id=ends_with(\".dlq\")"
        group   = ["resource.label.subscription_id"]
        aligner = "ALIGN_MAX"
      }
      function_errors = {
        title   = "Function errors, by function"
        filter  = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.function_errors.name}\""
        group   = ["metric.label.function"]
        aligner = "ALIGN_SUM"
      }
      } : k => {
      title = t.title
      xyChart = {
        dataSets = [{
          plotType = "LINE"
          timeSeriesQuery = {
            timeSeriesFilter = {
              filter = t.filter
              aggregation = {
                alignmentPeriod    = "60s"
                perSeriesAligner   = t.aligner
                crossSeriesReducer = "REDUCE_SUM"
                groupByFields      = t.group
              }
            }
          }
        }]
      }
    }
  }

  intake_latency_tile = {
    title = "order-intake latency p50 / p99 (ms)"
    xyChart = {
      dataSets = [for p in ["REDUCE_PERCENTILE_50", "REDUCE_PERCENTILE_99"] : {
        plotType = "LINE"
        timeSeriesQuery = {
          timeSeriesFilter = {
            filter = "metric.type=\"logging.googleapis.com/user/${google_logging_metric.intake_latency.name}\""
            aggregation = {
              alignmentPeriod    = "60s"
              perSeriesAligner   = "ALIGN_DELTA"
              crossSeriesReducer = p
            }
          }
        }
      }]
    }
  }

  dashboard_order = [
    "orders_per_s", "denials_by_rule", "fills", "venue_latency_p99", "reconnects", "streams_up",
    "recon_differences", "drift_bps", "dlq_depth", "function_errors",
  ]
  dashboard_tiles = concat(
    [for k in local.dashboard_order : merge(local.prom_tile, local.log_tile)[k]],
    [local.intake_latency_tile],
  )
}

resource "google_monitoring_dashboard" "desk" {
  project = var.project_id
  dashboard_json = jsonencode({
    displayName = "${var.name_prefix}: execution desk"
    mosaicLayout = {
      columns = 12
      tiles = [for i, w in local.dashboard_tiles : {
        xPos   = (i % 2) * 6
        yPos   = floor(i / 2) * 4
        width  = 6
        height = 4
        widget = w
      }]
    }
  })
}
