build-clang-img/core/image-oci.o: core/image-oci.c core/image.h \
  core/err.h core/image-oci-internal.h core/util.h

core/image.h:

core/err.h:

core/image-oci-internal.h:

core/util.h:
