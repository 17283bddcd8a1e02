# A static egress address for the venue edge. Venues such as Binance restrict API keys to
# whitelisted IP addresses (and ban Cloud Functions' shared addresses), so the edge's traffic leaves
# from one reserved address: Cloud Run Direct VPC egress (no connector) into this subnetwork, and
# Cloud NAT on its router translating every flow to the reserved address.
#
#   venue-edge --(Direct VPC egress, ALL_TRAFFIC)--> subnetwork --> router + Cloud NAT --> static IP
#
# Private Google Access keeps the edge's Firestore / Pub/Sub / Secret Manager traffic on Google's
# network rather than through NAT.

resource "google_compute_network" "network" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "egress" {
  project                  = var.project_id
  region                   = var.region
  name                     = "${var.name}-${var.region}"
  network                  = google_compute_network.network.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true
}

resource "google_compute_address" "egress" {
  project      = var.project_id
  region       = var.region
  name         = "${var.name}-egress"
  address_type = "EXTERNAL"
  network_tier = "PREMIUM"
  description  = "Static egress address of the venue edge: whitelist it on every venue API key."
  labels       = var.labels

  lifecycle {
    # The address is registered with the venues: losing it locks the edge out of every account.
    prevent_destroy = true
  }
}

resource "google_compute_router" "router" {
  project = var.project_id
  region  = var.region
  name    = "${var.name}-router"
  network = google_compute_network.network.id
}

resource "google_compute_router_nat" "nat" {
  project                             = var.project_id
  region                              = var.region
  name                                = "${var.name}-nat"
  router                              = google_compute_router.router.name
  nat_ip_allocate_option              = "MANUAL_ONLY"
  nat_ips                             = [google_compute_address.egress.self_link]
  source_subnetwork_ip_ranges_to_nat  = "LIST_OF_SUBNETWORKS"
  min_ports_per_vm                    = var.min_ports_per_vm
  enable_endpoint_independent_mapping = false

  subnetwork {
    name                    = google_compute_subnetwork.egress.id
    source_ip_ranges_to_nat = ["ALL_IP_RANGES"]
  }

  log_config {
    enable = true
    filter = "ERRORS_ONLY"
  }
}
