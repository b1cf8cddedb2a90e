build-asan-img/core/image-tar.o: core/image-tar.c core/image.h core/err.h \
 core/image-oci-internal.h core/util.h
core/image.h:
core/err.h:
core/image-oci-internal.h:
core/util.h:
