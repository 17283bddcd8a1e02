variable "project_id" {
  description = "Project that owns the buckets."
  type        = string
}

variable "location" {
  description = "Default bucket location (a region next to the functions keeps byte-range reads fast and free of egress)."
  type        = string
}

variable "buckets" {
  description = <<-EOT
    Buckets by key. Every bucket has uniform bucket-level access and public access prevention.
    lifecycle_rules: action (Delete or SetStorageClass with storage_class) when all given conditions
    hold (age in days, matches_prefix, num_newer_versions, with_state ANY / LIVE / ARCHIVED).
  EOT
  type = map(object({
    name          = string
    location      = optional(string)
    storage_class = optional(string, "STANDARD")
    versioning    = optional(bool, false)
    force_destroy = optional(bool, false)
    lifecycle_rules = optional(list(object({
      action             = string
      storage_class      = optional(string)
      age                = optional(number)
      matches_prefix     = optional(list(string))
      num_newer_versions = optional(number)
      with_state         = optional(string)
    })), [])
  }))

  validation {
    condition     = alltrue([for b in values(var.buckets) : can(regex("^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$", b.name))])
    error_message = "Bucket names are 3-63 lower-case letters, digits, -, _ and ., starting and ending with a letter or digit."
  }

  validation {
    condition     = alltrue(flatten([for b in values(var.buckets) : [for r in b.lifecycle_rules : contains(["Delete", "SetStorageClass"], r.action) && (r.action == "Delete" || r.storage_class != null)]]))
    error_message = "A lifecycle action is Delete, or SetStorageClass with a storage_class."
  }
}

variable "labels" {
  description = "Labels on every bucket."
  type        = map(string)
  default     = {}
}
