/* The AML encoder: terms as bytes, PkgLengths patched in when a package closes. */
#include "core/vm/aml.h"

#include <string.h>

void nk_aml_init(struct nk_aml *a, uint8_t *buf, size_t cap)
{
	memset(a, 0, sizeof(*a));
	a->buf = buf;
	a->cap = cap;
}

void nk_aml_bytes(struct nk_aml *a, const void *p, size_t n)
{
	if (a->failed || n > a->cap - a->len) {
		a->failed = 1;
		return;
	}
	memcpy(a->buf + a->len, p, n);
	a->len += n;
}

static void byte(struct nk_aml *a, uint8_t v)
{
	nk_aml_bytes(a, &v, 1);
}

static void le(struct nk_aml *a, uint64_t v, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		byte(a, (uint8_t)(v >> (8 * i)));
}

void nk_aml_integer(struct nk_aml *a, uint64_t v)
{
	if (v <= 1) {
		byte(a, v ? NK_AML_ONE : NK_AML_ZERO);
	} else if (v <= 0xff) {
		byte(a, NK_AML_BYTE);
		le(a, v, 1);
	} else if (v <= 0xffff) {
		byte(a, NK_AML_WORD);
		le(a, v, 2);
	} else if (v <= 0xffffffffu) {
		byte(a, NK_AML_DWORD);
		le(a, v, 4);
	} else {
		byte(a, NK_AML_QWORD);
		le(a, v, 8);
	}
}

void nk_aml_string(struct nk_aml *a, const char *s)
{
	byte(a, NK_AML_STRING);
	nk_aml_bytes(a, s, strlen(s) + 1);
}

/* A NameSeg is exactly four characters: a leading A-Z or '_', then A-Z, 0-9 or '_'.
 * Anything else is a bug in the caller, refused rather than written. */
static void name_seg(struct nk_aml *a, const char *seg)
{
	if (strlen(seg) != 4) {
		a->failed = 1;
		return;
	}
	for (int i = 0; i < 4; i++) {
		char c = seg[i];
		int ok = (c >= 'A' && c <= 'Z') || c == '_' || (i > 0 && c >= '0' && c <= '9');
		if (!ok) {
			a->failed = 1;
			return;
		}
	}
	nk_aml_bytes(a, seg, 4);
}

void nk_aml_name_string(struct nk_aml *a, const char *path)
{
	if (*path == NK_AML_ROOT) {
		byte(a, NK_AML_ROOT);
		path++;
	}
	name_seg(a, path);
}

void nk_aml_name(struct nk_aml *a, const char *seg)
{
	byte(a, NK_AML_NAME);
	name_seg(a, seg);
}

/* Reserve one byte for the PkgLength; nk_aml_close grows it if the body needs more. */
static void open_pkg(struct nk_aml *a)
{
	if (a->failed || a->depth >= NK_AML_MAX_DEPTH) {
		a->failed = 1;
		return;
	}
	a->open[a->depth++] = a->len;
	byte(a, 0);
}

/* PkgLength counts itself: 1 byte up to 63, then 2, 3 or 4 bytes (4 + 8k bits). */
static unsigned pkg_length_size(size_t body)
{
	if (body + 1 < (1u << 6))
		return 1;
	if (body + 2 < (1u << 12))
		return 2;
	if (body + 3 < (1u << 20))
		return 3;
	return 4;
}

void nk_aml_close(struct nk_aml *a)
{
	if (a->failed || a->depth == 0) {
		a->failed = 1;
		return;
	}
	size_t at = a->open[--a->depth];
	size_t body = a->len - at - 1;
	unsigned n = pkg_length_size(body);
	size_t total = body + n;
	if (total >= (1u << 28) || n - 1 > a->cap - a->len) {
		a->failed = 1;
		return;
	}
	memmove(a->buf + at + n, a->buf + at + 1, body);
	a->len += n - 1;
	if (n == 1) {
		a->buf[at] = (uint8_t)total;
		return;
	}
	a->buf[at] = (uint8_t)(((n - 1) << 6) | (total & 0x0f));
	for (unsigned i = 1; i < n; i++)
		a->buf[at + i] = (uint8_t)(total >> (4 + 8 * (i - 1)));
}

void nk_aml_scope_open(struct nk_aml *a, const char *path)
{
	byte(a, NK_AML_SCOPE);
	open_pkg(a);
	nk_aml_name_string(a, path);
}

void nk_aml_device_open(struct nk_aml *a, const char *seg)
{
	byte(a, NK_AML_EXT);
	byte(a, NK_AML_EXT_DEVICE);
	open_pkg(a);
	name_seg(a, seg);
}

void nk_aml_package_open(struct nk_aml *a, uint8_t elements)
{
	byte(a, NK_AML_PACKAGE);
	open_pkg(a);
	byte(a, elements);
}

void nk_aml_buffer(struct nk_aml *a, const uint8_t *bytes, size_t n)
{
	byte(a, NK_AML_BUFFER);
	open_pkg(a);
	nk_aml_integer(a, n);
	nk_aml_bytes(a, bytes, n);
	nk_aml_close(a);
}

/* Three letters of five bits each ('A' = 1), then four hex digits; big-endian in memory,
 * which as a little-endian integer is the byte-swapped value. */
uint32_t nk_aml_eisaid(const char *id)
{
	uint32_t v = 0;
	if (strlen(id) != 7)
		return 0;
	for (int i = 0; i < 3; i++)
		v = (v << 5) | (uint32_t)((id[i] - 'A' + 1) & 0x1f);
	for (int i = 3; i < 7; i++) {
		char c = id[i];
		uint32_t d = c >= '0' && c <= '9' ? (uint32_t)(c - '0')
			     : c >= 'A' && c <= 'F' ? (uint32_t)(c - 'A' + 10) : 0;
		v = (v << 4) | d;
	}
	return __builtin_bswap32(v);
}

void nk_aml_res_init(struct nk_aml_res *r)
{
	memset(r, 0, sizeof(*r));
}

static uint8_t *res_take(struct nk_aml_res *r, size_t n)
{
	if (r->failed || n > sizeof(r->b) - r->len) {
		r->failed = 1;
		return NULL;
	}
	uint8_t *p = r->b + r->len;
	memset(p, 0, n);
	r->len += n;
	return p;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

void nk_aml_res_mem32_fixed(struct nk_aml_res *r, uint32_t base, uint32_t len)
{
	uint8_t *p = res_take(r, 12);
	if (!p)
		return;
	p[0] = NK_AML_RES_MEM32_FIXED;
	put16(p + 1, 9);
	p[3] = 0x01; /* read-write */
	put32(p + 4, base);
	put32(p + 8, len);
}

void nk_aml_res_interrupt(struct nk_aml_res *r, uint32_t gsi, int edge)
{
	uint8_t *p = res_take(r, 9);
	if (!p)
		return;
	p[0] = NK_AML_RES_EXT_IRQ;
	put16(p + 1, 6);
	p[3] = (uint8_t)(0x01 | (edge ? 0x02 : 0)); /* consumer; active high, exclusive */
	p[4] = 1;				    /* one interrupt */
	put32(p + 5, gsi);
}

void nk_aml_res_io(struct nk_aml_res *r, uint16_t port, uint8_t len)
{
	uint8_t *p = res_take(r, 8);
	if (!p)
		return;
	p[0] = NK_AML_RES_IO;
	p[1] = 0x01; /* 16-bit decode */
	put16(p + 2, port);
	put16(p + 4, port);
	p[6] = 1; /* alignment */
	p[7] = len;
}

void nk_aml_res_irq(struct nk_aml_res *r, uint8_t irq)
{
	uint8_t *p = res_take(r, 3);
	if (!p || irq > 15) {
		r->failed = 1;
		return;
	}
	p[0] = NK_AML_RES_IRQ;
	put16(p + 1, (uint16_t)(1u << irq));
}

void nk_aml_res_end(struct nk_aml_res *r)
{
	uint8_t *p = res_take(r, 2);
	if (!p)
		return;
	p[0] = NK_AML_RES_END;
	p[1] = 0; /* checksum 0: "the template is treated as checksummed" */
}
