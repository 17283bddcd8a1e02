output "name" {
  description = "Service name."
  value       = google_cloud_run_v2_service.service.name
}

output "uri" {
  description = "HTTPS URI of the service (HTTP API and ops console)."
  value       = google_cloud_run_v2_service.service.uri
}

output "latest_revision" {
  description = "Name of the revision that serves (rollbacks: docs/deploy.md)."
  value       = google_cloud_run_v2_service.service.latest_ready_revision
}
