# learn: record every system call the workload makes, let each one through, then turn the
# record into the smallest profile that runs it: `nook profile generate NAME --from INSTANCE`.
description = Records every system call the workload makes (for `nook profile generate`)
inherit = default
seccomp = learn.json
seccomp-notify = off
seccomp-learn = on
