#!/bin/sh
# Creates the dev Secret the chart's dev values name (values-dev.yaml: global.secrets.existingSecret), once:
# a key that is missing gets a random value, an existing key is never changed (so the Postgres and Redis
# volumes keep matching their passwords across `tilt up`). Run by the Tiltfile; safe to run by hand.
#   deploy/kind/dev-secrets.sh [namespace] [secret]
set -eu
ns="${1:-eventtickets}"
secret="${2:-eventtickets-dev-secrets}"
keys="internal-token-secret cursor-secret ticket-code-secret payments-webhook-secret redis-password
postgres-password grafana-admin-password db-users-password db-catalog-password db-inventory-password
db-orders-password db-payments-password db-notifications-password"

kubectl get namespace "$ns" >/dev/null 2>&1 || kubectl create namespace "$ns"
kubectl -n "$ns" get secret "$secret" >/dev/null 2>&1 || kubectl -n "$ns" create secret generic "$secret"
for key in $keys; do
  if [ -z "$(kubectl -n "$ns" get secret "$secret" -o "jsonpath={.data.$key}")" ]; then
    value="$(head -c 36 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 43)"
    kubectl -n "$ns" patch secret "$secret" --type merge -p "{\"stringData\":{\"$key\":\"$value\"}}" >/dev/null
    echo "dev secret $secret: generated $key"
  fi
done
