/* A small AML (ACPI Machine Language) encoder: the few terms a microVM's DSDT needs
 * (scopes, devices, names, integers, strings, packages, resource-template buffers). */
#ifndef NOOK_VM_AML_H
#define NOOK_VM_AML_H

#include <stddef.h>
#include <stdint.h>

#define NK_AML_MAX_DEPTH 8

/* Writes into a caller's buffer. Errors are sticky: any overflow (buffer, nesting) sets
 * `failed` and later calls do nothing, so a builder checks once at the end. */
struct nk_aml {
	uint8_t *buf;
	size_t len, cap;
	int failed;
	size_t open[NK_AML_MAX_DEPTH]; /* where each open package's PkgLength goes */
	unsigned depth;
};

void nk_aml_init(struct nk_aml *a, uint8_t *buf, size_t cap);
void nk_aml_bytes(struct nk_aml *a, const void *p, size_t n);

/* The smallest encoding: ZeroOp, OneOp, or Byte/Word/DWord/QWord prefix + value. */
void nk_aml_integer(struct nk_aml *a, uint64_t v);
/* StringOp, the ASCII text, NUL. */
void nk_aml_string(struct nk_aml *a, const char *s);
/* A NameString: one 4-character segment, optionally after the root prefix ("\\_SB_"). */
void nk_aml_name_string(struct nk_aml *a, const char *path);
/* Name (seg, ...): the caller writes the value next. */
void nk_aml_name(struct nk_aml *a, const char *seg);
/* Buffer (n) { bytes }. */
void nk_aml_buffer(struct nk_aml *a, const uint8_t *bytes, size_t n);

/* Scope (path) { ... }, Device (seg) { ... }, Package (n) { ... }: open, write the body,
 * then nk_aml_close, which fills in the PkgLength in its smallest encoding. */
void nk_aml_scope_open(struct nk_aml *a, const char *path);
void nk_aml_device_open(struct nk_aml *a, const char *seg);
void nk_aml_package_open(struct nk_aml *a, uint8_t elements);
void nk_aml_close(struct nk_aml *a);

/* The 32-bit compressed form of an EISA id such as "PNP0501", as EisaId() in ASL. */
uint32_t nk_aml_eisaid(const char *id);

/* A resource template (the bytes of a _CRS buffer), built descriptor by descriptor. */
struct nk_aml_res {
	uint8_t b[128];
	size_t len;
	int failed;
};

void nk_aml_res_init(struct nk_aml_res *r);
/* Memory32Fixed (ReadWrite, base, len). */
void nk_aml_res_mem32_fixed(struct nk_aml_res *r, uint32_t base, uint32_t len);
/* Interrupt (ResourceConsumer, Level|Edge, ActiveHigh, Exclusive) { gsi }. */
void nk_aml_res_interrupt(struct nk_aml_res *r, uint32_t gsi, int edge);
/* IO (Decode16, port, port, 1, len). */
void nk_aml_res_io(struct nk_aml_res *r, uint16_t port, uint8_t len);
/* IRQNoFlags () { irq }: an ISA interrupt, edge-triggered, active high. */
void nk_aml_res_irq(struct nk_aml_res *r, uint8_t irq);
/* The end tag; call last. */
void nk_aml_res_end(struct nk_aml_res *r);

/* Descriptor tags, shared with the readers in the tests. */
#define NK_AML_RES_IRQ 0x22	  /* small: IRQ, 2-byte mask */
#define NK_AML_RES_IO 0x47	  /* small: I/O port, 7 bytes */
#define NK_AML_RES_END 0x79	  /* small: end tag, 1 byte */
#define NK_AML_RES_MEM32_FIXED 0x86 /* large */
#define NK_AML_RES_EXT_IRQ 0x89	  /* large: extended interrupt */

/* Opcodes (ACPI 6.5, 20.2), shared with the readers in the tests. */
#define NK_AML_ZERO 0x00
#define NK_AML_ONE 0x01
#define NK_AML_NAME 0x08
#define NK_AML_BYTE 0x0a
#define NK_AML_WORD 0x0b
#define NK_AML_DWORD 0x0c
#define NK_AML_STRING 0x0d
#define NK_AML_QWORD 0x0e
#define NK_AML_SCOPE 0x10
#define NK_AML_BUFFER 0x11
#define NK_AML_PACKAGE 0x12
#define NK_AML_EXT 0x5b
#define NK_AML_EXT_DEVICE 0x82
#define NK_AML_ROOT '\\'
#define NK_AML_ONES 0xff

#endif
