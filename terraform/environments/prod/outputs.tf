output "service_uri" {
  description = "HTTPS URI of the venue-edge service (HTTP API and ops console)."
  value       = module.platform.service_uri
}

output "service_revision" {
  description = "Revision of the venue-edge service now serving."
  value       = module.platform.service_revision
}

output "function_uris" {
  description = "Function name to the URI its push subscription posts to."
  value       = module.platform.function_uris
}

output "functions_source_object" {
  description = "Source archive the functions were built from."
  value       = module.platform.functions_source_object
}

output "data_bucket" {
  description = "Bucket of tick data and backtest results (EXEC_BUCKET)."
  value       = module.platform.data_bucket
}

output "image_repository" {
  description = "Docker repository URL to push the venue-edge image to."
  value       = module.platform.image_repository
}

output "service_accounts" {
  description = "Account id to service account email."
  value       = module.platform.service_accounts
}

output "dead_letter_subscriptions" {
  description = "Dead-letter topic to the ops subscription that holds its messages."
  value       = module.platform.dead_letter_subscriptions
}

output "egress_ip" {
  description = "The venue edge's static egress address (Cloud NAT): whitelist it on every venue API key."
  value       = module.platform.egress_ip
}
