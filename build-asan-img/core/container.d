build-asan-img/core/container.o: core/container.c core/container.h \
 core/cgroup.h core/err.h core/paths.h core/spec.h core/image.h \
 core/parse.h core/caps.h core/process.h core/rootfs.h core/util.h
core/container.h:
core/cgroup.h:
core/err.h:
core/paths.h:
core/spec.h:
core/image.h:
core/parse.h:
core/caps.h:
core/process.h:
core/rootfs.h:
core/util.h:
