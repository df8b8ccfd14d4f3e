#!/bin/sh
# slurm.conf: Epilog=/etc/slurm/osmosis-epilog.sh. Releases the hold the prolog put on this node
# for a job outside Osmosis; the node takes guests again once no job holds it.
exec osmo slurm epilog --partitions osmosis --daemon /run/osmosis/daemon.sock
