#!/usr/bin/env bash
# ACLs of the SASL profile (docker/compose.sasl.yaml): each principal gets only its job.
# Run once by the `acls` service; safe to run again (adding an ACL twice changes nothing).
set -euo pipefail
ACLS=/opt/kafka/bin/kafka-acls.sh
TOPICS=/opt/kafka/bin/kafka-topics.sh
CONF=/tmp/admin.properties
sed "s/\${KAFKA_ADMIN_PASSWORD}/${KAFKA_ADMIN_PASSWORD}/" /opt/dvcflow-kafka/admin.properties > "$CONF"
BOOT=(--bootstrap-server kafka:9092 --command-config "$CONF")

# gateway: produce to the gateway topic only (it has checked each key's scope and owners)
"$ACLS" "${BOOT[@]}" --add --allow-principal User:gateway --operation Write --operation Describe --topic dvc.events
# sink: read every event topic, write dead letters, commit its group's offsets
"$ACLS" "${BOOT[@]}" --add --allow-principal User:sink --operation Read --operation Describe --topic dvc.events --resource-pattern-type prefixed
"$ACLS" "${BOOT[@]}" --add --allow-principal User:sink --operation Write --operation Describe --topic dvc.events.dlq
"$ACLS" "${BOOT[@]}" --add --allow-principal User:sink --operation Read --group dvcflow-sink
# integrators: produce to their own topic only, never read, never the gateway's topic
for name in ${INTEGRATORS//,/ }; do
  "$TOPICS" "${BOOT[@]}" --create --if-not-exists --topic "dvc.events.${name}" --partitions 6 --replication-factor 1
  "$ACLS" "${BOOT[@]}" --add --allow-principal "User:${name}" --operation Write --operation Describe --topic "dvc.events.${name}"
done
"$ACLS" "${BOOT[@]}" --list
