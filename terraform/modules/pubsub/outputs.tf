output "topic_ids" {
  description = "Topic id (name) to its full resource id, including the dead-letter topics."
  value       = { for name, t in google_pubsub_topic.topic : name => t.id }
}

output "subscription_ids" {
  description = "Consumer subscription name to its full resource id."
  value       = { for name, s in google_pubsub_subscription.subscription : name => s.id }
}

output "dead_letter_topics" {
  description = "Consumer subscription name to its dead-letter topic id (`<subscription>.dlq`)."
  value       = local.dead_letter_topics
}

output "dead_letter_subscriptions" {
  description = "Dead-letter topic to the ops subscription that collects it."
  value       = { for sub, topic in local.dead_letter_topics : topic => google_pubsub_subscription.dead_letters[sub].name }
}
