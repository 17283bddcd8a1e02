variable "project_id" {
  description = "Project of the audit bucket and topic."
  type        = string
}

variable "location" {
  description = "Bucket location (region or multi-region)."
  type        = string
}

variable "bucket_name" {
  description = "Name of the audit bucket (globally unique)."
  type        = string
}

variable "topic" {
  description = "Topic the platform publishes audit records to (shared/audit/sink.ts AUDIT_TOPIC)."
  type        = string
  default     = "audit.records"
}

variable "prefix" {
  description = "Object prefix of the records: objects are <prefix>/<YYYY-MM-DD>/<hh_mm_ssZ>...jsonl."
  type        = string
  default     = "audit"
}

variable "retention_days" {
  description = "How long every record is kept and protected from deletion or overwrite."
  type        = number
  default     = 2557 # 7 years

  validation {
    condition     = var.retention_days >= 1 && var.retention_days <= 36500
    error_message = "retention_days must be between 1 and 36500."
  }
}

variable "retention_locked" {
  description = "Lock the retention policy (irreversible: the bucket cannot be deleted, nor the period shortened, until every object expires). Leave true outside throw-away projects."
  type        = bool
  default     = true
}

variable "max_file_duration" {
  description = "Longest time a Cloud Storage subscription file stays open (60s..600s)."
  type        = string
  default     = "300s"
}

variable "max_file_bytes" {
  description = "Largest Cloud Storage subscription file."
  type        = number
  default     = 100000000
}

variable "publishers" {
  description = "IAM members (workload service accounts) allowed to publish audit records, by a stable key."
  type        = map(string)
  default     = {}
}

variable "readers" {
  description = "IAM members allowed to read the trail (auditors), by a stable key."
  type        = map(string)
  default     = {}
}

variable "labels" {
  description = "Labels of the bucket, topic and subscription."
  type        = map(string)
  default     = {}
}
