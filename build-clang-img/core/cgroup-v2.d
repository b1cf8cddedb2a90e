build-clang-img/core/cgroup-v2.o: core/cgroup-v2.c core/cgroup.h \
  core/err.h core/util.h

core/cgroup.h:

core/err.h:

core/util.h:
