variable "project_id" {
  description = "Project the alert policies watch."
  type        = string
}

variable "name_prefix" {
  description = "Prefix of the policies' display names, e.g. the environment."
  type        = string
}

variable "notification_channels" {
  description = "Notification channel ids (projects/<p>/notificationChannels/<id>) the alerts go to; empty: the alerts only show in the console."
  type        = list(string)
  default     = []
}

variable "consumer_subscriptions" {
  description = "Consumer subscriptions whose oldest unacknowledged message age is watched (a stuck consumer)."
  type        = list(string)
  default     = []
}

variable "backlog_age_threshold_seconds" {
  description = "Age of the oldest unacknowledged message in a consumer subscription that raises an alert."
  type        = number
  default     = 300
}

variable "service_name" {
  description = "The venue-edge Cloud Run service; an alert fires when it has no running instance. null: no such alert."
  type        = string
  default     = null
}

variable "region" {
  description = "Region of the venue-edge service (the /readyz uptime check names it)."
  type        = string
}

variable "function_names" {
  description = "The Cloud Functions (their Cloud Run service names): error metric and alert."
  type        = list(string)
  default     = []
}

variable "venue_down_seconds" {
  description = "A venue session's private stream down longer than this pages."
  type        = number
  default     = 60
}

variable "function_error_threshold" {
  description = "ERROR log entries of one function in 5 minutes that page."
  type        = number
  default     = 5
}
