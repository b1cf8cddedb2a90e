build-clang-img/core/console-log.o: core/console-log.c core/console-log.h \
  core/util.h core/err.h

core/console-log.h:

core/util.h:

core/err.h:
