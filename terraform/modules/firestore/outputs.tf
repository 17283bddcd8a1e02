output "database" {
  description = "Database id the workloads use (storage.firestore_database, or (default))."
  value       = local.database
}

output "database_resource_name" {
  description = "projects/<project>/databases/<id>: the resource name IAM conditions restrict roles/datastore.user to."
  value       = "projects/${var.project_id}/databases/${local.database}"
}

output "index_keys" {
  description = "The composite indexes created, as '<collection group> <scope> <field>:<order>...'."
  value       = keys(google_firestore_index.index)
}
