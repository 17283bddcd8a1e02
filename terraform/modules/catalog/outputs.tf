output "topics" {
  description = "The platform's Pub/Sub topic ids (TOPICS in shared/ports/event-bus.ts)."
  value       = local.topics
}

output "functions" {
  description = "Cloud Functions by name (= folder under functions/ = entry point) with trigger topic, grants and limits."
  value       = local.functions
}

output "service" {
  description = "The stateful Cloud Run service: name, topics it publishes to, grants and the subscriptions it pulls (by topic)."
  value       = local.service
}
