# State in Cloud Storage (versioned bucket, created once by hand: docs/deploy.md "Bootstrap").
# The bucket is given at init so the same files serve every project:
#   terraform init -backend-config="bucket=<project>-tfstate"
terraform {
  backend "gcs" {
    # bucket = "my-project-tfstate"
    prefix = "exec-platform/dev"
  }
}
