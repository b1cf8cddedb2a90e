# strict: for simple programs (a shell, coreutils) that need files and processes, nothing more.
description = A small seccomp allowlist, no capabilities, read-only root, no network
seccomp = strict.json
capabilities = none
readonly-root = yes
mount = tmpfs /tmp size=64M,mode=1777
network = none
memory = 256M
pids = 256
