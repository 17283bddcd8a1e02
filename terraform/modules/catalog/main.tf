# What runs where: the topics, the Cloud Functions with their trigger topics, and the stateful
# Cloud Run service with the subscriptions it pulls. modules/platform reads it for every
# environment, so dev and prod cannot drift apart, and test/unit/terraform/terraform.test.ts checks
# it against the code:
#
# - `topics` equals TOPICS in shared/ports/event-bus.ts;
# - every folder under functions/ (except `shared`) is a key of `functions`, its index.ts registers
#   a function of that name (= the entry point) and its code names the trigger topic;
# - a function listed here is deployed once functions/<name>/index.ts exists (modules/platform
#   filters on it), so planned functions can be listed before their code lands;
# - every subscription is `<consumer>.<topic>` (docs/messaging.md) and gets `<subscription>.dlq`.
#
# Keep values literal (no expressions): the test reads this file without evaluating Terraform.
#
# `publishes` is what a workload may publish to (roles/pubsub.publisher on exactly those topics,
# plus the dead-letter topics of its own subscriptions, which it publishes poison messages to). A
# publish the code does that is missing here fails in the cloud with PERMISSION_DENIED.
locals {
  topics = [
    "orders.requests",
    "orders.routed",
    "orders.cancels",
    "exec.orders",
    "exec.fills",
    "market.raw",
    "risk.state",
    "backtests.requests",
    "backtests.windows",
    "backtests.done",
    "rebalance.daily",
  ]

  # One Cloud Function per folder under functions/. The key is the folder name, the function name,
  # the entry point and the consumer part of its subscription `<key>.<trigger_topic>`.
  #
  #   firestore      roles/datastore.user on the platform's database (the live order database: the
  #                  backtest functions get none, they read ticks and write results in Cloud Storage)
  #   reads_data     roles/storage.objectViewer on the data bucket (tick data, instruments, signals)
  #   writes_results roles/storage.objectUser on the results prefix of the data bucket
  #   memory, cpu, timeout_seconds, max_instances: the function's limits (cpu null = the default for
  #                  the memory size; below 1 vCPU a function handles one request at a time)
  #   ack_deadline_seconds: of its push subscription; at least timeout_seconds, or Pub/Sub
  #                  redelivers a message the function is still working on
  functions = {
    "order-intake" = {
      description          = "Order instructions from orders.requests: idempotent create, pre-trade risk, routing, publish to orders.routed."
      trigger_topic        = "orders.requests"
      publishes            = ["orders.routed", "exec.orders"]
      firestore            = true
      reads_data           = false
      writes_results       = false
      memory               = "256Mi"
      cpu                  = null
      timeout_seconds      = 60
      max_instances        = 20
      ack_deadline_seconds = 60
      minimum_backoff      = "1s"
      maximum_backoff      = "60s"
    }
    "order-cancel" = {
      description          = "Cancel requests from orders.cancels: mark the order PENDING_CANCEL (or CANCELED before it reached a venue) and hand it to the venue sessions."
      trigger_topic        = "orders.cancels"
      publishes            = ["orders.routed", "exec.orders"]
      firestore            = true
      reads_data           = false
      writes_results       = false
      memory               = "256Mi"
      cpu                  = null
      timeout_seconds      = 60
      max_instances        = 10
      ack_deadline_seconds = 60
      minimum_backoff      = "1s"
      maximum_backoff      = "60s"
    }
    "backtest-planner" = {
      description          = "Backtest requests from backtests.requests: read the signals, open one window per target change, publish one message per window."
      trigger_topic        = "backtests.requests"
      publishes            = ["backtests.windows"]
      firestore            = false
      reads_data           = true
      writes_results       = true
      memory               = "512Mi"
      cpu                  = null
      timeout_seconds      = 300
      max_instances        = 5
      ack_deadline_seconds = 300
      minimum_backoff      = "10s"
      maximum_backoff      = "600s"
    }
    "backtest-window" = {
      description          = "One signal window from backtests.windows: byte-range reads of its ticks, the same risk, algorithm and matching code as live, partial results."
      trigger_topic        = "backtests.windows"
      publishes            = ["backtests.done"]
      firestore            = false
      reads_data           = true
      writes_results       = true
      memory               = "1Gi"
      cpu                  = "1"
      timeout_seconds      = 540
      max_instances        = 50
      ack_deadline_seconds = 600
      minimum_backoff      = "10s"
      maximum_backoff      = "600s"
    }
    "backtest-merge" = {
      description          = "Finished windows from backtests.done: when a run's last window is in, merge the partial results into backtest_results/<run_id>/."
      trigger_topic        = "backtests.done"
      publishes            = []
      firestore            = false
      reads_data           = true
      writes_results       = true
      memory               = "1Gi"
      cpu                  = "1"
      timeout_seconds      = 540
      max_instances        = 10
      ack_deadline_seconds = 600
      minimum_backoff      = "10s"
      maximum_backoff      = "600s"
    }
    "rebalance-complete" = {
      description          = "Order updates from exec.orders: when the last order of a rebalance is final, write the portfolio's actual state and NAV snapshot once."
      trigger_topic        = "exec.orders"
      publishes            = []
      firestore            = true
      reads_data           = true
      writes_results       = false
      memory               = "256Mi"
      cpu                  = null
      timeout_seconds      = 60
      max_instances        = 10
      ack_deadline_seconds = 60
      minimum_backoff      = "5s"
      maximum_backoff      = "300s"
    }
    "rebalance-nav" = {
      description          = "Once a day from rebalance.daily (Cloud Scheduler): the DAILY NAV snapshot of every rebalanced portfolio, with the flat / uncomputable NAV alert."
      trigger_topic        = "rebalance.daily"
      publishes            = []
      firestore            = true
      reads_data           = true
      writes_results       = false
      memory               = "256Mi"
      cpu                  = null
      timeout_seconds      = 300
      max_instances        = 1
      ack_deadline_seconds = 300
      minimum_backoff      = "60s"
      maximum_backoff      = "600s"
    }
  }

  # The stateful Cloud Run service: venue sessions (ccxt REST + WebSocket), the algorithm scheduler,
  # reconciliation, the HTTP API and the ops console. It pulls its subscriptions (streaming pull,
  # flow control in the adapter); their names are `<name>.<topic>`.
  service = {
    name        = "venue-edge"
    description = "Venue sessions, execution-algorithm scheduler, reconciliation, HTTP API and ops console."
    publishes   = ["orders.routed", "exec.orders", "exec.fills", "market.raw", "risk.state"]
    firestore   = true
    reads_data  = true
    subscriptions = {
      "orders.routed" = {
        ack_deadline_seconds = 60
        minimum_backoff      = "1s"
        maximum_backoff      = "60s"
      }
      "risk.state" = {
        ack_deadline_seconds = 30
        minimum_backoff      = "1s"
        maximum_backoff      = "30s"
      }
      # The execution event feed's writer (stateful/api/events/writer.ts): order updates, venue
      # diagnostics, reconciliation and drift into the stored feed the console's Logs page reads.
      "exec.orders" = {
        ack_deadline_seconds = 30
        minimum_backoff      = "1s"
        maximum_backoff      = "60s"
      }
    }
  }
}
