/* libarchive, loaded on first use: importing images is rare, and linking it (with its
 * compression, XML and ICU dependencies) would cost every nook command ~1.5 ms of
 * dynamic loading. Include this after <archive.h> and <archive_entry.h>; the calls
 * keep their names, and the prototypes stay checked through __typeof__. */
#ifndef NOOK_ARCHIVE_DL_H
#define NOOK_ARCHIVE_DL_H

#include <archive.h>
#include <archive_entry.h>

#include "err.h"

#define NK_ARCHIVE_FUNCS(X) \
	X(archive_error_string) X(archive_entry_filetype) X(archive_read_support_format_tar) \
	X(archive_read_support_filter_all) X(archive_read_next_header) X(archive_read_new) \
	X(archive_read_free) X(archive_entry_pathname) X(archive_entry_mtime_nsec) \
	X(archive_entry_mtime) X(archive_read_open_filename) X(archive_read_open_fd) \
	X(archive_read_data_block) X(archive_entry_xattr_reset) X(archive_entry_xattr_next) \
	X(archive_entry_uid) X(archive_entry_symlink) X(archive_entry_size_is_set) \
	X(archive_entry_size) X(archive_entry_rdev) X(archive_entry_perm) \
	X(archive_entry_pathname_utf8) X(archive_entry_hardlink) X(archive_entry_gid) \
	X(archive_read_support_format_raw) X(archive_read_data)

struct nk_archive_api {
#define NK_ARCHIVE_MEMBER(fn) __typeof__(fn) *fn;
	NK_ARCHIVE_FUNCS(NK_ARCHIVE_MEMBER)
#undef NK_ARCHIVE_MEMBER
};

extern struct nk_archive_api nk_archive;

/* Load libarchive once; later calls are free. */
int nk_archive_load(struct nk_err *err) NK_MUST_CHECK;

#ifndef NOOK_ARCHIVE_DL_IMPL
#define archive_error_string nk_archive.archive_error_string
#define archive_entry_filetype nk_archive.archive_entry_filetype
#define archive_read_support_format_tar nk_archive.archive_read_support_format_tar
#define archive_read_support_filter_all nk_archive.archive_read_support_filter_all
#define archive_read_next_header nk_archive.archive_read_next_header
/* Every use starts here, so this one loads the library (NULL when it cannot). */
#define archive_read_new() (nk_archive_load(NULL) == 0 ? nk_archive.archive_read_new() : NULL)
#define archive_read_free nk_archive.archive_read_free
#define archive_entry_pathname nk_archive.archive_entry_pathname
#define archive_entry_mtime_nsec nk_archive.archive_entry_mtime_nsec
#define archive_entry_mtime nk_archive.archive_entry_mtime
#define archive_read_open_filename nk_archive.archive_read_open_filename
#define archive_read_open_fd nk_archive.archive_read_open_fd
#define archive_read_data_block nk_archive.archive_read_data_block
#define archive_entry_xattr_reset nk_archive.archive_entry_xattr_reset
#define archive_entry_xattr_next nk_archive.archive_entry_xattr_next
#define archive_entry_uid nk_archive.archive_entry_uid
#define archive_entry_symlink nk_archive.archive_entry_symlink
#define archive_entry_size_is_set nk_archive.archive_entry_size_is_set
#define archive_entry_size nk_archive.archive_entry_size
#define archive_entry_rdev nk_archive.archive_entry_rdev
#define archive_entry_perm nk_archive.archive_entry_perm
#define archive_entry_pathname_utf8 nk_archive.archive_entry_pathname_utf8
#define archive_entry_hardlink nk_archive.archive_entry_hardlink
#define archive_entry_gid nk_archive.archive_entry_gid
#define archive_read_support_format_raw nk_archive.archive_read_support_format_raw
#define archive_read_data nk_archive.archive_read_data
#endif

#endif
