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
