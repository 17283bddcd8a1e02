output "emails" {
  description = "Account id to service account email."
  value       = { for id, a in google_service_account.account : id => a.email }
}

output "members" {
  description = "Account id to IAM member (serviceAccount:<email>)."
  value       = { for id, a in google_service_account.account : id => a.member }
}

output "custom_roles" {
  description = "Custom role id to its full name (projects/<p>/roles/<id>)."
  value       = local.custom_role_ids
}
