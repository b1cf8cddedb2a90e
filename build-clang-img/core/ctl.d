build-clang-img/core/ctl.o: core/ctl.c core/ctl.h core/err.h core/paths.h \
  core/util.h

core/ctl.h:

core/err.h:

core/paths.h:

core/util.h:
