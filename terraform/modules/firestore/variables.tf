variable "project_id" {
  description = "Project of the Firestore database."
  type        = string
}

variable "database" {
  description = "Database id; (default) unless the configuration names another (storage.firestore_database)."
  type        = string
  default     = "(default)"
}

variable "location" {
  description = "Firestore location: a multi-region (eur3, nam5) or a region; cannot change after creation."
  type        = string
}

variable "create_database" {
  description = "Create the database; false when it already exists (made by Firebase, App Engine or by hand) and only the indexes are managed here."
  type        = bool
  default     = true
}

variable "indexes_file" {
  description = "Path of firestore.indexes.json (Firebase format): every composite index and field override in it is created."
  type        = string
}

variable "collection_prefix" {
  description = "The configuration's storage.collection_prefix; prepended to the top-level collection groups so indexes match the prefixed collections."
  type        = string
  default     = ""
}

variable "top_level_collections" {
  description = "Collection groups that are top-level collections and so carry collection_prefix (subcollections such as events and fills do not)."
  type        = list(string)
  default     = ["orders", "positions", "leases"]
}

variable "point_in_time_recovery" {
  description = "Keep 7 days of versions for point-in-time recovery."
  type        = bool
  default     = true
}

variable "delete_protection" {
  description = "Refuse to delete the database (the order book of record)."
  type        = bool
  default     = true
}
