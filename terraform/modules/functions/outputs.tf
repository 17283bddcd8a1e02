output "uris" {
  description = "Function name to the HTTPS URI of its service (the push endpoint's base and the OIDC audience)."
  value       = { for name, f in google_cloudfunctions2_function.function : name => f.service_config[0].uri }
}

output "ids" {
  description = "Function name to its resource id."
  value       = { for name, f in google_cloudfunctions2_function.function : name => f.id }
}

output "source_object" {
  description = "Name of the uploaded source archive in the source bucket."
  value       = google_storage_bucket_object.source.name
}
