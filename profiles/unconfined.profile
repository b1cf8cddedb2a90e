# unconfined: no seccomp filter; capabilities, namespaces and cgroups still apply.
description = Default capabilities and namespaces, but no seccomp filter at all
inherit = default
seccomp = none
