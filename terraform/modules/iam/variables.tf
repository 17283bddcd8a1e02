variable "project_id" {
  description = "Project of the service accounts and of the project-level grants."
  type        = string
}

variable "service_accounts" {
  description = "Service accounts to create, by account id (6-30 characters): one per workload (each function, the Cloud Run service), one push identity per function, the functions' build account."
  type = map(object({
    display_name = string
    description  = optional(string, "")
  }))

  validation {
    condition     = alltrue([for id in keys(var.service_accounts) : can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", id))])
    error_message = "Service account ids are 6-30 lower-case letters, digits and hyphens, starting with a letter."
  }
}

variable "custom_roles" {
  description = "Project custom roles by role id, for grants narrower than any predefined role (e.g. only pubsub.topics.list for the event bus health check)."
  type = map(object({
    title       = string
    description = string
    permissions = list(string)
  }))
  default = {}
}

variable "project_roles" {
  description = "Project-level grants to the accounts above, keyed by a name known at plan time. role is a predefined role (roles/...) or the id of a custom role above; condition narrows it (e.g. roles/datastore.user to one database)."
  type = map(object({
    account = string
    role    = string
    condition = optional(object({
      title       = string
      description = optional(string, "")
      expression  = string
    }))
  }))
  default = {}
}

variable "bucket_roles" {
  description = "Bucket-level grants to the accounts above, keyed by a name known at plan time; condition narrows a grant to an object prefix."
  type = map(object({
    account = string
    bucket  = string
    role    = string
    condition = optional(object({
      title       = string
      description = optional(string, "")
      expression  = string
    }))
  }))
  default = {}
}

variable "secret_accessors" {
  description = "roles/secretmanager.secretAccessor on one secret for one account, keyed by a name known at plan time."
  type = map(object({
    account = string
    secret  = string
  }))
  default = {}
}
