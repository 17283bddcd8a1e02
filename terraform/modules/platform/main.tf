# The whole execution platform of one environment: APIs, identities and grants, buckets, Firestore,
# secrets, the image repository, the functions, topics and subscriptions, the venue-edge service
# and its alerts. environments/<env>/main.tf calls it with that environment's values (the tests
# check that every environment sets the same inputs); what runs where comes from modules/catalog.
#
# The root module configures the google provider (project, region, default_labels = the `labels`
# output), so this module has no provider block.

data "google_project" "this" {
  project_id = var.project_id
}

locals {
  labels = merge({ app = "exec-platform", env = var.environment }, var.labels)

  apis = [
    "artifactregistry.googleapis.com",
    "cloudbuild.googleapis.com",
    "cloudfunctions.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "firestore.googleapis.com",
    "iam.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "secretmanager.googleapis.com",
    "storage.googleapis.com",
  ]

  # A declared function is deployed once its code exists (functions/<name>/index.ts): the catalog
  # can list what is planned, and a folder that is not declared fails the tests.
  functions = {
    for name, f in module.catalog.functions : name => f
    if fileexists("${path.module}/../../../functions/${name}/index.ts")
  }
  service = module.catalog.service

  # Identities: one per workload, one push identity per function, one builder.
  service_account = "run-${local.service.name}"
  build_account   = "fn-build"
  service_accounts = merge(
    { for name, f in local.functions : "fn-${name}" => { display_name = "Function ${name}", description = f.description } },
    { for name, f in local.functions : "push-${name}" => { display_name = "Push to ${name}", description = "Pub/Sub push identity of ${name}.${f.trigger_topic}: may only invoke ${name}." } },
    { (local.service_account) = { display_name = "Service ${local.service.name}", description = local.service.description } },
    { (local.build_account) = { display_name = "Functions build", description = "Cloud Build identity that builds the functions' images." } },
  )

  # Subscriptions `<consumer>.<topic>` (docs/messaging.md): one push subscription per function, the
  # service's pull subscriptions.
  function_subscriptions = { for name, f in local.functions : name => "${name}.${f.trigger_topic}" }
  service_subscriptions  = { for topic, s in local.service.subscriptions : topic => "${local.service.name}.${topic}" }

  # The configuration the workloads load (docs/configuration.md).
  exec_config_text = file(var.exec_config_path)
  exec_config      = jsondecode(local.exec_config_text)
  # The functions' copy of the configuration: every credential field points at one plain variable
  # holding a placeholder (the loader takes secrets only as $${VAR}), so no function can read a venue
  # key (they never call a venue; the LIVE venues' settings still route and risk-check).
  functions_config_text = replace(
    local.exec_config_text,
    "/\"(api_key|api_secret|password)\"(\\s*):(\\s*)\"[^\"]*\"/",
    "\"$1\"$2:$3\"$${EXEC_WITHHELD_CREDENTIAL}\"",
  )
  functions_environment = merge(local.environment, { EXEC_WITHHELD_CREDENTIAL = "withheld-from-functions" })
  subscriptions = merge(
    {
      for name, f in local.functions : local.function_subscriptions[name] => {
        topic                = f.trigger_topic
        ack_deadline_seconds = f.ack_deadline_seconds
        minimum_backoff      = f.minimum_backoff
        maximum_backoff      = f.maximum_backoff
        filter               = ""
        push = {
          endpoint              = "${module.functions.uris[name]}/projects/${var.project_id}/topics/${f.trigger_topic}"
          audience              = module.functions.uris[name]
          service_account_email = module.iam.emails["push-${name}"]
        }
      }
    },
    {
      for topic, s in local.service.subscriptions : local.service_subscriptions[topic] => {
        topic                = topic
        ack_deadline_seconds = s.ack_deadline_seconds
        minimum_backoff      = s.minimum_backoff
        maximum_backoff      = s.maximum_backoff
        filter               = ""
        push                 = null
      }
    },
  )
  # Every subscription the service pulls. SIMULATED venues run behind the venue edge like SHADOW and
  # LIVE ones (stateful/edge/runtime.ts), so the edge's one `venue-edge.orders.routed` serves them all.
  service_pulls = values(local.service_subscriptions)

  # What each runtime identity may do. A consumer also publishes to the dead-letter topics of its
  # own subscriptions: our code dead-letters poison messages itself (docs/messaging.md).
  workloads = merge(
    {
      for name, f in local.functions : "fn-${name}" => {
        publishes      = concat(f.publishes, ["${local.function_subscriptions[name]}.dlq"])
        firestore      = f.firestore
        reads_data     = f.reads_data
        writes_results = f.writes_results
        # No function reads a venue key: their configuration has the credentials withheld.
        secrets = []
      }
    },
    {
      (local.service_account) = {
        publishes      = concat(local.service.publishes, [for sub in local.service_pulls : "${sub}.dlq"])
        firestore      = local.service.firestore
        reads_data     = local.service.reads_data
        writes_results = false
        secrets        = distinct(values(var.stateful_secret_env))
      }
    },
  )

  data_bucket    = "${var.project_id}-exec-data"
  sources_bucket = "${var.project_id}-exec-fn-sources"

  # The variables config files reference (docs/configuration.md); EXEC_CONFIG is set by the modules.
  environment = merge({
    GCP_PROJECT      = var.project_id
    EXEC_BUCKET      = local.data_bucket
    LOG_LEVEL        = var.log_level
    BACKTEST_WORKERS = tostring(var.backtest_workers)
    # Secret versions ("latest") are resolved when an instance starts: bump secrets_generation after
    # adding a version and every workload gets a new revision that reads it.
    EXEC_SECRETS_GENERATION = tostring(var.secrets_generation)
    # The API verifies Google ID tokens minted for the service's own URL (deterministic:
    # https://<service>-<project number>.<region>.run.app) and grants the operator named here
    # (config/{dev,prod}.json `auth`, docs/security.md).
    EXEC_AUTH_AUDIENCE      = "https://${local.service.name}-${data.google_project.this.number}.${var.region}.run.app"
    EXEC_OPERATOR_PRINCIPAL = var.operator_principal
  }, var.extra_environment)

  firestore_condition = {
    title       = "exec-database-only"
    description = "Only the platform's Firestore database."
    expression  = "resource.name == \"${module.firestore.database_resource_name}\""
  }

  project_roles = merge(
    { for acct, w in local.workloads : "${acct} datastore-user" => { account = acct, role = "roles/datastore.user", condition = local.firestore_condition } if w.firestore },
    # PubSubEventBus.health() lists one topic: only pubsub.topics.list, not the Pub/Sub viewer role.
    { "${local.service_account} topics-list" = { account = local.service_account, role = "execPubsubTopicLister", condition = null } },
    { "${local.build_account} log-writer" = { account = local.build_account, role = "roles/logging.logWriter", condition = null } },
    {
      "${local.build_account} gcf-sources" = {
        account = local.build_account
        role    = "roles/storage.objectViewer"
        condition = {
          title       = "gcf-staging-buckets-only"
          description = "The buckets Cloud Functions stages sources in."
          expression  = "resource.name.startsWith(\"projects/_/buckets/gcf-v2-sources-\")"
        }
      }
    },
  )

  bucket_roles = merge(
    { for acct, w in local.workloads : "${acct} data-viewer" => { account = acct, bucket = module.storage.names["data"], role = "roles/storage.objectViewer", condition = null } if w.reads_data },
    {
      for acct, w in local.workloads : "${acct} results-user" => {
        account = acct
        bucket  = module.storage.names["data"]
        role    = "roles/storage.objectUser"
        condition = {
          title       = "results-prefix-only"
          description = "Write only under the backtest results prefix."
          expression  = "resource.name.startsWith(\"projects/_/buckets/${local.data_bucket}/objects/${var.results_prefix}/\")"
        }
      } if w.writes_results
    },
    { "${local.build_account} sources-viewer" = { account = local.build_account, bucket = module.storage.names["sources"], role = "roles/storage.objectViewer", condition = null } },
  )

  secret_accessors = merge(
    { for acct, w in local.workloads : "${acct} config" => { account = acct, secret = startswith(acct, "fn-") ? module.secrets.functions_config_secret_id : module.secrets.config_secret_id } },
    merge([for acct, w in local.workloads : { for s in w.secrets : "${acct} ${s}" => { account = acct, secret = module.secrets.secret_ids[s] } }]...),
  )

  publisher_grants = concat(
    flatten([for acct, w in local.workloads : [for t in w.publishes : { topic = t, key = acct, member = module.iam.members[acct] }]]),
    flatten([for m in var.order_publishers : [for t in ["orders.requests", "orders.cancels"] : { topic = t, key = m, member = m }]]),
    [for m in var.backtest_requesters : { topic = "backtests.requests", key = m, member = m }],
  )
  topic_publishers = {
    for topic, grants in { for g in local.publisher_grants : g.topic => { (g.key) = g.member }... } : topic => merge(grants...)
  }
}

resource "google_project_service" "api" {
  for_each = toset(local.apis)

  project            = var.project_id
  service            = each.key
  disable_on_destroy = false
}

module "catalog" {
  source = "../catalog"
}

module "storage" {
  source = "../storage"

  project_id = var.project_id
  location   = var.region
  labels     = local.labels
  buckets = {
    data = {
      name       = local.data_bucket
      versioning = var.data_versioning
      lifecycle_rules = concat(
        [{ action = "Delete", age = var.results_retention_days, matches_prefix = ["${var.results_prefix}/"] }],
        var.tick_data_nearline_after_days == null ? [] : [
          { action = "SetStorageClass", storage_class = "NEARLINE", age = var.tick_data_nearline_after_days, matches_prefix = ["${var.tick_data_prefix}/"] },
        ],
        var.data_versioning ? [{ action = "Delete", with_state = "ARCHIVED", num_newer_versions = 3 }] : [],
      )
    }
    sources = {
      name          = local.sources_bucket
      force_destroy = true
      lifecycle_rules = [
        { action = "Delete", age = var.sources_retention_days },
      ]
    }
  }

  depends_on = [google_project_service.api]
}

module "firestore" {
  source = "../firestore"

  project_id             = var.project_id
  location               = var.firestore_location
  database               = var.firestore_database
  create_database        = var.create_firestore_database
  indexes_file           = "${path.module}/../../../firestore.indexes.json"
  collection_prefix      = var.collection_prefix
  point_in_time_recovery = var.firestore_point_in_time_recovery
  delete_protection      = var.deletion_protection

  depends_on = [google_project_service.api]
}

module "secrets" {
  source = "../secrets"

  project_id            = var.project_id
  secret_ids            = toset(values(var.stateful_secret_env))
  config_json           = local.exec_config_text
  functions_config_json = local.functions_config_text
  labels                = local.labels

  depends_on = [google_project_service.api]
}

module "artifact_registry" {
  source = "../artifact_registry"

  project_id = var.project_id
  region     = var.region
  labels     = local.labels
  writers    = { (local.build_account) = module.iam.members[local.build_account] }

  depends_on = [google_project_service.api]
}

module "iam" {
  source = "../iam"

  project_id       = var.project_id
  service_accounts = local.service_accounts
  custom_roles = {
    execPubsubTopicLister = {
      title       = "Pub/Sub topic lister"
      description = "Lists topics: the event bus health check, and nothing else."
      permissions = ["pubsub.topics.list"]
    }
  }
  project_roles    = local.project_roles
  bucket_roles     = local.bucket_roles
  secret_accessors = local.secret_accessors

  depends_on = [google_project_service.api]
}

module "functions" {
  source = "../functions"

  project_id            = var.project_id
  region                = var.region
  source_bucket         = module.storage.names["sources"]
  source_archive        = var.functions_source_archive
  environment           = local.functions_environment
  build_service_account = module.iam.emails[local.build_account]
  docker_repository     = module.artifact_registry.id
  labels                = local.labels
  config_secret = {
    secret  = module.secrets.functions_config_secret_id
    version = module.secrets.functions_config_version
  }
  functions = {
    for name, f in local.functions : name => {
      description           = f.description
      service_account_email = module.iam.emails["fn-${name}"]
      invoker_email         = module.iam.emails["push-${name}"]
      memory                = f.memory
      cpu                   = f.cpu
      timeout_seconds       = f.timeout_seconds
      max_instances         = f.max_instances
      secret_environment    = {}
    }
  }

  # Secrets and roles must be in place before a revision starts (Cloud Run checks secret access).
  depends_on = [module.iam]
}

module "pubsub" {
  source = "../pubsub"

  project_id     = var.project_id
  project_number = data.google_project.this.number
  topics         = module.catalog.topics
  subscriptions  = local.subscriptions
  labels         = local.labels

  topic_publishers = local.topic_publishers
  topic_subscribers = {
    for topic, members in var.topic_subscribers : topic => { for m in members : m => m }
  }
  subscription_subscribers = {
    for sub in local.service_pulls : sub => { (local.service_account) = module.iam.members[local.service_account] }
  }

  depends_on = [google_project_service.api]
}

module "network" {
  source = "../network"

  project_id = var.project_id
  region     = var.region
  labels     = local.labels

  depends_on = [google_project_service.api]
}

module "cloud_run" {
  source = "../cloud_run"

  project_id            = var.project_id
  region                = var.region
  name                  = local.service.name
  image                 = var.stateful_image
  service_account_email = module.iam.emails[local.service_account]
  cpu                   = var.stateful_cpu
  memory                = var.stateful_memory
  environment           = local.environment
  secret_environment    = { for env, secret in var.stateful_secret_env : env => { secret = module.secrets.secret_ids[secret] } }
  config_secret = {
    secret  = module.secrets.config_secret_id
    version = module.secrets.config_version
  }
  vpc_egress = {
    network    = module.network.network
    subnetwork = module.network.subnetwork
  }
  ingress = var.stateful_ingress
  # The callers, and the monitoring service agent for the /readyz uptime check (modules/monitoring).
  invokers = merge(
    { for m in var.api_invokers : m => m },
    { uptime = "serviceAccount:service-${data.google_project.this.number}@gcp-sa-monitoring-notification.iam.gserviceaccount.com" },
  )
  deletion_protection = var.deletion_protection
  labels              = local.labels

  # Its subscriptions and grants exist before it starts pulling.
  depends_on = [module.iam, module.pubsub]
}

module "monitoring" {
  source = "../monitoring"

  project_id                    = var.project_id
  name_prefix                   = "exec-platform ${var.environment}"
  notification_channels         = var.notification_channels
  consumer_subscriptions        = keys(local.subscriptions)
  backlog_age_threshold_seconds = var.backlog_age_threshold_seconds
  service_name                  = module.cloud_run.name
  region                        = var.region
  function_names                = keys(local.functions)

  depends_on = [google_project_service.api]
}

# ---------------------------------------------------------------------------------------------
# Audit trail (modules/audit): the WORM bucket, the audit.records topic and its Cloud Storage
# subscription. Every workload that writes orders or trading states may publish to it.
# ---------------------------------------------------------------------------------------------

module "audit" {
  source = "../audit"

  project_id       = var.project_id
  location         = var.region
  bucket_name      = "${var.project_id}-exec-audit"
  retention_days   = var.audit_retention_days
  retention_locked = var.audit_retention_locked
  labels           = local.labels
  publishers = {
    for id in concat([local.service_account], [for name, f in local.functions : "fn-${name}"]) :
    id => module.iam.members[id]
  }

  depends_on = [google_project_service.api]
}
