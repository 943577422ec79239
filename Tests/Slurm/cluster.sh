#!/usr/bin/env bash
# A Slurm cluster on this machine for the sharding tests: munged on a private socket, slurmctld,
# and two slurmd (node1, node2) sharing 127.0.0.1 on their own ports, one CPU each; no systemd,
# no cgroups, no accounting. Everything lives in one folder and is stopped by process id.
#
#   cluster.sh start DIR   starts it; prints the SLURM_CONF to export
#   cluster.sh stop DIR    stops every daemon it started (by the pid files in DIR)
#
# Needs root (slurmd runs jobs as their submitting user) and Debian's slurmctld, slurmd,
# slurm-client and munge packages.
set -euo pipefail
action=${1:?start or stop}
dir=$(realpath -m "${2:?a folder for the cluster}")

stop() {
  for pidfile in "$dir"/slurmd-node1.pid "$dir"/slurmd-node2.pid "$dir"/slurmctld.pid "$dir"/munged.pid; do
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
    rm -f "$pidfile"
  done
}

# A free TCP port on loopback, from the kernel.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [ "$action" = stop ]; then stop; exit 0; fi
[ "$action" = start ] || { echo "usage: cluster.sh start|stop DIR" >&2; exit 64; }

mkdir -p "$dir"/state "$dir"/spool-node1 "$dir"/spool-node2
chmod 700 "$dir"
mungekey --create --force --keyfile="$dir/munge.key" >/dev/null 2>&1 || dd if=/dev/urandom of="$dir/munge.key" bs=1024 count=1 status=none
chmod 600 "$dir/munge.key"
munged --force --socket="$dir/munge.sock" --key-file="$dir/munge.key" --pid-file="$dir/munged.pid" \
  --log-file="$dir/munged.log" --seed-file="$dir/munged.seed" </dev/null >/dev/null 2>&1

ctld_port=$(free_port); node1_port=$(free_port); node2_port=$(free_port)
cat > "$dir/slurm.conf" <<CONF
ClusterName=knnbatch-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$ctld_port
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$dir/munge.sock
StateSaveLocation=$dir/state
SlurmdSpoolDir=$dir/spool-%n
SlurmctldPidFile=$dir/slurmctld.pid
SlurmdPidFile=$dir/slurmd-%n.pid
SlurmctldLogFile=$dir/slurmctld.log
SlurmdLogFile=$dir/slurmd-%n.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/backfill
ReturnToService=2
MpiDefault=none
MaxArraySize=1001
NodeName=node1 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$node1_port CPUs=1 RealMemory=4000 State=UNKNOWN
NodeName=node2 NodeHostname=localhost NodeAddr=127.0.0.1 Port=$node2_port CPUs=1 RealMemory=4000 State=UNKNOWN
PartitionName=debug Nodes=node1,node2 Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF="$dir/slurm.conf"
# Daemons log to their files in DIR; nothing of theirs holds the caller's pipes open.
slurmctld -f "$SLURM_CONF" -i </dev/null >/dev/null 2>&1
slurmd -f "$SLURM_CONF" -N node1 </dev/null >/dev/null 2>&1
slurmd -f "$SLURM_CONF" -N node2 </dev/null >/dev/null 2>&1
# Up when both nodes are idle.
for _ in $(seq 100); do
  if [ "$(sinfo -h -N -o '%t' 2>/dev/null | grep -c idle)" = 2 ]; then echo "$SLURM_CONF"; exit 0; fi
  sleep 0.2
done
echo "cluster.sh: the nodes did not come up; see $dir/*.log" >&2
sinfo -N >&2 || true
stop
exit 1
