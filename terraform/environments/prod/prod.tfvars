# prod's non-secret settings, committed: cloudbuild.yaml plans and applies with
#   -var-file=prod.tfvars -var=project_id=$PROJECT_ID -var=stateful_image=... -var=functions_source_archive=...
# No credential belongs here: venue keys live in Secret Manager, their versions added by
# terraform/scripts/bootstrap-secrets.sh before the first deploy (docs/deploy.md "Secrets").

region           = "europe-west1"
exec_config_path = "../../../config/prod.json"

# Venue credentials: the variable config/prod.json references => Secret Manager secret id. Only the
# venue-edge service reads them; the functions' copy of the config has them withheld.
stateful_secret_env = {
  BINANCE_SPOT_API_KEY       = "binance-spot-api-key"
  BINANCE_SPOT_API_SECRET    = "binance-spot-api-secret"
  BINANCE_FUTURES_API_KEY    = "binance-futures-api-key"
  BINANCE_FUTURES_API_SECRET = "binance-futures-api-secret"
  OKX_API_KEY                = "okx-api-key"
  OKX_API_SECRET             = "okx-api-secret"
  OKX_API_PASSPHRASE         = "okx-api-passphrase"
  DERIBIT_API_KEY            = "deribit-api-key"
  DERIBIT_API_SECRET         = "deribit-api-secret"
}

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
