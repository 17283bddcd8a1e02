variable "project_id" {
  description = "Project that owns the secrets."
  type        = string
}

variable "secret_ids" {
  description = "Secrets the workloads read as environment variables (venue API keys and secrets). Terraform creates the empty secrets only: versions are added out of band (gcloud secrets versions add), so no credential ever passes through Terraform state."
  type        = set(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.secret_ids : can(regex("^[A-Za-z0-9_-]{1,255}$", s))])
    error_message = "Secret ids are letters, digits, - and _."
  }
}

variable "config_secret_id" {
  description = "Secret holding the platform's JSON configuration file (no credentials in it: those are $${VAR} references)."
  type        = string
  default     = "exec-config"
}

variable "config_json" {
  description = "The configuration file's text; each change is a new secret version and so a new revision of every workload."
  type        = string
}

variable "functions_config_secret_id" {
  description = "Secret holding the functions' configuration: the same file with every credential field withheld."
  type        = string
  default     = "exec-config-functions"
}

variable "functions_config_json" {
  description = "The functions' configuration text (modules/platform derives it from the config file)."
  type        = string
}

variable "labels" {
  description = "Labels on every secret."
  type        = map(string)
  default     = {}
}
