# Inputs of the platform. Those without a default are what an environment must decide itself:
# the project and what is deployed, and its safety and retention settings (environments/<env>/main.tf).

variable "project_id" {
  description = "Google Cloud project of the environment (one project per environment: topic ids are used unchanged)."
  type        = string
}

variable "environment" {
  description = "Environment name (dev, prod), in labels and alert names."
  type        = string
}

variable "region" {
  description = "Region of the functions, the service, the buckets and the image repository; for live trading pick one near the venues' matching engines (asia-northeast1 for Binance, europe-west2 for Deribit)."
  type        = string
  default     = "europe-west1"
}

variable "labels" {
  description = "Extra labels on every resource (app and env are always set)."
  type        = map(string)
  default     = {}
}

# --- what is deployed ---------------------------------------------------------------------------

variable "stateful_image" {
  description = "Image of the venue-edge service, by digest (cloudbuild.yaml passes the one it pushed)."
  type        = string
}

variable "functions_source_archive" {
  description = "Zip of the functions' source made by `node terraform/scripts/package-functions.mjs` (relative to the environment folder Terraform runs in, or absolute)."
  type        = string
  default     = "../../../dist/functions-source.zip"
}

variable "exec_config_path" {
  description = "The environment's JSON configuration file (docs/configuration.md), relative to the environment folder or absolute; stored in Secret Manager and mounted at /etc/exec/config.json in every workload."
  type        = string
}

variable "log_level" {
  description = "LOG_LEVEL of every workload (the shipped configs read logging.level from it)."
  type        = string
  default     = "info"
}

variable "backtest_workers" {
  description = "BACKTEST_WORKERS of every workload (backtest.workers in config/example.json)."
  type        = number
  default     = 8
}

variable "operator_principal" {
  description = "Who administers the HTTP API and console (the auth grant with the admin role in config/{dev,prod}.json): user:<email>, serviceAccount:<email> or domain:<domain>."
  type        = string
  validation {
    condition     = can(regex("^(user|serviceAccount):[^@ ]+@[^@ ]+$|^domain:[a-z0-9.-]+$", var.operator_principal))
    error_message = "operator_principal must be user:<email>, serviceAccount:<email> or domain:<domain>."
  }
}

variable "extra_environment" {
  description = "Extra plain environment variables of every workload (e.g. DERIBIT_REST_URL); GCP_PROJECT, EXEC_BUCKET, LOG_LEVEL and BACKTEST_WORKERS are set already."
  type        = map(string)
  default     = {}
}

# --- secrets ------------------------------------------------------------------------------------

variable "stateful_secret_env" {
  description = "Environment variables of the venue-edge service read from Secret Manager: variable name (as the config references it, e.g. BINANCE_SPOT_API_KEY) to secret id. The secrets are created empty; add versions with gcloud."
  type        = map(string)
  default     = {}
}

variable "secrets_generation" {
  description = "Bump after adding secret versions (key rotation): changes EXEC_SECRETS_GENERATION, so every workload starts a new revision that reads the latest versions."
  type        = number
  default     = 0
}

# --- venue-edge service -------------------------------------------------------------------------

variable "stateful_cpu" {
  description = "CPU of the venue-edge container."
  type        = string
  default     = "1"
}

variable "stateful_memory" {
  description = "Memory of the venue-edge container."
  type        = string
}

variable "stateful_ingress" {
  description = "Ingress of the venue-edge service (INGRESS_TRAFFIC_ALL, INGRESS_TRAFFIC_INTERNAL_ONLY, INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER); IAM authentication applies in every case."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"
}

# --- who may use the platform -------------------------------------------------------------------

variable "order_publishers" {
  description = "Members allowed to publish to orders.requests and orders.cancels (the strategy service's service account)."
  type        = list(string)
  default     = []
}

variable "backtest_requesters" {
  description = "Members allowed to publish to backtests.requests (analysts, their tooling)."
  type        = list(string)
  default     = []
}

variable "api_invokers" {
  description = "Members allowed to call the venue-edge HTTP API and console (roles/run.invoker)."
  type        = list(string)
  default     = []
}

variable "topic_subscribers" {
  description = "Topic to members allowed to attach their own subscriptions (e.g. exec.fills for the strategy service)."
  type        = map(list(string))
  default     = {}
}

# --- data ---------------------------------------------------------------------------------------

variable "firestore_location" {
  description = "Firestore location (eur3, nam5 or a region); fixed once the database exists."
  type        = string
}

variable "firestore_database" {
  description = "Firestore database id; must match storage.firestore_database in the config ((default) when unset)."
  type        = string
  default     = "(default)"
}

variable "create_firestore_database" {
  description = "Create the database (false when the project already has it)."
  type        = bool
  default     = true
}

variable "firestore_point_in_time_recovery" {
  description = "Point-in-time recovery (7 days) of the order book."
  type        = bool
}

variable "collection_prefix" {
  description = "storage.collection_prefix of the config, so the indexes land on the prefixed collections."
  type        = string
  default     = ""
}

variable "tick_data_prefix" {
  description = "storage.tick_data_prefix of the config."
  type        = string
  default     = "market-data-tick"
}

variable "results_prefix" {
  description = "storage.results_prefix of the config: the only prefix the backtest functions may write to."
  type        = string
  default     = "backtest_results"
}

variable "results_retention_days" {
  description = "Backtest results are deleted after this many days."
  type        = number
}

variable "tick_data_nearline_after_days" {
  description = "Tick data moves to NEARLINE after this many days (null: stays STANDARD)."
  type        = number
}

variable "data_versioning" {
  description = "Object versioning on the data bucket (the 3 newest noncurrent versions are kept)."
  type        = bool
}

variable "sources_retention_days" {
  description = "Function source archives are deleted after this many days (Cloud Functions keeps its own copy of each deployed build)."
  type        = number
}

# --- safety and alerting ------------------------------------------------------------------------

variable "deletion_protection" {
  description = "Refuse to destroy the venue-edge service and the Firestore database."
  type        = bool
}

variable "notification_channels" {
  description = "Monitoring notification channel ids for the alerts."
  type        = list(string)
  default     = []
}

variable "backlog_age_threshold_seconds" {
  description = "Alert when a consumer subscription's oldest unacknowledged message is older than this."
  type        = number
  default     = 300
}

# Audit trail (modules/audit)

variable "audit_retention_days" {
  description = "How long audit records are kept, protected from deletion and overwrite."
  type        = number
  default     = 2557
}

variable "audit_retention_locked" {
  description = "Lock the audit bucket's retention policy (irreversible)."
  type        = bool
  default     = true
}
