variable "project_id" {
  description = "Project the functions run in."
  type        = string
}

variable "region" {
  description = "Region of the functions (and of the Cloud Run services behind them)."
  type        = string
}

variable "runtime" {
  description = "Cloud Functions runtime of every function."
  type        = string
  default     = "nodejs24"
}

variable "source_bucket" {
  description = "Bucket the source archive is uploaded to (function sources only)."
  type        = string
}

variable "source_archive" {
  description = "Local path of the zip made by terraform/scripts/package-functions.mjs: the whole source tree once, with an entry module that loads only the function the instance runs."
  type        = string
}

variable "functions" {
  description = <<-EOT
    Functions by name. The name is the folder under functions/, the entry point (the name the
    folder's index.ts registers with the functions framework) and the function's Cloud Run service.
    Each runs as its own service account (service_account_email) and is invoked only by Pub/Sub
    push with the token of invoker_email.
  EOT
  type = map(object({
    description           = string
    service_account_email = string
    invoker_email         = string
    memory                = optional(string, "256Mi")
    cpu                   = optional(string)
    timeout_seconds       = optional(number, 60)
    min_instances         = optional(number, 0)
    max_instances         = optional(number, 10)
    concurrency           = optional(number, 1)
    environment           = optional(map(string), {})
    secret_environment = optional(map(object({
      secret  = string
      version = optional(string, "latest")
    })), {})
  }))

  validation {
    condition     = alltrue([for name in keys(var.functions) : can(regex("^[a-z][a-z0-9-]{0,61}[a-z0-9]$", name))])
    error_message = "Function names are lower-case letters, digits and hyphens, start with a letter, end with a letter or digit, at most 63 characters."
  }

  validation {
    condition     = alltrue([for f in values(var.functions) : f.timeout_seconds > 0 && f.timeout_seconds <= 540])
    error_message = "Event-driven functions time out after at most 540 seconds."
  }
}

variable "environment" {
  description = "Environment variables of every function (merged under each function's own; EXEC_FUNCTION is always the function's name)."
  type        = map(string)
  default     = {}
}

variable "config_secret" {
  description = "Secret Manager secret holding the platform's JSON configuration, mounted as a file at <mount_path>/config.json (set EXEC_CONFIG to that path); version pinned so a config change is a new revision. null: no config file mounted."
  type = object({
    secret     = string
    version    = string
    mount_path = optional(string, "/etc/exec")
  })
  default = null
}

variable "build_service_account" {
  description = "Email of the service account Cloud Build uses to build the functions' images; null uses the project default."
  type        = string
  default     = null
}

variable "docker_repository" {
  description = "Artifact Registry repository (projects/<p>/locations/<r>/repositories/<name>) for the functions' images; null lets Cloud Functions create gcf-artifacts."
  type        = string
  default     = null
}

variable "ingress" {
  description = "Who may reach the functions: ALLOW_INTERNAL_ONLY admits Pub/Sub push from the same project and VPC; the IAM check applies in every case."
  type        = string
  default     = "ALLOW_INTERNAL_ONLY"

  validation {
    condition     = contains(["ALLOW_ALL", "ALLOW_INTERNAL_ONLY", "ALLOW_INTERNAL_AND_GCLB"], var.ingress)
    error_message = "ingress is ALLOW_ALL, ALLOW_INTERNAL_ONLY or ALLOW_INTERNAL_AND_GCLB."
  }
}

variable "labels" {
  description = "Labels on the functions and the source object."
  type        = map(string)
  default     = {}
}
