# devbox: a throwaway developer sandbox over the host image (nook run --profile devbox host).
# The tmpfs comes first so that a $PWD inside $HOME is bound on top of it.
description = Your current directory read-write at the same path, an empty $HOME, network on
inherit = default
mount = tmpfs $HOME mode=0700
mount = bind $PWD $PWD rw
network = bridge
env = NOOK_SANDBOX=devbox
