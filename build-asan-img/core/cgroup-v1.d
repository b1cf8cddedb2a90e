build-asan-img/core/cgroup-v1.o: core/cgroup-v1.c core/cgroup.h \
 core/err.h core/util.h
core/cgroup.h:
core/err.h:
core/util.h:
