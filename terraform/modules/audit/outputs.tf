output "bucket" {
  description = "The audit bucket's name."
  value       = google_storage_bucket.audit.name
}

output "location" {
  description = "Where `npm run audit -- verify --dir` reads: gs://<bucket>/<prefix>."
  value       = "gs://${google_storage_bucket.audit.name}/${var.prefix}"
}

output "topic" {
  description = "The audit records topic."
  value       = google_pubsub_topic.records.name
}
