variable "project_id" {
  description = "Project of the network."
  type        = string
}

variable "region" {
  description = "Region of the subnetwork, router and address: the venue edge's region."
  type        = string
}

variable "name" {
  description = "Name of the network; the subnetwork, router, NAT and address are named after it."
  type        = string
  default     = "exec-egress"
}

variable "subnet_cidr" {
  description = "Range of the egress subnetwork (Direct VPC egress takes its addresses from here: /26 or larger)."
  type        = string
  default     = "10.8.0.0/26"
}

variable "min_ports_per_vm" {
  description = "NAT ports per instance: a venue edge keeps a few dozen connections (REST keep-alive, WebSockets)."
  type        = number
  default     = 256
}

variable "labels" {
  description = "Labels on the address."
  type        = map(string)
  default     = {}
}
