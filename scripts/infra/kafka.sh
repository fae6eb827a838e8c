#!/usr/bin/env bash
# Kafka for the Bus suites: a single node in KRaft mode (broker and controller in one JVM),
# assembled from Maven Central artifacts and run with the machine's Java (17+), on two free
# loopback ports (PLAINTEXT for clients, CONTROLLER for the Raft quorum of one).
#   scripts/infra/kafka.sh up|down|status
#   scripts/infra/kafka.sh up-instance <dir> | down-instance <dir>
# `up` writes HERALD_TEST_KAFKA_URL=127.0.0.1:<port> to .infra/kafka.env.
# `up-instance <dir>` starts a separate, private broker whose files all live in <dir> (config,
# data, log, kafka.pid, kafka.env with its address), for a test that must stop or pause its broker
# (SIGSTOP) without disturbing the shared one; `down-instance <dir>` stops it. Same jars, same
# readiness probe. libs/testing/src/cluster/kafka-instance.ts drives these verbs.
#
# Assembly: a generated pom under .infra/kafka-build depends on org.apache.kafka:kafka_2.13 and a
# log4j2 binding for slf4j; `mvn dependency:copy-dependencies` puts the jars in
# .infra/cache/kafka-libs (Maven's own repository in .infra/cache/m2), and later runs reuse them.
# The node keeps test data only: every `up` formats a fresh log directory, so topics and consumer
# groups never outlive the broker process (suites use unique topic names anyway).
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=lib.sh
source scripts/infra/lib.sh

# Kafka 4 brokers need Java 17; kafkajs 2.2.4 speaks the protocol versions 4.x still serves.
KAFKA_VERSION="${HERALD_KAFKA_VERSION:-4.3.1}"
# slf4j-api 1.7 is what kafka_2.13 4.3 brings; log4j-slf4j-impl binds it to the log4j2 it ships.
LOG4J_VERSION="2.25.4"
HEAP="${HERALD_KAFKA_HEAP:-512m}"

BUILD="$INFRA_DIR/kafka-build"
LIBS="$INFRA_DIR/cache/kafka-libs"
M2="$INFRA_DIR/cache/m2"
STAMP="$LIBS/.kafka-$KAFKA_VERSION"

# Where one broker keeps its files: the shared broker under .infra, a private instance in its dir.
use_shared_paths() {
  DIR="$INFRA_DIR/kafka"
  DATA="$DIR/data"
  PID_FILE="$INFRA_DIR/kafka.pid"
  LOG_FILE="$INFRA_DIR/kafka.log"
  ENV_FILE="$INFRA_DIR/kafka.env"
  PORT_FILE="$DIR/port"
}

use_instance_paths() {
  mkdir -p "$1"
  DIR="$(cd "$1" && pwd)"
  DATA="$DIR/data"
  PID_FILE="$DIR/kafka.pid"
  LOG_FILE="$DIR/kafka.log"
  ENV_FILE="$DIR/kafka.env"
  PORT_FILE="$DIR/port"
}
use_shared_paths

is_running() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

# Answers once the broker serves metadata and its group coordinator is up (FindCoordinator creates
# __consumer_offsets on first use, so the first consumer group of a suite does not pay for it).
probe() {
  node --input-type=module -e '
    import kafkajs from "kafkajs";
    const { Kafka, logLevel } = kafkajs;
    const kafka = new Kafka({ clientId: "herald-infra", brokers: [process.argv[1]], logLevel: logLevel.NOTHING,
      connectionTimeout: 1000, requestTimeout: 5000, retry: { retries: 2, initialRetryTime: 100 } });
    const admin = kafka.admin();
    try {
      await admin.connect();
      await admin.listTopics();
      await admin.describeGroups(["herald-infra-probe"]);
      process.exit(0);
    } catch {
      process.exit(1);
    } finally {
      await admin.disconnect().catch(() => undefined);
    }
  ' "$1"
}

write_env() {
  echo "HERALD_TEST_KAFKA_URL=127.0.0.1:$(cat "$PORT_FILE")" >"$ENV_FILE"
}

fetch_jars() {
  if [ -f "$STAMP" ]; then
    return 0
  fi
  command -v java >/dev/null || apt_install openjdk-17-jre-headless
  command -v mvn >/dev/null || apt_install maven
  echo "infra: assembling Kafka $KAFKA_VERSION from Maven Central into $LIBS (first run only)"
  mkdir -p "$BUILD" "$M2"
  cat >"$BUILD/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>herald.infra</groupId>
  <artifactId>kafka-runtime</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>$LOG4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
  rm -rf "$LIBS"
  mkdir -p "$LIBS"
  # Full output in mvn.log; a progress line every 25 artifacts downloaded (a cold run fetches ~150).
  local rc=0
  mvn -B -f "$BUILD/pom.xml" -Dmaven.repo.local="$M2" \
    dependency:copy-dependencies -DoutputDirectory="$LIBS" -DincludeScope=runtime 2>&1 |
    tee "$BUILD/mvn.log" |
    awk '/Downloaded from/ { n++; if (n % 25 == 0) { print "infra:   " n " artifacts downloaded"; fflush() } }
         /^\[ERROR\]/ { print; fflush() }' || rc=$?
  [ "${PIPESTATUS[0]}" = 0 ] || rc=1
  local count
  count="$(ls "$LIBS"/*.jar 2>/dev/null | wc -l)"
  if [ "$rc" != 0 ] || ! ls "$LIBS"/kafka_2.13-"$KAFKA_VERSION".jar >/dev/null 2>&1; then
    echo "infra: Maven could not assemble Kafka $KAFKA_VERSION (see $BUILD/mvn.log)" >&2
    return 1
  fi
  touch "$STAMP"
  echo "infra: $count jars in $LIBS"
}

write_config() {
  local port="$1" controller_port="$2"
  cat >"$DIR/server.properties" <<EOF
# Generated by scripts/infra/kafka.sh: one node that is both broker and controller, test data only.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$controller_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$controller_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
log.dirs=$DATA
num.partitions=1
auto.create.topics.enable=false
# One replica of everything: there is one node.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
default.replication.factor=1
min.insync.replicas=1
# Suites join many short-lived consumer groups: no wait for more members before the first
# assignment. Session timeouts keep the broker's default bounds, as on a real cluster.
group.initial.rebalance.delay.ms=0
# Test data: small segments, no fsync pressure beyond the OS default.
log.segment.bytes=16777216
log.retention.hours=1
EOF
  cat >"$DIR/log4j2.properties" <<'EOF'
status = warn
appender.out.type = Console
appender.out.name = OUT
appender.out.layout.type = PatternLayout
appender.out.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.out.ref = OUT
# Per-partition state changes and request logs drown everything else in a suite that creates
# hundreds of topics.
logger.state.name = state.change.logger
logger.state.level = WARN
logger.request.name = kafka.request.logger
logger.request.level = WARN
logger.log.name = org.apache.kafka.storage.internals.log
logger.log.level = WARN
logger.logmgr.name = kafka.log
logger.logmgr.level = WARN
logger.cluster.name = kafka.cluster
logger.cluster.level = WARN
EOF
}

# The JVM command line (set by set_java once DIR is known); "$LIBS/*" is Java's classpath
# wildcard, not a shell glob.
set_java() {
  JAVA=(java -Xms128m -Xmx"$HEAP" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
    -Dlog4j2.configurationFile="$DIR/log4j2.properties" -cp "$LIBS/*")
}

up() {
  if is_running && [ -f "$PORT_FILE" ]; then
    write_env
    echo "infra: kafka already running on 127.0.0.1:$(cat "$PORT_FILE") (pid $(cat "$PID_FILE"))"
    return 0
  fi
  local started=$SECONDS
  fetch_jars
  rm -f "$PID_FILE" "$ENV_FILE"
  rm -rf "$DATA"
  mkdir -p "$DIR"
  local port controller_port
  port="$(free_port)"
  controller_port="$(free_port)"
  while [ "$controller_port" = "$port" ]; do controller_port="$(free_port)"; done
  echo "$port" >"$PORT_FILE"
  write_config "$port" "$controller_port"
  set_java
  # A cluster id is 16 random bytes, base64url without padding; like Kafka's own Uuid.randomUuid,
  # never one that starts with "-", which the format tool's argument parser would take for an option.
  local cluster_id
  cluster_id="$(node -e "
    const { randomBytes } = require('crypto');
    let id;
    do id = randomBytes(16).toString('base64url'); while (id.startsWith('-'));
    console.log(id);")"
  echo "infra: formatting the KRaft log directory"
  "${JAVA[@]}" kafka.tools.StorageTool format --ignore-formatted -t "$cluster_id" \
    -c "$DIR/server.properties" >"$DIR/format.log" 2>&1 || {
    cat "$DIR/format.log" >&2
    return 1
  }
  echo "infra: starting Kafka $KAFKA_VERSION (heap $HEAP) on 127.0.0.1:$port, log in $LOG_FILE"
  # setsid: the broker outlives this script and the shell that ran it.
  setsid nohup "${JAVA[@]}" kafka.Kafka "$DIR/server.properties" >"$LOG_FILE" 2>&1 </dev/null &
  echo $! >"$PID_FILE"
  echo "infra: waiting for the broker and its group coordinator (up to 90 s)"
  local deadline=$((SECONDS + 90))
  until probe "127.0.0.1:$port" >/dev/null 2>&1; do
    if ! is_running; then
      echo "infra: kafka exited during startup; the end of $LOG_FILE:" >&2
      tail -n 30 "$LOG_FILE" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "infra: kafka did not become ready within 90 s; the end of $LOG_FILE:" >&2
      tail -n 30 "$LOG_FILE" >&2
      down >/dev/null
      return 1
    fi
    sleep 0.5
  done
  write_env
  echo "infra: kafka ready on 127.0.0.1:$port in $((SECONDS - started)) s"
}

down() {
  stop_pidfile "$PID_FILE"
  rm -f "$ENV_FILE" "$PORT_FILE"
  echo "infra: kafka stopped"
}

status() {
  if is_running && [ -f "$PORT_FILE" ]; then
    echo "kafka: running on 127.0.0.1:$(cat "$PORT_FILE") (pid $(cat "$PID_FILE"))"
  else
    echo "kafka: stopped"
  fi
}

instance_dir() {
  if [ -z "${1:-}" ]; then
    echo "usage: scripts/infra/kafka.sh $2 <dir>" >&2
    exit 2
  fi
}

case "${1:-status}" in
  up) up ;;
  down) down ;;
  status) status ;;
  up-instance)
    instance_dir "${2:-}" up-instance
    use_instance_paths "$2"
    up
    ;;
  down-instance)
    instance_dir "${2:-}" down-instance
    use_instance_paths "$2"
    down
    ;;
  *)
    echo "usage: scripts/infra/kafka.sh up|down|status|up-instance <dir>|down-instance <dir>" >&2
    exit 2
    ;;
esac
