output "service_uri" {
  description = "HTTPS URI of the venue-edge service (HTTP API and ops console)."
  value       = module.cloud_run.uri
}

output "service_revision" {
  description = "Revision of the venue-edge service now serving."
  value       = module.cloud_run.latest_revision
}

output "function_uris" {
  description = "Function name to the URI its push subscription posts to."
  value       = module.functions.uris
}

output "functions_source_object" {
  description = "Source archive the functions were built from."
  value       = module.functions.source_object
}

output "data_bucket" {
  description = "Bucket of tick data and backtest results (EXEC_BUCKET)."
  value       = module.storage.names["data"]
}

output "image_repository" {
  description = "Docker repository URL to push the venue-edge image to."
  value       = module.artifact_registry.url
}

output "service_accounts" {
  description = "Account id to service account email."
  value       = module.iam.emails
}

output "dead_letter_subscriptions" {
  description = "Dead-letter topic to the ops subscription that holds its messages."
  value       = module.pubsub.dead_letter_subscriptions
}

output "labels" {
  description = "Labels of every resource (app, env and var.labels): the root module's google provider sets them as default_labels."
  value       = local.labels
}

output "egress_ip" {
  description = "The venue edge's static egress address (Cloud NAT): whitelist it on every venue API key."
  value       = module.network.egress_ip
}
