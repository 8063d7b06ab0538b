#!/usr/bin/env bash
# A Slurm cluster on this machine, for development and CI: munged, slurmctld and two slurmd (node1, node2),
# each node with its own port, so gangs spanning two nodes are tested for real. No systemd, no slurmdbd.
#
#   scripts/slurm-dev-cluster.sh start   # installs slurm-wlm + munge from Debian when missing, then starts it
#   scripts/slurm-dev-cluster.sh stop
#   scripts/slurm-dev-cluster.sh status
#
# Traps this recipe avoids (see ../shared/STACK.md): without DefMemPerCPU every job takes a whole node's memory
# and jobs serialize; without batch_sched_delay=0,sched_min_interval=0 scheduling waits up to 3 s; proctrack and
# task plugins that need cgroups or systemd do not work in a container. The nodes claim more CPUs and memory
# than the machine has (config_overrides): the cluster is for behaviour, not for load.
set -euo pipefail

CONF_DIR=${SLURM_DEV_CONF_DIR:-/etc/slurm}
STATE=${SLURM_DEV_STATE:-/var/spool/periscope-slurm}
LOGS=${SLURM_DEV_LOGS:-/var/log/periscope-slurm}
NODES=(node1 node2)
NODE_CPUS=${SLURM_DEV_NODE_CPUS:-4}
NODE_MEMORY_MB=${SLURM_DEV_NODE_MEMORY_MB:-4096}

log() { printf '==> %s\n' "$*" >&2; }

install() {
  if command -v slurmctld >/dev/null && command -v slurmd >/dev/null && command -v munged >/dev/null; then return; fi
  log "installing slurm-wlm and munge from Debian"
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null; then
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends slurm-wlm munge >/dev/null
  fi
}

write_conf() {
  mkdir -p "$CONF_DIR" "$STATE/ctld" "$LOGS"
  for n in "${NODES[@]}"; do mkdir -p "$STATE/$n"; done
  chown -R slurm:slurm "$STATE" "$LOGS" 2>/dev/null || true
  local host
  host=$(hostname -s)
  {
    echo "ClusterName=periscope-dev"
    echo "SlurmctldHost=$host(127.0.0.1)"
    echo "SlurmUser=root"
    echo "SlurmdUser=root"
    echo "AuthType=auth/munge"
    echo "StateSaveLocation=$STATE/ctld"
    echo "SlurmdSpoolDir=$STATE/%n"
    echo "SlurmctldPidFile=$STATE/slurmctld.pid"
    echo "SlurmdPidFile=$STATE/slurmd-%n.pid"
    echo "SlurmctldLogFile=$LOGS/slurmctld.log"
    echo "SlurmdLogFile=$LOGS/slurmd-%n.log"
    echo "ProctrackType=proctrack/linuxproc"
    echo "TaskPlugin=task/none"
    echo "SelectType=select/cons_tres"
    echo "SelectTypeParameters=CR_Core_Memory"
    echo "DefMemPerCPU=128"
    echo "SchedulerType=sched/backfill"
    echo "SchedulerParameters=batch_sched_delay=0,sched_min_interval=0,bf_interval=1"
    echo "SlurmdParameters=config_overrides"
    echo "ReturnToService=2"
    echo "MinJobAge=600"
    echo "KillWait=2"
    echo "InactiveLimit=0"
    echo "MpiDefault=none"
    echo "JobAcctGatherType=jobacct_gather/none"
    echo "AccountingStorageType=accounting_storage/none"
    echo "JobCompType=jobcomp/none"
    echo "PreemptType=preempt/none"
    echo "GresTypes=gpu"
    local port=17001 n
    for n in "${NODES[@]}"; do
      echo "NodeName=$n NodeHostname=$host NodeAddr=127.0.0.1 Port=$port CPUs=$NODE_CPUS RealMemory=$NODE_MEMORY_MB Feature=dev,$n State=UNKNOWN"
      port=$((port + 1))
    done
    echo "PartitionName=debug Nodes=$(IFS=,; echo "${NODES[*]}") Default=YES MaxTime=INFINITE State=UP OverSubscribe=NO"
  } >"$CONF_DIR/slurm.conf"
  : >"$CONF_DIR/gres.conf"
  echo "ConstrainCores=no" >"$CONF_DIR/cgroup.conf"
}

start_munge() {
  if pgrep -x munged >/dev/null; then return; fi
  mkdir -p /run/munge /var/log/munge /var/lib/munge
  chown munge:munge /run/munge /var/log/munge /var/lib/munge 2>/dev/null || true
  if [ ! -s /etc/munge/munge.key ]; then
    dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key 2>/dev/null
    chown munge:munge /etc/munge/munge.key
    chmod 400 /etc/munge/munge.key
  fi
  log "starting munged"
  su -s /bin/sh munge -c /usr/sbin/munged || /usr/sbin/munged --force
}

start() {
  install
  write_conf
  start_munge
  if ! pgrep -x slurmctld >/dev/null; then
    log "starting slurmctld"
    slurmctld -i
  fi
  for n in "${NODES[@]}"; do
    if ! pgrep -f "slurmd -N $n\$" >/dev/null; then
      log "starting slurmd $n"
      slurmd -N "$n"
    fi
  done
  for _ in $(seq 1 100); do
    if [ "$(sinfo -h -o '%t' 2>/dev/null | grep -c -E '^(idle|mix|alloc)')" -ge 1 ] &&
      [ "$(sinfo -h -N -o '%N %t' 2>/dev/null | grep -c -E ' (idle|mix|alloc)$')" -eq "${#NODES[@]}" ]; then
      sinfo -N
      return 0
    fi
    sleep 0.2
  done
  echo "the Slurm nodes did not come up; see $LOGS" >&2
  sinfo -N >&2 || true
  return 1
}

stop() {
  pkill -x slurmd || true
  pkill -x slurmctld || true
  for _ in $(seq 1 50); do
    if ! pgrep -x slurmd >/dev/null && ! pgrep -x slurmctld >/dev/null; then return 0; fi
    sleep 0.1
  done
}

case "${1:-start}" in
  start) start ;;
  reconfigure) write_conf && scontrol reconfigure ;;
  stop) stop ;;
  status) sinfo -N ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
