#!/usr/bin/env bash
# A real single-node SLURM on this machine, for trying `kdfidelity submit` and for its tests: installs Debian's packages
# (munge, slurmctld, slurmd, slurm-client, slurmdbd, mariadb-server), writes a one-node configuration with accounting,
# starts munged, MariaDB, slurmdbd, slurmctld and slurmd without systemd, and waits until the node is idle.
# Run as root on Debian or Ubuntu; idempotent: a second run only starts what is not running (about 1 s when all is up).
#   bash tools/slurm-local.sh            # install, configure, start; prints the partition and node
#   bash tools/slurm-local.sh --stop     # stop the daemons it started (packages and accounting data stay)
# Environment: SLURM_LOCAL_CPUS caps the CPUs the node advertises (default: all of `slurmd -C`, at most 2, so jobs
# leave room on a small machine); SLURM_LOCAL_PARTITION names the partition (default: debug).
# Exit status 3: this machine cannot run it (not root, no apt-get, packages not to be had); tests skip with the message
# printed. Exit status 1: a daemon did not start (its log is named); tests that need SLURM then fail.
set -euo pipefail

PARTITION=${SLURM_LOCAL_PARTITION:-debug}
MAX_CPUS=${SLURM_LOCAL_CPUS:-2}
CLUSTER=kdlocal
LOG=/var/log/slurm
DB_SOCKET=/run/mysqld/mysqld.sock
DB_PASSWORD=kdfidelity-slurmdbd  # a local socket-only database for a test cluster's accounting

cannot() { echo "slurm-local: cannot run here: $*" >&2; exit 3; }
fail() { echo "slurm-local: $*" >&2; exit 1; }
say() { echo "slurm-local: $*"; }
declare -A PIDFILE=([munged]=/run/munge/munged.pid [mariadbd]=/run/mysqld/mysqld.pid [slurmdbd]=/run/slurmdbd.pid
  [slurmctld]=/run/slurmctld.pid [slurmd]=/run/slurmd.pid)
pid_of() { local pid; pid=$(cat "${PIDFILE[$1]}" 2>/dev/null) && kill -0 "$pid" 2>/dev/null && echo "$pid"; }
running() { pid_of "$1" >/dev/null; }
stop_daemons() {  # by the process ids in their pid files, then wait until they are gone
  local daemon pid
  for daemon in "$@"; do pid=$(pid_of "$daemon") && kill "$pid" || true; done
  for _ in $(seq 100); do
    for daemon in "$@"; do running "$daemon" && { sleep 0.1; continue 2; }; done
    return 0
  done
}
stop() { stop_daemons slurmd slurmctld slurmdbd mariadbd munged; say "stopped"; }

[ "${1:-}" = "--stop" ] && { stop; exit 0; }
[ "$(id -u)" = 0 ] || cannot "it must run as root (it installs packages and starts daemons)"

# --- install what is missing -------------------------------------------------------------------------------------
need=()
for pair in slurmctld:slurmctld slurmd:slurmd sbatch:slurm-client munged:munge slurmdbd:slurmdbd \
  mariadbd:mariadb-server; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
if [ ${#need[@]} -gt 0 ]; then
  command -v apt-get >/dev/null 2>&1 || cannot "no apt-get to install ${need[*]}"
  say "installing ${need[*]}"
  started=$SECONDS
  export DEBIAN_FRONTEND=noninteractive
  # no daemon is started by the packages' scripts (this script starts them itself), unless a policy is already set
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
    trap 'rm -f /usr/sbin/policy-rc.d' EXIT
  fi
  { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null; } \
    || cannot "apt-get could not install ${need[*]}"
  say "installed in $((SECONDS - started)) s"
fi

started=$SECONDS
HOST=$(hostname -s)
mkdir -p /etc/slurm "$LOG" /var/spool/slurmctld /var/spool/slurmd /run/munge /run/mysqld /var/lib/slurm

# --- munge: the key, then munged as the munge user ---------------------------------------------------------------
if [ ! -s /etc/munge/munge.key ]; then
  mkdir -p /etc/munge
  if command -v mungekey >/dev/null 2>&1; then mungekey --create --keyfile=/etc/munge/munge.key >/dev/null
  else dd if=/dev/urandom of=/etc/munge/munge.key bs=1024 count=1 status=none; fi
fi
chown -R munge:munge /etc/munge /run/munge /var/lib/munge /var/log/munge 2>/dev/null || true
chmod 0400 /etc/munge/munge.key
chmod 0755 /run/munge
if ! running munged; then
  runuser -u munge -- /usr/sbin/munged --pid-file=/run/munge/munged.pid
fi
for _ in $(seq 50); do munge -n 2>/dev/null | unmunge >/dev/null 2>&1 && break; sleep 0.1; done
munge -n | unmunge >/dev/null || fail "munged did not start"

# --- MariaDB on its socket alone, and the accounting database's user ---------------------------------------------
chown mysql:mysql /run/mysqld
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql >/dev/null
fi
if ! running mariadbd; then
  setsid mariadbd --user=mysql --datadir=/var/lib/mysql --skip-networking --socket="$DB_SOCKET" \
    --pid-file=/run/mysqld/mysqld.pid \
    --log-error=/var/log/slurm/mariadb.log </dev/null >/dev/null 2>&1 &
fi
for _ in $(seq 100); do mariadb --socket="$DB_SOCKET" -e 'select 1' >/dev/null 2>&1 && break; sleep 0.1; done
mariadb --socket="$DB_SOCKET" -e "CREATE USER IF NOT EXISTS 'slurm'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
  GRANT ALL ON slurm_acct_db.* TO 'slurm'@'localhost'; FLUSH PRIVILEGES;" || fail "MariaDB did not start"

# --- configuration: one node, this machine's CPUs (capped) and memory, accounting through slurmdbd ---------------
node=$(slurmd -C | head -1)
cpus=$(sed -n 's/.*CPUs=\([0-9]*\).*/\1/p' <<<"$node")
memory=$(sed -n 's/.*RealMemory=\([0-9]*\).*/\1/p' <<<"$node")
[ "$cpus" -gt "$MAX_CPUS" ] && cpus=$MAX_CPUS
memory=$((memory * 9 / 10))  # leave the rest to the system

cat >/etc/slurm/slurmdbd.conf.new <<EOF
# written by kdfidelity's tools/slurm-local.sh
AuthType=auth/munge
DbdHost=localhost
SlurmUser=root
LogFile=$LOG/slurmdbd.log
PidFile=/run/slurmdbd.pid
StorageType=accounting_storage/mysql
StorageHost=localhost
StorageUser=slurm
StoragePass=$DB_PASSWORD
StorageLoc=slurm_acct_db
EOF
cat >/etc/slurm/slurm.conf.new <<EOF
# written by kdfidelity's tools/slurm-local.sh: a single-node test cluster, no cgroups
ClusterName=$CLUSTER
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=$LOG/slurmctld.log
SlurmdLogFile=$LOG/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SchedulerType=sched/backfill
ReturnToService=2
EnforcePartLimits=ALL
AccountingStorageType=accounting_storage/slurmdbd
AccountingStorageHost=localhost
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
MpiDefault=none
KillWait=5
MinJobAge=60
InactiveLimit=0
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$memory State=UNKNOWN
PartitionName=$PARTITION Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
chmod 600 /etc/slurm/slurmdbd.conf.new
changed=0
for f in slurm.conf slurmdbd.conf; do
  if cmp -s "/etc/slurm/$f.new" "/etc/slurm/$f"; then rm "/etc/slurm/$f.new"
  else mv "/etc/slurm/$f.new" "/etc/slurm/$f"; changed=1; fi
done
if [ "$changed" = 1 ]; then  # a new configuration: restart whatever runs with the old one
  stop_daemons slurmd slurmctld slurmdbd
fi

# --- slurmdbd, the cluster in accounting, slurmctld, slurmd ------------------------------------------------------
running slurmdbd || slurmdbd
for _ in $(seq 100); do sacctmgr -n list cluster >/dev/null 2>&1 && break; sleep 0.2; done
sacctmgr -n list cluster >/dev/null 2>&1 || fail "slurmdbd did not start (see $LOG/slurmdbd.log)"
if ! sacctmgr -n -P list cluster format=cluster | grep -qx "$CLUSTER"; then
  sacctmgr -i add cluster "$CLUSTER" >/dev/null
fi
running slurmctld || slurmctld
running slurmd || slurmd
for _ in $(seq 300); do
  state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null || true)
  case "$state" in
    idle|mix|alloc) break ;;
    down*|drain*) scontrol update nodename="$HOST" state=resume 2>/dev/null || true ;;
  esac
  sleep 0.2
done
case "$state" in
  idle|mix|alloc) ;;
  *) fail "the node is '$state', not idle (see $LOG/slurmctld.log, $LOG/slurmd.log)" ;;
esac
say "partition $PARTITION: node $HOST with $cpus CPUs and ${memory} MB is $state (started in $((SECONDS - started)) s)"
