build-asan-img/core/util.o: core/util.c core/util.h core/err.h
core/util.h:
core/err.h:
