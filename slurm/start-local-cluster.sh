#!/usr/bin/env bash
# A one-node Slurm cluster on this machine: munged, slurmctld and slurmd, as root, with a generated
# slurm.conf naming this host and its CPUs. CI starts it for tests/test_slurm.py; on a laptop or a lab
# machine it tries slurm/campaign.sbatch before a real cluster. It needs Debian's (or Ubuntu's) packages:
#
#     apt-get install -y slurmctld slurmd munge slurm-client
#
# Idempotent: a running daemon is left alone, a stopped one started. It writes
# /etc/slurm/slurm.conf only when there is none or when it wrote the one there (its first line says so),
# so it never replaces the configuration of a real cluster.
set -euo pipefail

MARK="# Written by slurm/start-local-cluster.sh: a one-node test cluster."
CONF=/etc/slurm/slurm.conf
HOST=$(hostname -s)

say() { echo "start-local-cluster: $*"; }
fail() { echo "start-local-cluster: error: $*" >&2; exit 1; }

node_state() { sinfo --noheader --nodes="$HOST" --format=%T 2>/dev/null | head -n 1; }

node_ready() {  # the controller answers and the node takes jobs
    case "$(node_state)" in idle*|mixed*|allocated*|completing*) return 0 ;; *) return 1 ;; esac
}

check_tools() {
    local missing=()
    for tool in munged munge slurmctld slurmd sbatch sinfo scontrol; do
        command -v "$tool" >/dev/null || missing+=("$tool")
    done
    [ ${#missing[@]} -eq 0 ] || fail "${missing[*]} not found: apt-get install -y slurmctld slurmd munge slurm-client"
    [ "$(id -u)" -eq 0 ] || fail "run as root (it writes $CONF and starts the daemons as root)"
}

start_munge() {
    # Every Slurm message is signed with munge's key; the package created it (mungekey makes one if not).
    [ -s /etc/munge/munge.key ] || mungekey --create --keyfile=/etc/munge/munge.key
    chown munge:munge /etc/munge/munge.key && chmod 600 /etc/munge/munge.key
    install -d -o munge -g munge -m 0755 /run/munge
    install -d -o munge -g munge -m 0700 /var/lib/munge /var/log/munge
    if ! munge -n </dev/null >/dev/null 2>&1; then
        runuser -u munge -- munged
    fi
    munge -n </dev/null | unmunge >/dev/null || fail "munged does not answer (see /var/log/munge/munged.log)"
}

write_conf() {
    if [ -e "$CONF" ] && [ "$(head -n 1 "$CONF")" != "$MARK" ]; then
        say "$CONF was not written by this script: using it as it is"
        return
    fi
    # slurmd -C: this machine's CPUs, sockets, cores, threads and memory, as a NodeName line.
    local node
    node=$(slurmd -C | grep '^NodeName=')
    install -d /etc/slurm /var/spool/slurmctld /var/spool/slurmd /var/log/slurm
    cat > "$CONF.tmp" <<CONF
$MARK
ClusterName=lab
# Addressed as 127.0.0.1: the host's name need not resolve (containers).
SlurmctldHost=$HOST(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=/var/spool/slurmctld
SlurmdSpoolDir=/var/spool/slurmd
SlurmctldPidFile=/run/slurmctld.pid
SlurmdPidFile=/run/slurmd.pid
SlurmctldLogFile=/var/log/slurm/slurmctld.log
SlurmdLogFile=/var/log/slurm/slurmd.log
# No cgroups (containers often lack them): processes are tracked by parentage, not confined.
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
# Jobs share the node core by core, so an array's tasks run side by side.
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
# A node that was down (the machine restarted) takes jobs again once its slurmd registers.
ReturnToService=2
# sbatch --wait polls after 2, 8, then every 32 s, unless finished jobs are forgotten sooner than that:
# forgetting them after a few seconds keeps its poll at 2 s, so a test waits seconds, not half minutes.
MinJobAge=4
MpiDefault=none
$node NodeAddr=127.0.0.1 State=UNKNOWN
PartitionName=debug Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
CONF
    if [ -e "$CONF" ] && cmp -s "$CONF" "$CONF.tmp"; then
        rm "$CONF.tmp"
    else
        mv "$CONF.tmp" "$CONF"
        # A running controller and slurmd read the new file when restarted.
        local pid
        for daemon in slurmctld slurmd; do
            if running "$daemon"; then
                pid=$(cat "/run/$daemon.pid")
                kill "$pid"
                while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
            fi
        done
    fi
}

running() {  # slurmctld or slurmd: its pid file names a running process
    local pid
    pid=$(cat "/run/$1.pid" 2>/dev/null) && kill -0 "$pid" 2>/dev/null
}

start_daemon() {
    running "$1" || "$1" || fail "$1 did not start (see /var/log/slurm/$1.log)"
}

wait_for_node() {
    for _ in $(seq 1 100); do
        node_ready && return
        case "$(node_state)" in
            down*|drain*) scontrol update NodeName="$HOST" State=RESUME 2>/dev/null || true ;;
        esac
        sleep 0.3
    done
    fail "node $HOST is '$(node_state)', not idle, after 30 s (see /var/log/slurm/)"
}

# Every step checks before it acts, so a second run costs a fraction of a second: a running daemon is
# left alone, a stopped one started, one whose slurm.conf this script changed restarted.
check_tools
start_munge
write_conf
start_daemon slurmctld
start_daemon slurmd
wait_for_node
say "node $HOST is $(node_state): $(sinfo --noheader --format='%c CPUs, partition %P')"
