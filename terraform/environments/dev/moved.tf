# The platform moved from this root module into modules/platform: these blocks carry the state of
# an environment applied before the move to the new addresses, so the next plan moves every resource
# instead of destroying and recreating it. Keep them (they cost nothing once applied).

moved {
  from = google_project_service.api
  to   = module.platform.google_project_service.api
}

moved {
  from = module.storage
  to   = module.platform.module.storage
}

moved {
  from = module.firestore
  to   = module.platform.module.firestore
}

moved {
  from = module.secrets
  to   = module.platform.module.secrets
}

moved {
  from = module.artifact_registry
  to   = module.platform.module.artifact_registry
}

moved {
  from = module.iam
  to   = module.platform.module.iam
}

moved {
  from = module.functions
  to   = module.platform.module.functions
}

moved {
  from = module.pubsub
  to   = module.platform.module.pubsub
}

moved {
  from = module.cloud_run
  to   = module.platform.module.cloud_run
}

moved {
  from = module.monitoring
  to   = module.platform.module.monitoring
}
