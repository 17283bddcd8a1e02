variable "project_id" {
  description = "Project of the repository."
  type        = string
}

variable "region" {
  description = "Region of the repository (the same as the services, so pulls stay in-region)."
  type        = string
}

variable "repository_id" {
  description = "Repository id: the venue-edge image and the functions' built images."
  type        = string
  default     = "exec-platform"
}

variable "keep_recent" {
  description = "Versions per image kept whatever their age (rollback targets)."
  type        = number
  default     = 20
}

variable "delete_older_than_days" {
  description = "Versions older than this are deleted unless among the most recent keep_recent."
  type        = number
  default     = 90
}

variable "writers" {
  description = "roles/artifactregistry.writer on the repository, as { key => member } (the functions' build account)."
  type        = map(string)
  default     = {}
}

variable "labels" {
  description = "Labels on the repository."
  type        = map(string)
  default     = {}
}
