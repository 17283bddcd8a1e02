# dev's non-secret settings, committed: cloudbuild.yaml plans and applies with
#   -var-file=dev.tfvars -var=project_id=$PROJECT_ID -var=stateful_image=... -var=functions_source_archive=...
# A local run does the same (docs/deploy.md "Apply by hand"). No credential belongs here: venue keys
# live in Secret Manager (terraform/scripts/bootstrap-secrets.sh), named by stateful_secret_env.

region           = "europe-west1"
exec_config_path = "../../../config/dev.json"

# dev trades SHADOW (the venues' public data, our matching engine): no venue keys at all.
stateful_secret_env = {}

# Bump after adding secret versions (key rotation): every workload starts a revision that reads them.
secrets_generation = 0

extra_environment = {}

# Members (user:, group:, serviceAccount:) are added here by commit, reviewed like code.
order_publishers    = []
backtest_requesters = []
api_invokers        = []
topic_subscribers   = {}

# Monitoring notification channels (projects/<project>/notificationChannels/<id>) the alerts page.
notification_channels = []
