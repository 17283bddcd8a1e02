# Topics, consumer subscriptions with dead-letter topics, and the IAM that Pub/Sub itself needs.
#
# Cloud Functions are NOT given Eventarc triggers: an Eventarc trigger creates its own push
# subscription with a generated name and no dead-letter topic we can manage. Instead each function
# is an authenticated HTTP function fed by a push subscription declared here, named
# `<function>.<topic>` like every other consumer, with our retry policy, ack deadline and
# `<function>.<topic>.dlq`. The push endpoint ends in /projects/<project>/topics/<topic>, which the
# functions framework turns into the same `google.cloud.pubsub.topic.v1.messagePublished`
# CloudEvent an Eventarc trigger would deliver.

locals {
  pubsub_agent = "serviceAccount:service-${var.project_number}@gcp-sa-pubsub.iam.gserviceaccount.com"

  # `<subscription>.dlq` for every consumer subscription (deadLetterTopicFor in the code).
  dead_letter_topics = { for name, s in var.subscriptions : name => "${name}.dlq" }

  all_topics = toset(concat(var.topics, values(local.dead_letter_topics)))

  # Flattened grants keyed "<topic or subscription> <key>": static keys, so for_each works even when
  # the members are emails of service accounts created in the same apply.
  topic_publishers = merge([
    for topic, members in var.topic_publishers : { for k, m in members : "${topic} ${k}" => { topic = topic, member = m } }
  ]...)
  topic_subscribers = merge([
    for topic, members in var.topic_subscribers : { for k, m in members : "${topic} ${k}" => { topic = topic, member = m } }
  ]...)
  subscription_subscribers = merge([
    for sub, members in var.subscription_subscribers : { for k, m in members : "${sub} ${k}" => { subscription = sub, member = m } }
  ]...)
}

resource "google_pubsub_topic" "topic" {
  for_each = local.all_topics

  project = var.project_id
  name    = each.key
  labels  = var.labels
}

resource "google_pubsub_subscription" "subscription" {
  for_each = var.subscriptions

  project = var.project_id
  name    = each.key
  topic   = google_pubsub_topic.topic[each.value.topic].id
  labels  = var.labels

  ack_deadline_seconds       = each.value.ack_deadline_seconds
  message_retention_duration = each.value.retention
  filter                     = each.value.filter

  # Never delete an idle subscription (the default expires it after 31 days without a subscriber).
  expiration_policy {
    ttl = ""
  }

  retry_policy {
    minimum_backoff = each.value.minimum_backoff
    maximum_backoff = each.value.maximum_backoff
  }

  # The backstop behind our own dead-lettering (docs/messaging.md "Dead letters").
  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.topic[local.dead_letter_topics[each.key]].id
    max_delivery_attempts = var.max_delivery_attempts
  }

  dynamic "push_config" {
    for_each = each.value.push == null ? [] : [each.value.push]
    content {
      push_endpoint = push_config.value.endpoint
      oidc_token {
        service_account_email = push_config.value.service_account_email
        audience              = push_config.value.audience
      }
    }
  }

  depends_on = [google_pubsub_topic_iam_member.dead_letter_publisher]
}

# Every dead-letter topic has a subscription: a dead letter published to a topic without one is
# lost. Ops read, alert on (monitoring module) and replay from these.
resource "google_pubsub_subscription" "dead_letters" {
  for_each = local.dead_letter_topics

  project = var.project_id
  name    = "ops.${each.value}"
  topic   = google_pubsub_topic.topic[each.value].id
  labels  = var.labels

  ack_deadline_seconds       = 60
  message_retention_duration = var.dead_letter_retention
  retain_acked_messages      = false

  expiration_policy {
    ttl = ""
  }
}

# Native dead-lettering: the Pub/Sub service agent publishes to the dead-letter topic and
# acknowledges on the source subscription. Without both grants the forward silently does nothing.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  for_each = local.dead_letter_topics

  project = var.project_id
  topic   = google_pubsub_topic.topic[each.value].name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "dead_letter_subscriber" {
  for_each = var.subscriptions

  project      = var.project_id
  subscription = google_pubsub_subscription.subscription[each.key].name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# Push subscriptions authenticate with an OIDC token minted by the Pub/Sub service agent for the
# push identity (required for projects created before April 2021, harmless after).
resource "google_service_account_iam_member" "push_token_creator" {
  for_each = { for name, s in var.subscriptions : name => s.push.service_account_email if s.push != null }

  service_account_id = "projects/${var.project_id}/serviceAccounts/${each.value}"
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

resource "google_pubsub_topic_iam_member" "publisher" {
  for_each = local.topic_publishers

  project = var.project_id
  topic   = google_pubsub_topic.topic[each.value.topic].name
  role    = "roles/pubsub.publisher"
  member  = each.value.member
}

resource "google_pubsub_topic_iam_member" "subscriber" {
  for_each = local.topic_subscribers

  project = var.project_id
  topic   = google_pubsub_topic.topic[each.value.topic].name
  role    = "roles/pubsub.subscriber"
  member  = each.value.member
}

resource "google_pubsub_subscription_iam_member" "subscriber" {
  for_each = local.subscription_subscribers

  project      = var.project_id
  subscription = google_pubsub_subscription.subscription[each.value.subscription].name
  role         = "roles/pubsub.subscriber"
  member       = each.value.member
}
