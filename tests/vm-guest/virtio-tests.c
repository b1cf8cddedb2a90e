/* The guest's virtio checks: blk read/write/flush/id, rng bytes, net send/receive, and in
 * hostile mode malformed rings that the device must refuse without harm. */
#include "virtio-guest.h"

#ifndef VG_SPINS
#define VG_SPINS 20000000ul /* polls of a used ring before giving up (~ seconds) */
#endif
#define SPINS VG_SPINS
#define QSIZE 16
#define ID_BLK 2
#define ID_NET 1
#define ID_RNG 4
#define BLK_F_RO (1ull << 5)
#define BLK_F_FLUSH (1ull << 9)
#define NET_F_MAC (1ull << 5)
#define NET_HDR 12
#define FRAME_MAX 1514

/* --- virtio-blk --- */

struct blk {
	struct vg_dev d;
	struct vg_queue q;
	volatile uint8_t *hdr, *data, *status;
	uint64_t hdr_gpa, data_gpa, status_gpa;
};

static int blk_up(struct vg_ctx *c, struct blk *b)
{
	if (vg_dev_init(c, &b->d, "virtio-blk", c->env->blk_base, ID_BLK, BLK_F_RO | BLK_F_FLUSH) < 0)
		return -1;
	if (vg_queue_init(&b->d, &b->q, 0, QSIZE) < 0) {
		vg_check(c, "virtio-blk", "queue set-up", 0, "QueueReady refused");
		return -1;
	}
	vg_driver_ok(&b->d);
	return 0;
}

/* One request: header, len bytes of data (device-writable for reads unless data_ro),
 * status. Returns the status byte, or 0xfe on timeout. */
static int blk_req(struct blk *b, uint32_t type, uint64_t sector, uint32_t len, int data_ro)
{
	*(volatile uint32_t *)b->hdr = type;
	*(volatile uint32_t *)(b->hdr + 4) = 0;
	*(volatile uint64_t *)(b->hdr + 8) = sector;
	*b->status = 0xee;
	int writable = (type == 0 || type == 8) && !data_ro;
	struct vg_buf v[3] = {{b->hdr_gpa, 16, 0}, {b->data_gpa, len, writable}, {b->status_gpa, 1, 1}};
	if (len == 0) {
		v[1] = v[2];
		vg_post(&b->q, vg_chain(&b->q, 0, v, 2));
	} else {
		vg_post(&b->q, vg_chain(&b->q, 0, v, 3));
	}
	vg_kick(&b->q);
	uint32_t id, used;
	if (!vg_wait_used(&b->q, &id, &used, SPINS))
		return 0xfe;
	return *b->status;
}

/* nook's root disk: the ext4 superblock starts at byte 1024 (sector 2), magic 0xEF53 at
 * 0x38, volume label at 0x78. Sectors 1-2 are kept in saved for putting back. */
static int blk_ext4_check(struct vg_ctx *c, struct blk *b, volatile uint8_t *saved)
{
	vg_fill(b->data, 0, 1024);
	int st = blk_req(b, 0, 1, 1024, 0);
	vg_copy(saved, b->data, 1024);
	volatile uint8_t *sb = b->data + 512;
	uint32_t magic = (uint32_t)sb[0x38] | (uint32_t)sb[0x39] << 8;
	struct vg_line l;
	vg_start(&l, "ext4 superblock in sector 2: magic 0x");
	vg_add_hex(&l, magic, 4);
	vg_add(&l, " label \"");
	for (int i = 0; i < 16 && sb[0x78 + i]; i++) {
		char ch[2] = {(char)(sb[0x78 + i] >= 32 && sb[0x78 + i] < 127 ? sb[0x78 + i] : '?'), 0};
		vg_add(&l, ch);
	}
	vg_add(&l, "\"");
	int good = st == 0 && magic == 0xef53;
	vg_check(c, "virtio-blk", l.buf, good, st ? "status not OK" : "not ext4");
	return good;
}

static void test_blk(struct vg_ctx *c)
{
	struct blk b;
	b.q.desc = 0;
	if (blk_up(c, &b) < 0)
		return;
	b.hdr = vg_alloc(c, 16, 0, &b.hdr_gpa);
	b.data = vg_alloc(c, 4096, 1, &b.data_gpa);
	b.status = vg_alloc(c, 16, 0, &b.status_gpa);
	volatile uint8_t *copy = vg_alloc(c, 1024, 0, &(uint64_t){0});
	volatile uint8_t *saved = vg_alloc(c, 1024, 0, &(uint64_t){0});
	if (!b.hdr || !b.data || !b.status || !copy || !saved) {
		vg_check(c, "virtio-blk", "dma memory", 0, "dma area too small");
		return;
	}
	uint64_t cap = vg_r32(&b.d, 0x100) | (uint64_t)vg_r32(&b.d, 0x104) << 32;
	struct vg_line l;
	vg_start(&l, "virtio-blk: capacity ");
	vg_add_dec(&l, cap);
	vg_add(&l, " sectors");
	vg_print(c, &l);
	if (cap < 4) {
		vg_check(c, "virtio-blk", "capacity", 0, "need a scratch disk of 4 sectors or more");
		return;
	}
	if (c->env->blk_ext4 && !blk_ext4_check(c, &b, saved))
		return;
	for (int i = 0; i < 1024; i++)
		b.data[i] = (uint8_t)(i * 13 + 7);
	vg_copy(copy, b.data, 1024);
	if (b.d.features & BLK_F_RO) {
		vg_check(c, "virtio-blk", "write refused on a read-only disk", blk_req(&b, 1, 1, 1024, 0) == 1,
			 "status not IOERR");
	} else {
		vg_check(c, "virtio-blk", "write sectors 1-2", blk_req(&b, 1, 1, 1024, 0) == 0, "status not OK");
		vg_fill(b.data, 0, 1024);
		int st = blk_req(&b, 0, 1, 1024, 0);
		vg_check(c, "virtio-blk", "read back sectors 1-2", st == 0 && vg_equal(b.data, copy, 1024),
			 st ? "status not OK" : "data differs");
		vg_check(c, "virtio-blk", "flush", blk_req(&b, 4, 0, 0, 0) == 0, "status not OK");
		if (c->env->blk_ext4) {
			vg_copy(b.data, saved, 1024);
			int put = blk_req(&b, 1, 1, 1024, 0) == 0 && blk_req(&b, 4, 0, 0, 0) == 0;
			vg_fill(b.data, 0, 1024);
			put = put && blk_req(&b, 0, 1, 1024, 0) == 0 && vg_equal(b.data, saved, 1024);
			vg_check(c, "virtio-blk", "sectors 1-2 put back", put, "status not OK or data differs");
		}
	}
	vg_fill(b.data, 0, 21);
	int st = blk_req(&b, 8, 0, 20, 0);
	vg_start(&l, "get id \"");
	for (int i = 0; i < 20 && b.data[i]; i++) {
		char ch[2] = {(char)(b.data[i] >= 32 && b.data[i] < 127 ? b.data[i] : '?'), 0};
		vg_add(&l, ch);
	}
	vg_add(&l, "\"");
	vg_check(c, "virtio-blk", l.buf, st == 0, "status not OK");
	vg_check(c, "virtio-blk", "read past the end refused", blk_req(&b, 0, cap, 512, 0) == 1,
		 "status not IOERR");
	vg_check(c, "virtio-blk", "read of a partial sector refused", blk_req(&b, 0, 0, 100, 0) == 1,
		 "status not IOERR");
	if (!c->env->hostile)
		return;
	vg_fill(b.data, 0x5a, 512);
	st = blk_req(&b, 0, 0, 512, 1);
	int kept = 1;
	for (int i = 0; i < 512; i++)
		kept &= b.data[i] == 0x5a;
	vg_check(c, "virtio-blk", "hostile: read into a read-only buffer refused", st == 1 && kept,
		 st == 1 ? "buffer was written" : "status not IOERR");
	/* No device-writable byte at all: nowhere to put a status. */
	struct vg_buf v[2] = {{b.hdr_gpa, 16, 0}, {b.data_gpa, 512, 0}};
	*(volatile uint32_t *)b.hdr = 0;
	vg_post(&b.q, vg_chain(&b.q, 0, v, 2));
	vg_kick(&b.q);
	vg_check(c, "virtio-blk", "hostile: request without a status byte -> needs reset",
		 vg_wait_needs_reset(&b.d, 1000000), "DEVICE_NEEDS_RESET not set");
	if (blk_up(c, &b) == 0)
		vg_check(c, "virtio-blk", "hostile: works again after reset", blk_req(&b, 0, 0, 512, 0) == 0,
			 "status not OK");
}

/* --- virtio-rng, and the transport-level hostile cases --- */

static int rng_up(struct vg_ctx *c, struct vg_dev *d, struct vg_queue *q)
{
	if (vg_dev_init(c, d, "virtio-rng", c->env->rng_base, ID_RNG, VG_F_INDIRECT) < 0)
		return -1;
	if (vg_queue_init(d, q, 0, QSIZE) < 0) {
		vg_check(c, "virtio-rng", "queue set-up", 0, "QueueReady refused");
		return -1;
	}
	vg_driver_ok(d);
	return 0;
}

/* len random bytes into buf; returns the used length, or -1 on timeout. */
static long rng_get(struct vg_queue *q, uint64_t gpa, uint32_t len)
{
	struct vg_buf v = {gpa, len, 1};
	vg_post(q, vg_chain(q, 0, &v, 1));
	vg_kick(q);
	uint32_t id, used;
	return vg_wait_used(q, &id, &used, SPINS) ? (long)used : -1;
}

static int all_zero(volatile uint8_t *p, int n)
{
	for (int i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

enum hostile_case {
	H_HEAD_RANGE, H_NEXT_RANGE, H_LOOP, H_PAST_RAM, H_WRAP, H_ZERO_LEN, H_AVAIL_AHEAD,
	H_READ_AFTER_WRITE, H_INDIRECT_LEN, H_INDIRECT_NESTED, H_COUNT
};

static const char *const hostile_names[H_COUNT] = {
	"descriptor index out of range", "next index out of range", "descriptor loop",
	"buffer past the end of RAM", "address + length wraps", "zero-length buffer",
	"avail idx far ahead", "readable after writable", "indirect table length not x16",
	"nested indirect table",
};

static void hostile_chain(struct vg_queue *q, enum hostile_case h, uint64_t ram, uint64_t buf,
			  uint64_t table)
{
	volatile uint8_t *t = 0;
	switch (h) {
	case H_HEAD_RANGE: vg_post(q, QSIZE); return;
	case H_NEXT_RANGE: vg_desc(q, 0, buf, 16, VG_DESC_WRITE | VG_DESC_NEXT, 999); break;
	case H_LOOP:
		vg_desc(q, 0, buf, 16, VG_DESC_WRITE | VG_DESC_NEXT, 1);
		vg_desc(q, 1, buf, 16, VG_DESC_WRITE | VG_DESC_NEXT, 0);
		break;
	case H_PAST_RAM: vg_desc(q, 0, ram - 8, 16, VG_DESC_WRITE, 0); break;
	case H_WRAP: vg_desc(q, 0, 0xfffffffffffff000ull, 0x2000, VG_DESC_WRITE, 0); break;
	case H_ZERO_LEN: vg_desc(q, 0, buf, 0, VG_DESC_WRITE, 0); break;
	case H_AVAIL_AHEAD:
		vg_desc(q, 0, buf, 16, VG_DESC_WRITE, 0);
		vg_set_avail_idx(q, (uint16_t)(q->avail_idx + QSIZE + 1));
		return;
	case H_READ_AFTER_WRITE:
		vg_desc(q, 0, buf, 16, VG_DESC_WRITE | VG_DESC_NEXT, 1);
		vg_desc(q, 1, buf + 16, 16, 0, 0);
		break;
	case H_INDIRECT_LEN: vg_desc(q, 0, table, 24, VG_DESC_INDIRECT, 0); break;
	case H_INDIRECT_NESTED:
		/* The table's only entry points at the table itself, as another indirect. */
		t = q->dev->ctx->env->dma + (table - q->dev->ctx->env->dma_gpa);
		*(volatile uint64_t *)t = table;
		*(volatile uint32_t *)(t + 8) = 16;
		*(volatile uint16_t *)(t + 12) = VG_DESC_INDIRECT;
		vg_desc(q, 0, table, 16, VG_DESC_INDIRECT, 0);
		break;
	default: return;
	}
	vg_post(q, 0);
}

static void test_rng(struct vg_ctx *c)
{
	struct vg_dev d;
	struct vg_queue q;
	q.desc = 0;
	if (rng_up(c, &d, &q) < 0)
		return;
	uint64_t gpa = 0, table = 0;
	volatile uint8_t *buf = vg_alloc(c, 128, 0, &gpa);
	volatile uint8_t *t = vg_alloc(c, 64, 0, &table);
	if (!buf || !t) {
		vg_check(c, "virtio-rng", "dma memory", 0, "dma area too small");
		return;
	}
	long n1 = rng_get(&q, gpa, 64);
	long n2 = rng_get(&q, gpa + 64, 64);
	vg_check(c, "virtio-rng", "64 random bytes, twice", n1 == 64 && n2 == 64 && !all_zero(buf, 64) &&
		 !vg_equal(buf, buf + 64, 64), n1 < 0 || n2 < 0 ? "timeout" : "bytes look wrong");
	if (!c->env->hostile)
		return;
	uint64_t ram = c->env->ram_bytes ? c->env->ram_bytes : 0xd0000000ull;
	for (int h = 0; h < H_COUNT; h++) {
		if (rng_up(c, &d, &q) < 0)
			return;
		if ((h == H_INDIRECT_LEN || h == H_INDIRECT_NESTED) && !(d.features & VG_F_INDIRECT))
			continue;
		hostile_chain(&q, (enum hostile_case)h, ram, gpa, table);
		vg_kick(&q);
		struct vg_line l;
		vg_start(&l, "hostile: ");
		vg_add(&l, hostile_names[h]);
		vg_add(&l, " -> needs reset");
		vg_check(c, "virtio-rng", l.buf, vg_wait_needs_reset(&d, 1000000), "DEVICE_NEEDS_RESET not set");
	}
	/* Queue set-up the device must refuse: size not a power of two, ring outside RAM. */
	for (int bad = 0; bad < 2; bad++) {
		vg_dev_init(c, &d, "virtio-rng", c->env->rng_base, ID_RNG, 0);
		vg_w32(&d, 0x030, 0);
		vg_w32(&d, 0x038, bad ? QSIZE : 3);
		vg_w32(&d, 0x080, bad ? (uint32_t)(ram - 64) : (uint32_t)table);
		vg_w32(&d, 0x084, 0);
		vg_w32(&d, 0x044, 1);
		vg_check(c, "virtio-rng", bad ? "hostile: ring outside RAM refused" :
			 "hostile: queue size 3 refused", vg_r32(&d, 0x044) == 0 &&
			 (vg_r32(&d, 0x070) & VG_S_NEEDS_RESET), "queue became ready");
	}
	/* Queue registers rewritten after QueueReady are ignored: the queue keeps working. */
	if (rng_up(c, &d, &q) < 0)
		return;
	vg_w32(&d, 0x038, 3);
	vg_w32(&d, 0x080, 0x12345678);
	vg_check(c, "virtio-rng", "hostile: queue registers rewritten while ready ignored",
		 rng_get(&q, gpa, 32) == 32 && !(vg_r32(&d, 0x070) & VG_S_NEEDS_RESET), "queue broke");
}

/* --- virtio-net --- */

static void put16be(volatile uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32be(volatile uint8_t *p, uint32_t v)
{
	put16be(p, (uint16_t)(v >> 16));
	put16be(p + 2, (uint16_t)v);
}

static uint32_t get32be(volatile uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* RFC 1071 over an IPv4 header. */
static uint16_t ip_checksum(volatile uint8_t *h, unsigned len)
{
	uint32_t sum = 0;
	for (unsigned i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)h[i] << 8 | h[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

#define UDP_PAYLOAD "hello from nook-vm\n"

/* One UDP datagram from ip to the subnet's broadcast address, to udp_port, with
 * ff:ff:ff:ff:ff:ff as the destination: every member of the network may take it, no ARP. */
static uint32_t udp_broadcast_frame(const struct vg_env *env, const uint8_t *mac, volatile uint8_t *f)
{
	static const char payload[] = UDP_PAYLOAD;
	uint32_t plen = sizeof(payload) - 1;
	uint32_t bcast = env->ip | (env->prefix >= 32 ? 0 : 0xffffffffu >> env->prefix);
	vg_fill(f, 0xff, 6);
	vg_copy(f + 6, mac, 6);
	put16be(f + 12, 0x0800);
	volatile uint8_t *ip = f + 14, *udp = ip + 20;
	ip[0] = 0x45;
	ip[1] = 0;
	put16be(ip + 2, (uint16_t)(20 + 8 + plen));
	put16be(ip + 4, 0x6e6b); /* id */
	put16be(ip + 6, 0x4000); /* don't fragment */
	ip[8] = 64;
	ip[9] = 17;
	put16be(ip + 10, 0);
	put32be(ip + 12, env->ip);
	put32be(ip + 16, bcast);
	put16be(ip + 10, ip_checksum(ip, 20));
	put16be(udp, env->udp_port); /* source port: the same */
	put16be(udp + 2, env->udp_port);
	put16be(udp + 4, (uint16_t)(8 + plen));
	put16be(udp + 6, 0); /* no UDP checksum (allowed over IPv4) */
	vg_copy(udp + 8, payload, plen);
	uint32_t len = 14 + 20 + 8 + plen;
	return len < 60 ? 60 : len;
}

static void test_net(struct vg_ctx *c)
{
	struct vg_dev d;
	struct vg_queue rx, tx;
	rx.desc = tx.desc = 0;
	if (vg_dev_init(c, &d, "virtio-net", c->env->net_base, ID_NET, NET_F_MAC) < 0)
		return;
	if (vg_queue_init(&d, &rx, 0, QSIZE) < 0 || vg_queue_init(&d, &tx, 1, QSIZE) < 0) {
		vg_check(c, "virtio-net", "queue set-up", 0, "QueueReady refused");
		return;
	}
	vg_driver_ok(&d);
	uint8_t mac[8];
	uint32_t lo = vg_r32(&d, 0x100), hi = vg_r32(&d, 0x104);
	for (int i = 0; i < 4; i++)
		mac[i] = (uint8_t)(lo >> (8 * i));
	mac[4] = (uint8_t)hi;
	mac[5] = (uint8_t)(hi >> 8);
	struct vg_line l;
	vg_start(&l, "mac ");
	for (int i = 0; i < 6; i++) {
		vg_add_hex(&l, mac[i], 2);
		if (i < 5)
			vg_add(&l, ":");
	}
	vg_check(c, "virtio-net", l.buf, (d.features & NET_F_MAC) && !(mac[0] & 1), "no unicast MAC");
	uint64_t rx_gpa = 0, tx_gpa = 0;
	volatile uint8_t *rxb = vg_alloc(c, (uint64_t)QSIZE * 2048, 1, &rx_gpa);
	volatile uint8_t *txb = vg_alloc(c, 2048, 0, &tx_gpa);
	if (!rxb || !txb) {
		vg_check(c, "virtio-net", "dma memory", 0, "dma area too small");
		return;
	}
	for (uint16_t i = 0; i < QSIZE; i++) {
		struct vg_buf v = {rx_gpa + 2048u * i, NET_HDR + FRAME_MAX, 1};
		vg_post(&rx, vg_chain(&rx, i, &v, 1));
	}
	vg_kick(&rx);
	/* An ARP request for peer_ip (a host answers it), or a plain broadcast. */
	volatile uint8_t *f = txb + NET_HDR;
	vg_fill(f, 0xff, 6);
	vg_copy(f + 6, mac, 6);
	uint32_t flen = 60;
	if (c->env->peer_ip) {
		put16be(f + 12, 0x0806);
		put16be(f + 14, 1);
		put16be(f + 16, 0x0800);
		f[18] = 6;
		f[19] = 4;
		put16be(f + 20, 1);
		vg_copy(f + 22, mac, 6);
		put32be(f + 28, c->env->ip);
		vg_fill(f + 32, 0, 6);
		put32be(f + 38, c->env->peer_ip);
	} else {
		put16be(f + 12, 0x88b5);
		vg_copy(f + 14, "nook virtio-net test frame", 26);
	}
	struct vg_buf v[2] = {{tx_gpa, NET_HDR, 0}, {tx_gpa + NET_HDR, flen, 0}};
	vg_post(&tx, vg_chain(&tx, 0, v, 2));
	vg_kick(&tx);
	uint32_t id, len;
	vg_check(c, "virtio-net", "send a 60-byte frame", vg_wait_used(&tx, &id, &len, SPINS), "timeout");
	if (c->env->udp_port && c->env->ip && c->env->prefix) {
		flen = udp_broadcast_frame(c->env, mac, f);
		v[1].len = flen;
		vg_post(&tx, vg_chain(&tx, 0, v, 2));
		vg_kick(&tx);
		vg_check(c, "virtio-net", "send a UDP broadcast", vg_wait_used(&tx, &id, &len, SPINS), "timeout");
	}
	if (!c->env->peer_ip) {
		c->env->print("virtio-net: receive skipped (no peer address)\n");
		return;
	}
	int got = 0;
	for (int frames = 0; frames < 64 && !got; frames++) {
		if (!vg_wait_used(&rx, &id, &len, SPINS))
			break;
		volatile uint8_t *r = rxb + 2048u * (id % QSIZE) + NET_HDR;
		if (len >= NET_HDR + 42 && r[12] == 0x08 && r[13] == 0x06 && r[21] == 2 &&
		    get32be(r + 28) == c->env->peer_ip && vg_equal(r, mac, 6))
			got = 1;
		vg_post(&rx, (uint16_t)(id % QSIZE)); /* recycle the buffer */
		vg_kick(&rx);
	}
	vg_check(c, "virtio-net", "receive the ARP reply", got, "no reply");
}

int virtio_guest_run(const struct vg_env *env)
{
	struct vg_ctx c;
	c.env = env;
	c.dma_used = 0;
	c.ok = c.failed = 0;
	if (env->blk_base)
		test_blk(&c);
	if (env->rng_base)
		test_rng(&c);
	if (env->net_base)
		test_net(&c);
	struct vg_line l;
	vg_start(&l, "virtio: done, ");
	vg_add_dec(&l, (uint64_t)c.ok);
	vg_add(&l, " ok, ");
	vg_add_dec(&l, (uint64_t)c.failed);
	vg_add(&l, " failed");
	vg_print(&c, &l);
	return c.failed;
}
