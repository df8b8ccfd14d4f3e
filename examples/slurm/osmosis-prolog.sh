#!/bin/sh
# slurm.conf: Prolog=/etc/slurm/osmosis-prolog.sh (on every node that also runs an Osmosis
# daemon). A job outside the Osmosis partitions gets this node to itself: its guests leave first
# and none come until the epilog. slurmd starts its hooks with SLURM's variables only, so the
# daemon's control socket is named here (the default one of a daemon run as root).
exec osmo slurm prolog --partitions osmosis --daemon /run/osmosis/daemon.sock
