output "policy_ids" {
  description = "Alert policy name to its resource id."
  value = merge(
    { dead_letters = google_monitoring_alert_policy.dead_letters.id },
    length(google_monitoring_alert_policy.backlog) > 0 ? { backlog = google_monitoring_alert_policy.backlog[0].id } : {},
    length(google_monitoring_alert_policy.service_down) > 0 ? { service_down = google_monitoring_alert_policy.service_down[0].id } : {},
  )
}
