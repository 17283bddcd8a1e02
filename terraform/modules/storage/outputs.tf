output "names" {
  description = "Bucket key to bucket name."
  value       = { for k, b in google_storage_bucket.bucket : k => b.name }
}

output "urls" {
  description = "Bucket key to gs:// URL."
  value       = { for k, b in google_storage_bucket.bucket : k => b.url }
}
