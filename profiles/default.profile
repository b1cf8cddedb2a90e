# default: what nook runs with unless told otherwise. The confinement Docker gives a container.
description = Docker's confinement: its default seccomp allowlist and capability set
seccomp = default.json
seccomp-notify = off
capabilities = docker-default
readonly-root = no
network = bridge
