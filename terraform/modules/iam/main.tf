# Identities and least-privilege grants. One service account per workload: each function, the
# venue-edge service, each function's Pub/Sub push identity, and the account that builds the
# functions. Grants are as narrow as the resource allows: a topic, a subscription, a secret, a bucket
# (or a prefix of it), one Firestore database. Grants on topics and subscriptions live in the pubsub
# module, the run.invoker grants in the functions and cloud_run modules, beside their resources.

locals {
  custom_role_ids = { for id, r in google_project_iam_custom_role.role : id => r.id }

  resolve_role = { for k, g in var.project_roles : k => lookup(local.custom_role_ids, g.role, g.role) }
}

resource "google_service_account" "account" {
  for_each = var.service_accounts

  project      = var.project_id
  account_id   = each.key
  display_name = each.value.display_name
  description  = each.value.description
}

resource "google_project_iam_custom_role" "role" {
  for_each = var.custom_roles

  project     = var.project_id
  role_id     = each.key
  title       = each.value.title
  description = each.value.description
  permissions = each.value.permissions
}

resource "google_project_iam_member" "project" {
  for_each = var.project_roles

  project = var.project_id
  role    = local.resolve_role[each.key]
  member  = google_service_account.account[each.value.account].member

  dynamic "condition" {
    for_each = each.value.condition == null ? [] : [each.value.condition]
    content {
      title       = condition.value.title
      description = condition.value.description
      expression  = condition.value.expression
    }
  }
}

resource "google_storage_bucket_iam_member" "bucket" {
  for_each = var.bucket_roles

  bucket = each.value.bucket
  role   = each.value.role
  member = google_service_account.account[each.value.account].member

  dynamic "condition" {
    for_each = each.value.condition == null ? [] : [each.value.condition]
    content {
      title       = condition.value.title
      description = condition.value.description
      expression  = condition.value.expression
    }
  }
}

resource "google_secret_manager_secret_iam_member" "accessor" {
  for_each = var.secret_accessors

  project   = var.project_id
  secret_id = each.value.secret
  role      = "roles/secretmanager.secretAccessor"
  member    = google_service_account.account[each.value.account].member
}
