variable "project_id" {
  description = "Project the service runs in."
  type        = string
}

variable "region" {
  description = "Region of the service; close to the venues' matching engines keeps order round trips short."
  type        = string
}

variable "name" {
  description = "Service name (the consumer part of its subscriptions, `<name>.<topic>`)."
  type        = string
}

variable "image" {
  description = "Container image, preferably by digest (<repo>/venue-edge@sha256:...), so a revision always runs exactly the image it was planned with and a rollback is re-applying an older digest."
  type        = string
}

variable "service_account_email" {
  description = "Identity the service runs as (its own account, with only the roles it needs)."
  type        = string
}

variable "min_instances" {
  description = "Instances kept running. 1: the service holds the venue sessions (WebSockets, rate-limit budgets, the algorithm scheduler) and must be up when no request arrives."
  type        = number
  default     = 1

  validation {
    condition     = var.min_instances == 1
    error_message = "The venue edge runs exactly one instance (min 1): it holds the venue sessions and the scheduler, see docs/deploy.md."
  }
}

variable "max_instances" {
  description = "Upper bound of instances. 1: a second instance would open second venue sessions on the same API keys (shared rate limits and nonces) and run the scheduler twice."
  type        = number
  default     = 1

  validation {
    condition     = var.max_instances == 1
    error_message = "The venue edge runs exactly one instance (max 1): two would double the venue sessions and the scheduler, see docs/deploy.md."
  }
}

variable "cpu" {
  description = "CPU limit of the container."
  type        = string
  default     = "1"
}

variable "memory" {
  description = "Memory limit of the container."
  type        = string
  default     = "1Gi"
}

variable "concurrency" {
  description = "Most HTTP requests one instance serves at once (API and console)."
  type        = number
  default     = 80
}

variable "request_timeout" {
  description = "Longest HTTP request (console streams included)."
  type        = string
  default     = "300s"
}

variable "port" {
  description = "Port the container listens on (Cloud Run sets PORT to it)."
  type        = number
  default     = 8080
}

variable "environment" {
  description = "Plain environment variables."
  type        = map(string)
  default     = {}
}

variable "secret_environment" {
  description = "Environment variables read from Secret Manager: variable name to { secret id, version }. Venue API keys come this way (docs/configuration.md: secrets only from the environment)."
  type = map(object({
    secret  = string
    version = optional(string, "latest")
  }))
  default = {}
}

variable "config_secret" {
  description = "Secret Manager secret with the JSON configuration, mounted read-only at <mount_path>/config.json (EXEC_CONFIG is set to it); null: the image's embedded default."
  type = object({
    secret     = string
    version    = string
    mount_path = optional(string, "/etc/exec")
  })
  default = null
}

variable "startup_path" {
  description = "HTTP path of the startup probe (the service's /readyz: lease held and sessions up, or STANDBY)."
  type        = string
  default     = "/readyz"
}

variable "liveness_path" {
  description = "HTTP path of the liveness probe (the service's /healthz)."
  type        = string
  default     = "/healthz"
}

variable "vpc_egress" {
  description = "Direct VPC egress: all traffic leaves through this network and subnetwork (and so through its Cloud NAT's static address). null = Cloud Run's shared egress."
  type = object({
    network    = string
    subnetwork = string
  })
  default = null
}

variable "prometheus_sidecar_image" {
  description = "Image of the Managed Service for Prometheus sidecar that exports /metrics to Cloud Monitoring; null = no sidecar."
  type        = string
  default     = "us-docker.pkg.dev/cloud-ops-agents-artifacts/cloud-run-gmp-sidecar/cloud-run-gmp-sidecar:1.2.0"
}

variable "ingress" {
  description = "INGRESS_TRAFFIC_ALL (the strategy service and ops reach the API with IAM tokens), INGRESS_TRAFFIC_INTERNAL_ONLY or INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER."
  type        = string
  default     = "INGRESS_TRAFFIC_ALL"
}

variable "invokers" {
  description = "Members given roles/run.invoker (strategy service, ops console users), as { key => member }."
  type        = map(string)
  default     = {}
}

variable "deletion_protection" {
  description = "Refuse to destroy the service from Terraform."
  type        = bool
  default     = true
}

variable "labels" {
  description = "Labels on the service and its revisions."
  type        = map(string)
  default     = {}
}
