output "network" {
  description = "Network id, for the venue edge's Direct VPC egress."
  value       = google_compute_network.network.id
}

output "subnetwork" {
  description = "Subnetwork id, for the venue edge's Direct VPC egress."
  value       = google_compute_subnetwork.egress.id
}

output "egress_ip" {
  description = "The static egress address: whitelist it on every venue API key."
  value       = google_compute_address.egress.address
}
