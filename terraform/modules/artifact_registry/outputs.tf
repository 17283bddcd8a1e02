output "id" {
  description = "Repository resource id (projects/<p>/locations/<r>/repositories/<id>), the functions' docker_repository."
  value       = google_artifact_registry_repository.repository.id
}

output "url" {
  description = "Docker URL prefix: <region>-docker.pkg.dev/<project>/<repository>."
  value       = "${var.region}-docker.pkg.dev/${var.project_id}/${google_artifact_registry_repository.repository.repository_id}"
}
