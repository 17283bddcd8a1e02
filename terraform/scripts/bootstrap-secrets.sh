#!/usr/bin/env bash
# Venue credentials into Secret Manager, before any workload that reads them is deployed.
#
#   terraform/scripts/bootstrap-secrets.sh check  <env> <project>   # exit 1 naming every secret without a version
#   terraform/scripts/bootstrap-secrets.sh create <env> <project>   # the empty secrets (Terraform, secrets module only)
#   terraform/scripts/bootstrap-secrets.sh add    <env> <project>   # prompt for each missing value (not echoed)
#
# The secret ids are the values of `stateful_secret_env` in terraform/environments/<env>/<env>.tfvars.
# `create` applies only the secrets module (so the ids exist, owned by Terraform like the rest);
# `add` then reads each value from the terminal and adds it as a version with gcloud, so no
# credential passes through Terraform or its state; `check` is what cloudbuild.yaml runs before
# planning. First deploy of an environment: create, add, then the Cloud Build trigger (docs/deploy.md).
set -euo pipefail
mode="${1:?usage: bootstrap-secrets.sh check|create|add <env> <project>}"
env="${2:?environment (dev, prod)}"
project="${3:?project id}"
here="$(cd "$(dirname "$0")/.." && pwd)"
tfvars="$here/environments/$env/$env.tfvars"
[ -f "$tfvars" ] || { echo "no $tfvars" >&2; exit 2; }

# The secret ids: `NAME = "secret-id"` lines inside the stateful_secret_env block.
secret_ids() {
  awk '/^stateful_secret_env *= *\{/ {inside=1; next} inside && /^\}/ {inside=0} inside' "$tfvars" \
    | sed -n 's/^ *[A-Z0-9_]* *= *"\([A-Za-z0-9_-]*\)".*/\1/p' | sort -u
}

has_version() {
  [ -n "$(gcloud secrets versions list "$1" --project="$project" --filter='state=ENABLED' --limit=1 --format='value(name)' 2>/dev/null)" ]
}

case "$mode" in
  check)
    missing=()
    for id in $(secret_ids); do has_version "$id" || missing+=("$id"); done
    if [ "${#missing[@]}" -gt 0 ]; then
      echo "secrets without an enabled version in $project: ${missing[*]}" >&2
      echo "run: terraform/scripts/bootstrap-secrets.sh create $env $project && terraform/scripts/bootstrap-secrets.sh add $env $project" >&2
      exit 1
    fi
    echo "every secret of $env has a version: $(secret_ids | tr '\n' ' ')"
    ;;
  create)
    cd "$here/environments/$env"
    terraform init -input=false -backend-config="bucket=${TF_STATE_BUCKET:-$project-tfstate}"
    terraform apply -input=false -target=module.platform.module.secrets -var-file="$env.tfvars" \
      -var="project_id=$project" -var="stateful_image=bootstrap-only" \
      -var="functions_source_archive=/dev/null"
    ;;
  add)
    for id in $(secret_ids); do
      if has_version "$id"; then echo "$id: has a version"; continue; fi
      read -r -s -p "value of $id: " value </dev/tty
      echo
      [ -n "$value" ] || { echo "$id: empty, skipped" >&2; continue; }
      printf %s "$value" | gcloud secrets versions add "$id" --project="$project" --data-file=-
      unset value
    done
    ;;
  *)
    echo "unknown mode $mode (check, create, add)" >&2
    exit 2
    ;;
esac
