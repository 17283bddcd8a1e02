output "secret_ids" {
  description = "Secret key to secret id for the credentials (depend on this to wait for the secrets to exist)."
  value       = { for k, s in google_secret_manager_secret.secret : k => s.secret_id }
}

output "config_secret_id" {
  description = "Secret id of the configuration file."
  value       = google_secret_manager_secret.config.secret_id
}

output "config_version" {
  description = "Version number of the configuration now in force (pinned by every workload)."
  value       = google_secret_manager_secret_version.config.version
}

output "functions_config_secret_id" {
  description = "Secret id of the functions' configuration (credentials withheld)."
  value       = google_secret_manager_secret.functions_config.secret_id
}

output "functions_config_version" {
  description = "Version number of the functions' configuration now in force (pinned by every function)."
  value       = google_secret_manager_secret_version.functions_config.version
}
