# Copy to terraform.tfvars (not committed) and fill in. cloudbuild.yaml passes project_id,
# region, stateful_image, functions_source_archive and exec_config_path on the command line.

project_id       = "acme-exec-prod"
region           = "europe-west1"
stateful_image   = "europe-west1-docker.pkg.dev/acme-exec-prod/exec-platform/venue-edge@sha256:0000000000000000000000000000000000000000000000000000000000000000"
exec_config_path = "../../../config/prod.json" # commit the production config under config/ (no credentials in it)

# Venue credentials: variable the config references => Secret Manager secret id.
# Terraform creates the secrets empty; add the values out of band:
#   printf %s "$KEY" | gcloud secrets versions add binance-spot-api-key --data-file=-
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

# The functions load the same config file; with LIVE venues in it the loader requires their
# credential variables to be set, so they need the same mapping (docs/deploy.md "Secrets").
function_secret_env = {
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

extra_environment = {}

order_publishers    = ["serviceAccount:strategy@acme-strategy-prod.iam.gserviceaccount.com"]
backtest_requesters = ["group:quant-analysts@acme.example"]
api_invokers        = ["serviceAccount:strategy@acme-strategy-prod.iam.gserviceaccount.com", "group:trading-ops@acme.example"]
topic_subscribers = {
  "exec.orders" = ["serviceAccount:strategy@acme-strategy-prod.iam.gserviceaccount.com"]
  "exec.fills"  = ["serviceAccount:strategy@acme-strategy-prod.iam.gserviceaccount.com"]
}

notification_channels = ["projects/acme-exec-prod/notificationChannels/1234567890"]
