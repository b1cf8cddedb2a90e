# teach: the default confinement, and every refused syscall reported to the monitor, which
# records it (time, pid, call, arguments) for the live feed and answers EPERM.
description = Like default, and every refused syscall shows up in the live feed
inherit = default
seccomp-notify = on
