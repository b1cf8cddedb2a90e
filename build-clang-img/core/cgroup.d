build-clang-img/core/cgroup.o: core/cgroup.c core/cgroup.h core/err.h \
  core/util.h

core/cgroup.h:

core/err.h:

core/util.h:
