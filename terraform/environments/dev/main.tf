# The dev environment: the platform (modules/platform) with dev's settings. Every environment
# calls the module with the same inputs (test/unit/terraform checks it); they differ only in the
# settings below, their terraform.tfvars and the state prefix in backend.tf.

provider "google" {
  project        = var.project_id
  region         = var.region
  default_labels = module.platform.labels
}

module "platform" {
  source = "../../modules/platform"

  # dev: cheap and disposable (no deletion protection, no point-in-time recovery, short retention).
  environment = "dev"

  stateful_memory                  = "1Gi"
  firestore_location               = "europe-west1"
  firestore_point_in_time_recovery = false
  results_retention_days           = 30
  tick_data_nearline_after_days    = null
  data_versioning                  = false
  sources_retention_days           = 30
  deletion_protection              = false

  # Per project and per deploy (variables.tf: terraform.tfvars, cloudbuild.yaml).
  project_id               = var.project_id
  region                   = var.region
  stateful_image           = var.stateful_image
  functions_source_archive = var.functions_source_archive
  exec_config_path         = var.exec_config_path
  extra_environment        = var.extra_environment
  operator_principal       = var.operator_principal
  stateful_secret_env      = var.stateful_secret_env
  secrets_generation       = var.secrets_generation
  order_publishers         = var.order_publishers
  backtest_requesters      = var.backtest_requesters
  api_invokers             = var.api_invokers
  topic_subscribers        = var.topic_subscribers
  notification_channels    = var.notification_channels
}
