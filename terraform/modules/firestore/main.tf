# The Firestore database (the OMS and positions) and its indexes. The indexes come from
# firestore.indexes.json at the repository root, the file the Firebase CLI and the emulator
# documentation use, so the code's queries and the deployed indexes have one list.

locals {
  spec = jsondecode(file(var.indexes_file))

  prefixed = { for g in var.top_level_collections : g => true }

  indexes = {
    for index in lookup(local.spec, "indexes", []) :
    join(" ", concat(
      [index.collectionGroup, lookup(index, "queryScope", "COLLECTION")],
      [for f in index.fields : "${f.fieldPath}:${lookup(f, "order", lookup(f, "arrayConfig", ""))}"],
    )) => index
  }

  field_overrides = {
    for o in lookup(local.spec, "fieldOverrides", []) : "${o.collectionGroup} ${o.fieldPath}" => o
  }

  database = var.create_database ? google_firestore_database.database[0].name : var.database
}

resource "google_firestore_database" "database" {
  count = var.create_database ? 1 : 0

  project                           = var.project_id
  name                              = var.database
  location_id                       = var.location
  type                              = "FIRESTORE_NATIVE"
  app_engine_integration_mode       = "DISABLED"
  point_in_time_recovery_enablement = var.point_in_time_recovery ? "POINT_IN_TIME_RECOVERY_ENABLED" : "POINT_IN_TIME_RECOVERY_DISABLED"
  delete_protection_state           = var.delete_protection ? "DELETE_PROTECTION_ENABLED" : "DELETE_PROTECTION_DISABLED"
  deletion_policy                   = var.delete_protection ? "ABANDON" : "DELETE"
}

resource "google_firestore_index" "index" {
  for_each = local.indexes

  project     = var.project_id
  database    = local.database
  collection  = lookup(local.prefixed, each.value.collectionGroup, false) ? "${var.collection_prefix}${each.value.collectionGroup}" : each.value.collectionGroup
  query_scope = lookup(each.value, "queryScope", "COLLECTION")

  dynamic "fields" {
    for_each = each.value.fields
    content {
      field_path   = fields.value.fieldPath
      order        = lookup(fields.value, "order", null)
      array_config = lookup(fields.value, "arrayConfig", null)
    }
  }
}

# Single-field index exemptions (and TTL policies): `"indexes": []` turns indexing of the field off,
# e.g. large JSON text that nothing queries (cheaper writes, no 1,500-byte index entry limit).
resource "google_firestore_field" "override" {
  for_each = local.field_overrides

  project    = var.project_id
  database   = local.database
  collection = lookup(local.prefixed, each.value.collectionGroup, false) ? "${var.collection_prefix}${each.value.collectionGroup}" : each.value.collectionGroup
  field      = each.value.fieldPath

  index_config {
    dynamic "indexes" {
      for_each = lookup(each.value, "indexes", [])
      content {
        query_scope  = lookup(indexes.value, "queryScope", "COLLECTION")
        order        = lookup(indexes.value, "order", null)
        array_config = lookup(indexes.value, "arrayConfig", null)
      }
    }
  }

  dynamic "ttl_config" {
    for_each = lookup(each.value, "ttl", false) ? [1] : []
    content {}
  }
}
