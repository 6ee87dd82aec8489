// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * The KVMi codec (src/proto/kvmi-wire.c) and the kvm_sregs parser
 * (src/proto/kvmi-sregs.c), from frames built here byte by byte after
 * KVMI-WIRE.md and libkvmi master's headers, and from QEMU 7.2's real
 * "info registers" text (tests/unit/data/hmp).
 */
#include <stdlib.h>

#include "harness.h"
#include "testdata.h"
#include "proto/kvmi-sregs.h"
#include "proto/kvmi-wire.h"

static void hs_v7_and_v12(void)
{
	struct qvmi_kvmi_vm_hs hs = { .start_time = 1700000000,
				      .max_gpa = 0x1fffffff };
	uint8_t b[QVMI_KVMI_HS_V12];

	for (int i = 0; i < 16; i++)
		hs.uuid[i] = (uint8_t)(0xa0 + i);
	memset(hs.name, 'x', sizeof(hs.name)); /* no NUL: cut to 63 */
	CHECK_INT(qvmi__kvmi_hs_encode(&hs, false, b), ==, 96);
	CHECK_INT(qvmi__kvmi_u32(b), ==, 96);
	CHECK_INT(b[4], ==, 0xa0);
	CHECK_INT(b[19], ==, 0xaf);
	CHECK_INT(qvmi__kvmi_u32(b + 20), ==, 0);
	CHECK_U64(qvmi__kvmi_u64(b + 24), ==, 1700000000);
	CHECK_INT(b[32], ==, 'x');
	CHECK_INT(b[32 + 62], ==, 'x');
	CHECK_INT(b[32 + 63], ==, 0);
	memset(b, 0xee, sizeof(b));
	CHECK_INT(qvmi__kvmi_hs_encode(&hs, true, b), ==, 104);
	CHECK_INT(qvmi__kvmi_u32(b), ==, 104);
	CHECK_U64(qvmi__kvmi_u64(b + 96), ==, 0x1fffffff);
}

static void hs_reply_bounds(void)
{
	uint8_t b[4];
	uint32_t n = 0;
	const char *why = NULL;

	qvmi__kvmi_put32(b, 23);
	CHECK_INT(qvmi__kvmi_hs_reply_size(b, &n, &why), ==, -EBADMSG);
	CHECK(why != NULL);
	qvmi__kvmi_put32(b, 24);
	CHECK_OK(qvmi__kvmi_hs_reply_size(b, &n, &why));
	CHECK_INT(n, ==, 24);
	qvmi__kvmi_put32(b, 64 * 1024);
	CHECK_OK(qvmi__kvmi_hs_reply_size(b, &n, &why));
	qvmi__kvmi_put32(b, 64 * 1024 + 1);
	CHECK_INT(qvmi__kvmi_hs_reply_size(b, &n, &why), ==, -EBADMSG);
	qvmi__kvmi_put32(b, 0xffffffff);
	CHECK_INT(qvmi__kvmi_hs_reply_size(b, &n, &why), ==, -EBADMSG);
}

static void hdr_round_trip(void)
{
	struct qvmi_kvmi_hdr h = { 17, 16, 0xdeadbeef }, g;
	uint8_t b[8];
	const char *why = NULL;

	qvmi__kvmi_hdr_encode(&h, b);
	CHECK_INT(b[0], ==, 17);
	CHECK_INT(b[2], ==, 16);
	CHECK_INT(b[4], ==, 0xef);
	CHECK_OK(qvmi__kvmi_hdr_decode(b, &g, &why));
	CHECK(g.id == 17 && g.size == 16 && g.seq == 0xdeadbeef);
	qvmi__kvmi_put16(b + 2, 8184);
	CHECK_OK(qvmi__kvmi_hdr_decode(b, &g, &why));
	qvmi__kvmi_put16(b + 2, 8185);
	CHECK_INT(qvmi__kvmi_hdr_decode(b, &g, &why), ==, -EBADMSG);
	qvmi__kvmi_put16(b + 2, 0xffff);
	CHECK_INT(qvmi__kvmi_hdr_decode(b, &g, &why), ==, -EBADMSG);
}

static int check(uint16_t id, const uint8_t *p, size_t n)
{
	struct qvmi_kvmi_hdr h = { id, (uint16_t)n, 1 };
	const char *why = NULL;
	int err = qvmi__kvmi_req_check(&h, p, &why);

	if (err && !why)
		return -9999; /* every refusal must say why */
	return err;
}

static void req_sizes(void)
{
	uint8_t p[QVMI_KVMI_MAX_PAYLOAD] = { 0 };

	CHECK_INT(check(QVMI_KVMI_GET_VERSION, p, 0), ==, 0);
	CHECK_INT(check(QVMI_KVMI_GET_VERSION, p, 1), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_CHECK_COMMAND, p, 8), ==, 0);
	CHECK_INT(check(QVMI_KVMI_CHECK_COMMAND, p, 7), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_CHECK_EVENT, p, 9), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_PAUSE_VCPU, p, 16), ==, 0);
	CHECK_INT(check(QVMI_KVMI_PAUSE_VCPU, p, 8), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_READ_PHYSICAL, p, 16), ==, 0);
	CHECK_INT(check(QVMI_KVMI_READ_PHYSICAL, p, 15), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_CONTROL_CMD_RESPONSE, p, 8), ==, 0);
	CHECK_INT(check(QVMI_KVMI_CONTROL_CMD_RESPONSE, p, 0), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_SET_REGISTERS, p, 152), ==, 0);
	CHECK_INT(check(QVMI_KVMI_SET_REGISTERS, p, 151), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_GET_MAX_GFN, p, 8), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_VCPU_TRANSLATE_GVA, p, 16), ==, 0);
	/* the tool never sends an EVENT */
	CHECK_INT(check(QVMI_KVMI_EVENT, p, 0), ==, -EBADMSG);
	/* unknown and unsupported ids: any size, answered -EOPNOTSUPP */
	CHECK_INT(check(50, p, 3), ==, 0);
	CHECK_INT(check(0xffff, p, 100), ==, 0);
	CHECK_INT(check(QVMI_KVMI_GET_XSAVE, p, 5), ==, 0);
}

static void req_counted(void)
{
	uint8_t p[QVMI_KVMI_MAX_PAYLOAD] = { 0 };

	/* GET_REGISTERS: vcpu_hdr + {u16 nmsrs, pad} + u32 index each */
	qvmi__kvmi_put16(p + 8, 3);
	CHECK_INT(check(QVMI_KVMI_GET_REGISTERS, p, 16 + 12), ==, 0);
	CHECK_INT(check(QVMI_KVMI_GET_REGISTERS, p, 16 + 8), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_GET_REGISTERS, p, 16 + 16), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_GET_REGISTERS, p, 15), ==, -EBADMSG);
	/* WRITE_PHYSICAL: {gpa, size} + size bytes */
	memset(p, 0, 16);
	qvmi__kvmi_put64(p + 8, 4);
	CHECK_INT(check(QVMI_KVMI_WRITE_PHYSICAL, p, 20), ==, 0);
	CHECK_INT(check(QVMI_KVMI_WRITE_PHYSICAL, p, 21), ==, -EBADMSG);
	qvmi__kvmi_put64(p + 8, ~0ull); /* no overflow into a match */
	CHECK_INT(check(QVMI_KVMI_WRITE_PHYSICAL, p, 15), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_WRITE_PHYSICAL, p, 16), ==, -EBADMSG);
	qvmi__kvmi_put64(p + 8, (uint64_t)-16);
	CHECK_INT(check(QVMI_KVMI_WRITE_PHYSICAL, p, 0), ==, -EBADMSG);
	/* SET_PAGE_ACCESS: {view, count, pad} + 16 each */
	memset(p, 0, 16);
	qvmi__kvmi_put16(p + 2, 2);
	CHECK_INT(check(QVMI_KVMI_SET_PAGE_ACCESS, p, 40), ==, 0);
	CHECK_INT(check(QVMI_KVMI_SET_PAGE_ACCESS, p, 39), ==, -EBADMSG);
	/* EVENT_REPLY: at least vcpu_hdr + {action, event, pad} */
	memset(p, 0, 16);
	CHECK_INT(check(QVMI_KVMI_EVENT_REPLY, p, 16), ==, 0);
	CHECK_INT(check(QVMI_KVMI_EVENT_REPLY, p, 15), ==, -EBADMSG);
	CHECK_INT(check(QVMI_KVMI_EVENT_REPLY, p, 16 + 8), ==, 0);
	CHECK_INT(check(QVMI_KVMI_EVENT_REPLY, p, 16 + 65), ==, -EBADMSG);
}

static void req_vcpu_padding(void)
{
	uint8_t p[16] = { 0 };

	CHECK(qvmi__kvmi_is_vcpu_cmd(QVMI_KVMI_PAUSE_VCPU));
	CHECK(!qvmi__kvmi_is_vcpu_cmd(QVMI_KVMI_READ_PHYSICAL));
	CHECK(!qvmi__kvmi_is_vcpu_cmd(0xffff));
	qvmi__kvmi_put16(p, 1);
	CHECK_INT(check(QVMI_KVMI_PAUSE_VCPU, p, 16), ==, 0);
	CHECK_INT(qvmi__kvmi_vcpu_of(p), ==, 1);
	p[2] = 1;
	CHECK_INT(check(QVMI_KVMI_PAUSE_VCPU, p, 16), ==, -EINVAL);
	p[2] = 0;
	p[7] = 1;
	CHECK_INT(check(QVMI_KVMI_CONTROL_EVENTS, p, 16), ==, -EINVAL);
	/* not a vCPU command: the same bytes are a gpa */
	CHECK_INT(check(QVMI_KVMI_READ_PHYSICAL, p, 16), ==, 0);
}

static void reply_layout(void)
{
	uint8_t b[32];

	CHECK_INT(qvmi__kvmi_reply_encode(b, 13, 77, 0, 488), ==, 16);
	CHECK_INT(qvmi__kvmi_u16(b), ==, 13);
	CHECK_INT(qvmi__kvmi_u16(b + 2), ==, 8 + 488);
	CHECK_INT(qvmi__kvmi_u32(b + 4), ==, 77);
	CHECK_INT((int32_t)qvmi__kvmi_u32(b + 8), ==, 0);
	/* an error carries no data */
	qvmi__kvmi_reply_encode(b, 13, 78, -22, 488);
	CHECK_INT(qvmi__kvmi_u16(b + 2), ==, 8);
	CHECK_INT((int32_t)qvmi__kvmi_u32(b + 8), ==, -22);
	CHECK_INT(qvmi__kvmi_u32(b + 12), ==, 0);
}

static void event_layout(void)
{
	struct qvmi_kvmi_arch a = { .mode = 8 };
	uint8_t b[1024], spec[16] = { 0x11 };
	size_t n;

	a.regs.rip = 0xffffffff81000000ull;
	a.sregs.cr3 = 0x18210000;
	a.msrs.efer = 0xd01;
	a.msrs.shadow_gs = 0x55;
	n = qvmi__kvmi_event_encode(b, sizeof(b), 9, 1, QVMI_KVMI_EV_BREAKPOINT,
				    &a, spec, 16);
	CHECK_INT(n, ==, 8 + 544 + 16);
	CHECK_INT(qvmi__kvmi_u16(b), ==, QVMI_KVMI_EVENT);
	CHECK_INT(qvmi__kvmi_u16(b + 2), ==, 544 + 16);
	CHECK_INT(qvmi__kvmi_u32(b + 4), ==, 9);
	/* struct kvmi_event {u16 size; u16 vcpu; u8 event; pad[3]} */
	CHECK_INT(qvmi__kvmi_u16(b + 8), ==, 544);
	CHECK_INT(qvmi__kvmi_u16(b + 10), ==, 1);
	CHECK_INT(b[12], ==, QVMI_KVMI_EV_BREAKPOINT);
	/* arch: mode at 8, kvm_regs at 16, kvm_sregs at 160, MSRs at 472
	 * (offsets in struct kvmi_event) */
	CHECK_INT(b[8 + 8], ==, 8);
	CHECK_U64(qvmi__kvmi_u64(b + 8 + 16 + 128), ==, 0xffffffff81000000ull);
	/* kvm_sregs: 8 segments of 24 bytes, gdt, idt (16 each), cr0,
	 * cr2, cr3 */
	CHECK_U64(qvmi__kvmi_u64(b + 8 + 160 + 8 * 24 + 32 + 16), ==,
		  0x18210000);
	CHECK_U64(qvmi__kvmi_u64(b + 8 + 472 + 3 * 8), ==, 0xd01);
	CHECK_U64(qvmi__kvmi_u64(b + 8 + 472 + 8 * 8), ==, 0x55);
	CHECK_INT(b[8 + 544], ==, 0x11);
	/* too much specific data, or no room */
	CHECK_INT(qvmi__kvmi_event_encode(b, sizeof(b), 9, 1, 4, &a, spec, 65),
		  ==, 0);
	CHECK_INT(qvmi__kvmi_event_encode(b, 8 + 544 + 15, 9, 1, 4, &a, spec,
					  16),
		  ==, 0);
}

static void event_reply_decode(void)
{
	uint8_t p[24] = { 0 };
	struct qvmi_kvmi_ev_reply r;

	qvmi__kvmi_put16(p, 1);
	p[8] = QVMI_KVMI_RETRY;
	p[9] = QVMI_KVMI_EV_BREAKPOINT;
	qvmi__kvmi_ev_reply_decode(p, 24, &r);
	CHECK_INT(r.vcpu, ==, 1);
	CHECK_INT(r.action, ==, QVMI_KVMI_RETRY);
	CHECK_INT(r.event, ==, QVMI_KVMI_EV_BREAKPOINT);
	CHECK_INT(r.spec_len, ==, 8);
}

/* QEMU 7.2, pc, 2 vCPUs, Debian 6.1 kernel: tests/unit/data/hmp. */
static void sregs_real_text(void)
{
	char *text = qvmi_test_data("hmp/regs-a-pc-smp2.txt", NULL);
	struct kvm_sregs s;

	CHECK(text != NULL);
	CHECK_OK(qvmi__kvmi_parse_sregs(text, 0, &s));
	/* CS =0010 0000000000000000 ffffffff 00af9b00 DPL=0 CS64 [-RA] */
	CHECK_INT(s.cs.selector, ==, 0x10);
	CHECK_U64(s.cs.limit, ==, 0xffffffff);
	CHECK_INT(s.cs.type, ==, 0xb);
	CHECK(s.cs.s && s.cs.present && s.cs.l && !s.cs.db && s.cs.g);
	CHECK_INT(s.cs.dpl, ==, 0);
	CHECK(!s.cs.unusable);
	/* SS =0018 ... 00cf9300 */
	CHECK_INT(s.ss.selector, ==, 0x18);
	CHECK(s.ss.db && !s.ss.l && s.ss.type == 3);
	/* DS =0000 ... 00000000: not present -> unusable */
	CHECK(s.ds.unusable && !s.ds.present);
	/* GS =0000 ffff8bc55f400000 */
	CHECK_U64(s.gs.base, ==, 0xffff8bc55f400000ull);
	/* TR =0040 fffffe0000003000 00004087 00008900 DPL=0 TSS64-avl */
	CHECK_INT(s.tr.selector, ==, 0x40);
	CHECK_U64(s.tr.base, ==, 0xfffffe0000003000ull);
	CHECK_U64(s.tr.limit, ==, 0x4087);
	CHECK_INT(s.tr.type, ==, 9);
	CHECK_INT(s.ldt.type, ==, 2);
	CHECK_U64(s.gdt.base, ==, 0xfffffe0000001000ull);
	CHECK_INT(s.gdt.limit, ==, 0x7f);
	CHECK_U64(s.idt.base, ==, 0xfffffe0000000000ull);
	CHECK_INT(s.idt.limit, ==, 0xfff);
	CHECK_OK(qvmi__kvmi_parse_sregs(text, 1, &s));
	CHECK_INT(s.cs.selector, ==, 0x10);
	CHECK_INT(qvmi__kvmi_parse_sregs(text, 2, &s), ==, -ENOENT);
	free(text);
}

/* QMP's human-monitor-command text ends lines with \r\n; "CPU#1" must
 * not be found inside "CPU#12". */
static void sregs_crlf_and_ids(void)
{
	char *text = qvmi_test_data("hmp/regs-a-pc-smp2.txt", NULL), *crlf, *o;
	struct kvm_sregs s;
	size_t n = strlen(text);

	crlf = calloc(1, 2 * n + 1);
	CHECK(crlf != NULL);
	o = crlf;
	for (size_t i = 0; i < n; i++) {
		if (text[i] == '\n')
			*o++ = '\r';
		*o++ = text[i];
	}
	CHECK_OK(qvmi__kvmi_parse_sregs(crlf, 1, &s));
	CHECK_U64(s.tr.base, !=, 0);
	/* rename CPU#1 to CPU#12: vCPU 1 is gone, 12 is there */
	o = strstr(crlf, "CPU#1\r");
	CHECK(o != NULL);
	memmove(o + 6, o + 5, strlen(o + 5) + 1);
	o[5] = '2';
	CHECK_INT(qvmi__kvmi_parse_sregs(crlf, 1, &s), ==, -ENOENT);
	CHECK_OK(qvmi__kvmi_parse_sregs(crlf, 12, &s));
	free(crlf);
	free(text);
}

static void sregs_real_mode_32(void)
{
	char *text = qvmi_test_data("hmp/regs-reset-32.txt", NULL);
	struct kvm_sregs s;

	CHECK(text != NULL);
	CHECK_OK(qvmi__kvmi_parse_sregs(text, 0, &s));
	/* CS =f000 ffff0000 0000ffff 00009b00 */
	CHECK_INT(s.cs.selector, ==, 0xf000);
	CHECK_U64(s.cs.base, ==, 0xffff0000);
	CHECK_U64(s.cs.limit, ==, 0xffff);
	CHECK(s.cs.present && !s.cs.l && !s.cs.db);
	free(text);
}

static void sregs_bad_text(void)
{
	static const char *const bad[] = {
		"",
		"CPU#0\nES =0000 0000000000000000 00000000 00000000\n",
		"CS =zz\n",
		"CPU#0\nGDT=     fffffe0000001000 0001ffff\n",
	};
	struct kvm_sregs s;
	char *text = qvmi_test_data("hmp/regs-pc.txt", NULL), *l;

	for (size_t i = 0; i < QVMI_ARRAY_SIZE(bad); i++)
		CHECK_INT(qvmi__kvmi_parse_sregs(bad[i], 0, &s), ==, -EBADMSG);
	CHECK_INT(qvmi__kvmi_parse_sregs("CPU#0\n", 1, &s), ==, -ENOENT);
	/* one segment line missing */
	CHECK(text != NULL);
	CHECK_OK(qvmi__kvmi_parse_sregs(text, 0, &s));
	l = strstr(text, "TR =");
	CHECK(l != NULL);
	l[0] = 'X';
	CHECK_INT(qvmi__kvmi_parse_sregs(text, 0, &s), ==, -EBADMSG);
	/* a garbled field */
	l[0] = 'T';
	l = strstr(text, "SS =");
	memcpy(l + 4, "zz", 2);
	CHECK_INT(qvmi__kvmi_parse_sregs(text, 0, &s), ==, -EBADMSG);
	free(text);
}

static const struct qvmi_test kvmi_wire_tests[] = {
	{ "hs_v7_and_v12", hs_v7_and_v12 },
	{ "hs_reply_bounds", hs_reply_bounds },
	{ "hdr_round_trip", hdr_round_trip },
	{ "req_sizes", req_sizes },
	{ "req_counted", req_counted },
	{ "req_vcpu_padding", req_vcpu_padding },
	{ "reply_layout", reply_layout },
	{ "event_layout", event_layout },
	{ "event_reply_decode", event_reply_decode },
	{ "sregs_real_text", sregs_real_text },
	{ "sregs_crlf_and_ids", sregs_crlf_and_ids },
	{ "sregs_real_mode_32", sregs_real_mode_32 },
	{ "sregs_bad_text", sregs_bad_text },
};
QVMI_SUITE(kvmi_wire, kvmi_wire_tests);
