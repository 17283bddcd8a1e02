variable "project_id" {
  description = "Project that owns the topics and subscriptions."
  type        = string
}

variable "project_number" {
  description = "Number of that project; names the Pub/Sub service agent (service-<number>@gcp-sa-pubsub.iam.gserviceaccount.com), which forwards dead letters and mints push tokens."
  type        = string
}

variable "topics" {
  description = "Topic ids to create, used unchanged (docs/messaging.md: our names are the Pub/Sub ids)."
  type        = list(string)

  validation {
    condition     = alltrue([for t in var.topics : can(regex("^[A-Za-z][A-Za-z0-9._~+%-]{2,254}$", t)) && !startswith(t, "goog")])
    error_message = "Topic ids are 3-255 characters of letters, digits and - _ . ~ + %, start with a letter and do not start with goog."
  }
}

variable "subscriptions" {
  description = <<-EOT
    Consumer subscriptions by name. The name must be `<consumer>.<topic>` (docs/messaging.md). Each one
    gets the dead-letter topic `<name>.dlq` (max_delivery_attempts, native forwarding by the Pub/Sub
    service agent) and an `ops.<name>.dlq` subscription on it so no dead letter is lost.
    push: null for a pull subscription (the Cloud Run service); otherwise Pub/Sub pushes to
    `endpoint` with an OIDC token of `service_account_email` for `audience` (a Cloud Function).
  EOT
  type = map(object({
    topic                = string
    ack_deadline_seconds = optional(number, 60)
    minimum_backoff      = optional(string, "1s")
    maximum_backoff      = optional(string, "60s")
    filter               = optional(string, "")
    retention            = optional(string, "604800s")
    push = optional(object({
      endpoint              = string
      audience              = string
      service_account_email = string
    }))
  }))

  validation {
    condition     = alltrue([for name, s in var.subscriptions : endswith(name, ".${s.topic}") && length(name) > length(s.topic) + 1])
    error_message = "Subscription names are <consumer>.<topic>, with the topic the subscription is bound to."
  }

  validation {
    condition     = alltrue([for s in values(var.subscriptions) : s.ack_deadline_seconds >= 10 && s.ack_deadline_seconds <= 600])
    error_message = "ack_deadline_seconds must be between 10 and 600."
  }
}

variable "max_delivery_attempts" {
  description = "Deliveries before Pub/Sub forwards a message to the subscription's dead-letter topic (our adapters dead-letter at the same count, so a message is never dead-lettered twice)."
  type        = number
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "Pub/Sub accepts 5 to 100 delivery attempts."
  }
}

variable "dead_letter_retention" {
  description = "How long the ops subscription of a dead-letter topic keeps unacknowledged dead letters (at most 31 days)."
  type        = string
  default     = "1209600s"
}

variable "topic_publishers" {
  description = "roles/pubsub.publisher: topic id (a topic above or a `<subscription>.dlq`) to { key => member }. The keys (e.g. the workload name) must be known at plan time; the members may come from resources created in the same apply."
  type        = map(map(string))
  default     = {}
}

variable "topic_subscribers" {
  description = "roles/pubsub.subscriber on a topic, as { key => member } per topic: lets members attach their own subscriptions (other teams' consumers of exec.orders, exec.fills, ...)."
  type        = map(map(string))
  default     = {}
}

variable "subscription_subscribers" {
  description = "roles/pubsub.subscriber on a subscription, as { key => member } per subscription name: who may pull from it."
  type        = map(map(string))
  default     = {}
}

variable "labels" {
  description = "Labels on every topic and subscription."
  type        = map(string)
  default     = {}
}
