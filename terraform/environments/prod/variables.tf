# What is set per project and per deploy: terraform.tfvars (see the example) and cloudbuild.yaml
# give these, and main.tf passes them to modules/platform, whose variables.tf says what each one
# does. The environment's own settings are written in main.tf; everything else is a module default.

variable "project_id" {
  description = "Google Cloud project of this environment (one project per environment)."
  type        = string
}

variable "region" {
  description = "Region of the workloads, the buckets and the image repository: near the venues for live trading."
  type        = string
  default     = "europe-west1"
}

variable "stateful_image" {
  description = "Image of the venue-edge service, by digest (cloudbuild.yaml passes the one it pushed)."
  type        = string
}

variable "functions_source_archive" {
  description = "Zip made by `node terraform/scripts/package-functions.mjs` (relative to this folder, or absolute)."
  type        = string
  default     = "../../../dist/functions-source.zip"
}

variable "exec_config_path" {
  description = "This environment's JSON configuration file (docs/configuration.md), relative to this folder or absolute."
  type        = string
}

variable "operator_principal" {
  description = "Who administers the HTTP API and console (auth grant, admin role): user:<email>, serviceAccount:<email> or domain:<domain>. Cloud Build passes the trigger's _OPERATOR_PRINCIPAL."
  type        = string
}

variable "extra_environment" {
  description = "Extra plain environment variables of every workload (e.g. DERIBIT_REST_URL)."
  type        = map(string)
  default     = {}
}

variable "stateful_secret_env" {
  description = "Secret environment variables of the venue-edge service: variable name to secret id."
  type        = map(string)
  default     = {}
}

variable "secrets_generation" {
  description = "Bump after adding secret versions: every workload starts a new revision that reads them."
  type        = number
  default     = 0
}

variable "order_publishers" {
  description = "Members allowed to publish to orders.requests and orders.cancels."
  type        = list(string)
  default     = []
}

variable "backtest_requesters" {
  description = "Members allowed to publish to backtests.requests."
  type        = list(string)
  default     = []
}

variable "api_invokers" {
  description = "Members allowed to call the venue-edge HTTP API and console."
  type        = list(string)
  default     = []
}

variable "topic_subscribers" {
  description = "Topic to members allowed to attach their own subscriptions."
  type        = map(list(string))
  default     = {}
}

variable "notification_channels" {
  description = "Monitoring notification channel ids for the alerts."
  type        = list(string)
  default     = []
}
