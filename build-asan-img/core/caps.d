build-asan-img/core/caps.o: core/caps.c core/caps.h core/err.h \
 core/util.h
core/caps.h:
core/err.h:
core/util.h:
