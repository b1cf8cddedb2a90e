/* libarchive, loaded on first use (see archive-dl.h for why). */
#define NOOK_ARCHIVE_DL_IMPL
#include "archive-dl.h"

#include <dlfcn.h>
#include <errno.h>
#include <stddef.h>

struct nk_archive_api nk_archive;

int nk_archive_load(struct nk_err *err)
{
	static int loaded; /* 1 ok, -1 failed */
	if (loaded)
		return loaded > 0 ? 0 : nk_err_msg(err, ENOENT, "libarchive is not available: "
						    "install libarchive13 (`make deps`)");
	void *lib = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL);
	if (!lib) {
		loaded = -1;
		return nk_err_msg(err, ENOENT, "cannot load libarchive.so.13: %s; install libarchive13", dlerror());
	}
#define NK_ARCHIVE_RESOLVE(fn) \
	if (!(*(void **)&nk_archive.fn = dlsym(lib, #fn))) { \
		loaded = -1; \
		return nk_err_msg(err, ENOENT, "libarchive.so.13 lacks %s", #fn); \
	}
	NK_ARCHIVE_FUNCS(NK_ARCHIVE_RESOLVE)
#undef NK_ARCHIVE_RESOLVE
	loaded = 1;
	return 0;
}
