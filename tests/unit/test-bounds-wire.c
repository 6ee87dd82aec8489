// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Bounds checks of the wire decoders (session frames, KVMi frames,
 * pmemaccess requests, the gdb remote protocol) that no other test
 * reached: for each, scripts/mutate-bounds showed every suite green with
 * the check deleted (tests/mutate/bounds.list names them).  Each input is
 * hostile in exactly one way and the test asserts the specific error; an
 * input that would only be read past its end sits against a PROT_NONE page
 * (guardpage.h), so the deleted check faults even without ASan.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb-model.h"
#include "guardpage.h"
#include "harness.h"
#include "qvmi.h"
#include "attach/qvmid.h"
#include "proto/gdb.h"
#include "proto/kvmi-wire.h"
#include "proto/pmemaccess.h"
#include "proto/rsp.h"
#include "proto/session-wire.h"

/* ---- session frames ------------------------------------------------------ */

static void ses_hdr_size_multiple_of_8(void)
{
	struct qvmi_ses_hdr h = { .msg = QVMI_SES_READ_PA, .size = 16 }, g;
	uint8_t b[QVMI_SES_HDR];
	const char *why = NULL;

	qvmi__ses_hdr_encode(&h, b);
	CHECK_OK(qvmi__ses_hdr_decode(b, &g, &why));
	CHECK_INT(g.size, ==, 16);
	h.size = 12;
	qvmi__ses_hdr_encode(&h, b);
	CHECK_INT(qvmi__ses_hdr_decode(b, &g, &why), ==, -EPROTO);
	CHECK_STR(why, "payload size not a multiple of 8");
}

/* A VM info block by hand (the encoder would not write a bad one): a name
 * of nlen 'n's, nram sorted 4 KiB ranges 8 KiB apart. */
static size_t info_buf(uint8_t *out, uint32_t nlen, uint32_t nram,
		       uint32_t max_transfer)
{
	size_t off = QVMI_SES_INFO_FIXED;

	memset(out, 0, QVMI_SES_INFO_FIXED);
	qvmi__ses_put16(out, QVMI_SES_VERSION);
	qvmi__ses_put16(out + 2, 1);
	qvmi__ses_put32(out + 4, 1);
	qvmi__ses_put32(out + 44, nram);
	qvmi__ses_put32(out + 48, nlen);
	qvmi__ses_put32(out + 52, max_transfer);
	memset(out + off, 'n', nlen);
	memset(out + off + nlen, 0, qvmi__ses_pad8(nlen) - nlen);
	off += qvmi__ses_pad8(nlen);
	for (uint32_t i = 0; i < nram; i++, off += 16) {
		qvmi__ses_put64(out + off, (uint64_t)i * 0x2000);
		qvmi__ses_put64(out + off + 8, 0x1000);
	}
	return off;
}

static void ses_info_limits(void)
{
	size_t cap = QVMI_SES_INFO_FIXED + 512 + 16 * (QVMI_SES_RAM_MAX + 2);
	uint8_t *b = malloc(cap);
	struct qvmi_ses_info *info = calloc(1, sizeof(*info));
	const char *why = NULL;
	size_t n;

	CHECK(b && info);
	/* at the limits: accepted */
	n = info_buf(b, QVMI_SES_NAME_MAX, QVMI_SES_RAM_MAX, QVMI_SES_MAX_DATA);
	CHECK_MSG(!qvmi__ses_info_decode(b, n, info, &why), "%s", why);
	CHECK_INT(strlen(info->name), ==, QVMI_SES_NAME_MAX);
	CHECK_INT(info->nram, ==, QVMI_SES_RAM_MAX);
	/* one past each, with a length that matches its counts */
	n = info_buf(b, QVMI_SES_NAME_MAX + 1, 1, 4096);
	CHECK_INT(qvmi__ses_info_decode(b, n, info, &why), ==, -EPROTO);
	CHECK_STR(why, "vm info: name or RAM map above the limits");
	n = info_buf(b, 8, QVMI_SES_RAM_MAX + 1, 4096);
	CHECK_INT(qvmi__ses_info_decode(b, n, info, &why), ==, -EPROTO);
	CHECK_STR(why, "vm info: name or RAM map above the limits");
	n = info_buf(b, 8, 1, QVMI_SES_MAX_DATA + 1);
	CHECK_INT(qvmi__ses_info_decode(b, n, info, &why), ==, -EPROTO);
	CHECK_STR(why, "vm info: bad max_transfer");
	/* a range that wraps past 2^64 */
	n = info_buf(b, 8, 1, 4096);
	qvmi__ses_put64(b + n - 16, 0xfffffffffffff000ull);
	qvmi__ses_put64(b + n - 8, 0x2000);
	CHECK_INT(qvmi__ses_info_decode(b, n, info, &why), ==, -EPROTO);
	CHECK_STR(why, "vm info: empty or wrapping RAM range");
	free(b);
	free(info);
}

static void ses_info_short(void)
{
	struct qvmi_ses_info *info = calloc(1, sizeof(*info));
	struct qvmi_guarded g;
	uint8_t b[QVMI_SES_INFO_FIXED];
	const char *why = NULL;

	CHECK(info);
	info_buf(b, 0, 0, 4096);
	/* the first 8 bytes of a good block, and nothing after them */
	CHECK(qvmi_guarded_new(&g, b, 8));
	CHECK_INT(qvmi__ses_info_decode(g.p, 8, info, &why), ==, -EPROTO);
	CHECK_STR(why, "vm info: too short");
	qvmi_guarded_free(&g);
	free(info);
}

static void ses_errtext_bounds(void)
{
	uint8_t b[8 + 264];
	struct qvmi_guarded g, o;
	char out[64];

	/* nothing at all: not even the count is read */
	CHECK(qvmi_guarded_new(&g, NULL, 0));
	CHECK_INT(qvmi__ses_errtext_decode(g.p, 0, out, sizeof(out)), ==,
		  -EPROTO);
	qvmi_guarded_free(&g);
	/* 256 bytes of text: one above the limit */
	memset(b, 'e', sizeof(b));
	qvmi__ses_put32(b, QVMI_SES_ERRTEXT_MAX + 1);
	qvmi__ses_put32(b + 4, 0);
	CHECK_INT(qvmi__ses_errtext_decode(b, 8 + 256, out, sizeof(out)), ==,
		  -EPROTO);
	/* 4 bytes of text in a 16-byte payload: longer than its count says */
	memset(b, 0, sizeof(b));
	qvmi__ses_put32(b, 4);
	memcpy(b + 8, "oops", 4);
	CHECK_OK(qvmi__ses_errtext_decode(b, 16, out, sizeof(out)));
	CHECK_STR(out, "oops");
	CHECK_INT(qvmi__ses_errtext_decode(b, 24, out, sizeof(out)), ==,
		  -EPROTO);
	/* a 10-byte text into a 4-byte buffer: cut, never written past */
	qvmi__ses_put32(b, 10);
	memcpy(b + 8, "abcdefghij", 10);
	CHECK(qvmi_guarded_new(&o, NULL, 4));
	CHECK_OK(qvmi__ses_errtext_decode(b, 24, (char *)o.p, 4));
	CHECK_STR((char *)o.p, "abc");
	qvmi_guarded_free(&o);
}

/* ---- KVMi frames --------------------------------------------------------- */

/* Ids past the rule table are unknown commands: passed on (and answered
 * -KVM_EOPNOTSUPP), never looked up in the table. */
static void kvmi_id_past_table(void)
{
	uint8_t p[16] = { 0 };
	const char *why = NULL;

	for (uint32_t id = QVMI_KVMI_NUM_IDS; id <= 0xffff; id++) {
		struct qvmi_kvmi_hdr h = { (uint16_t)id, 0, 1 };

		if (qvmi__kvmi_req_check(&h, p, &why)) {
			CHECK_MSG(0, "id %u refused: %s", id, why);
			break;
		}
	}
}

/* ---- gdb remote protocol ------------------------------------------------- */

/* s (no NUL) at the end of a page: reading past it faults */
static const char *at_edge(struct qvmi_guarded *g, const char *s)
{
	CHECK(qvmi_guarded_new(g, s, strlen(s)));
	return (const char *)g->p;
}

static void rsp_decode_bounds(void)
{
	struct qvmi_guarded g, o;
	size_t n = 0;
	uint8_t out[64];
	const char *s;

	/* a '*' with nothing before it to repeat */
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"*#", 2, false, out,
				   sizeof(out), &n),
		  ==, -EBADMSG);
	/* a '*' or an escape as the last byte */
	s = at_edge(&g, "ab*");
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)s, 3, false, out,
				   sizeof(out), &n),
		  ==, -EBADMSG);
	qvmi_guarded_free(&g);
	s = at_edge(&g, "ab}");
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)s, 3, true, out,
				   sizeof(out), &n),
		  ==, -EBADMSG);
	qvmi_guarded_free(&g);
	/* output of cap bytes, then one more: by a run, by a plain byte */
	CHECK(qvmi_guarded_new(&o, NULL, 4));
	CHECK_OK(
		qvmi__rsp_decode((const uint8_t *)"a* ", 3, false, o.p, 4, &n));
	CHECK_INT(n, ==, 4); /* ' ' is 32: 3 more */
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"a*!", 3, false, o.p, 4,
				   &n),
		  ==, -EPROTO);
	CHECK_INT(qvmi__rsp_decode((const uint8_t *)"abcde", 5, false, o.p, 4,
				   &n),
		  ==, -EPROTO);
	qvmi_guarded_free(&o);
}

static void rsp_frame_hex_bounds(void)
{
	struct qvmi_guarded o, g;
	size_t n = 0;
	const char *s;

	CHECK(qvmi_guarded_new(&o, NULL, 8));
	CHECK_INT(qvmi__rsp_frame((const uint8_t *)"", 0, o.p + 5, 3), ==,
		  -ENOSPC);
	/* each byte keeps room for its escape: 3 fit in 8, not 4 */
	CHECK_INT(qvmi__rsp_frame((const uint8_t *)"abc", 3, o.p, 8), ==, 7);
	CHECK_INT(qvmi__rsp_frame((const uint8_t *)"abcd", 4, o.p, 8), ==,
		  -ENOSPC);
	CHECK_INT(qvmi__rsp_frame((const uint8_t *)"a}}}}}", 6, o.p, 8), ==,
		  -ENOSPC);
	/* hex: an odd count (the last digit against the page end), and
	 * more bytes than cap */
	s = at_edge(&g, "abc");
	CHECK_INT(qvmi__rsp_hex2bin(s, 3, o.p, 8, &n), ==, -EBADMSG);
	qvmi_guarded_free(&g);
	CHECK_OK(qvmi__rsp_hex2bin("0102", 4, o.p + 6, 2, &n));
	CHECK_INT(qvmi__rsp_hex2bin("010203", 6, o.p + 6, 2, &n), ==, -EPROTO);
	qvmi_guarded_free(&o);
}

static void rsp_numbers_bounds(void)
{
	struct qvmi_guarded g;
	struct qvmi_rsp_stop st;
	struct qvmi_rsp_item it;
	uint64_t v = 0;
	const char *s;

	CHECK_OK(qvmi__rsp_parse_hex("ffffffffffffffff", 16, &v));
	CHECK_INT(qvmi__rsp_parse_hex("10000000000000000", 17, &v), ==,
		  -EBADMSG);
	/* error replies are exactly "Exx" */
	CHECK_INT(qvmi__rsp_error_code("E0a", 3), ==, 10);
	CHECK_INT(qvmi__rsp_error_code("E0a1", 4), ==, -1);
	s = at_edge(&g, "E0");
	CHECK_INT(qvmi__rsp_error_code(s, 2), ==, -1);
	qvmi_guarded_free(&g);
	/* a stop reply cut inside its signal number */
	s = at_edge(&g, "T0");
	CHECK_INT(qvmi__rsp_parse_stop(s, 2, &st), ==, -EBADMSG);
	qvmi_guarded_free(&g);
	/* a packet cut inside its checksum: more is needed */
	s = at_edge(&g, "$ab#6");
	CHECK_OK(qvmi__rsp_scan((const uint8_t *)s, 5, 64, &it));
	CHECK_INT(it.kind, ==, QVMI_RSP_NEED_MORE);
	qvmi_guarded_free(&g);
}

/* A connection whose peer has already written `in`. */
static int rsp_peer(struct qvmi_ctx *ctx, struct qvmi_rsp_conn *c,
		    const char *in, size_t len)
{
	int sv[2];

	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	CHECK(write(sv[1], in, len) == (ssize_t)len);
	CHECK_OK(qvmi__rsp_init(c, ctx, sv[0], 2000));
	return sv[1];
}

static char *repeat(const char *unit, int n, const char *end, size_t *len)
{
	size_t u = strlen(unit), e = strlen(end);
	char *b = malloc(u * (size_t)n + e + 1);

	CHECK(b);
	for (int i = 0; i < n; i++)
		memcpy(b + u * (size_t)i, unit, u);
	memcpy(b + u * (size_t)n, end, e + 1);
	*len = u * (size_t)n + e;
	return b;
}

/* What the connection takes from a stub before it gives up: garbage
 * bytes, bad checksums, refusals, packets while waiting for an ack, and
 * what it sends. */
static void rsp_conn_limits(void)
{
	struct qvmi_ctx *ctx = NULL;
	struct qvmi_rsp_conn c;
	char buf[QVMI_RSP_MAX_DECODED + 1], *in, *big;
	size_t len, n;
	int peer;

	CHECK_OK(qvmi_ctx_create(&ctx));
	for (int k = 0; k < 2; k++) {
		in = repeat("x", QVMI_RSP_MAX_GARBAGE + k, "$OK#9a", &len);
		peer = rsp_peer(ctx, &c, in, len);
		CHECK_INT(qvmi__rsp_recv(&c, false, -1, buf, sizeof(buf), &n),
			  ==, k ? -EPROTO : 0);
		qvmi__rsp_deinit(&c);
		close(peer);
		free(in);
		in = repeat("$OK#00", 8 + k, "$OK#9a", &len);
		peer = rsp_peer(ctx, &c, in, len);
		CHECK_INT(qvmi__rsp_recv(&c, false, -1, buf, sizeof(buf), &n),
			  ==, k ? -EPROTO : 0);
		qvmi__rsp_deinit(&c);
		close(peer);
		free(in);
		in = repeat("-", QVMI_RSP_MAX_RETRIES + k, "+", &len);
		peer = rsp_peer(ctx, &c, in, len);
		CHECK_INT(qvmi__rsp_send(&c, "g", 1), ==, k ? -EPROTO : 0);
		qvmi__rsp_deinit(&c);
		close(peer);
		free(in);
		in = repeat("$OK#9a", QVMI_RSP_QUEUE + k, "+", &len);
		peer = rsp_peer(ctx, &c, in, len);
		CHECK_INT(qvmi__rsp_send(&c, "g", 1), ==, k ? -EPROTO : 0);
		qvmi__rsp_deinit(&c);
		close(peer);
		free(in);
	}
	/* a packet longer than the stub takes is not sent */
	big = malloc(QVMI_RSP_MAX_PACKET + 1);
	CHECK(big);
	memset(big, 'a', QVMI_RSP_MAX_PACKET + 1);
	peer = rsp_peer(ctx, &c, "++", 2);
	CHECK_OK(qvmi__rsp_send(&c, big, QVMI_RSP_MAX_PACKET));
	CHECK_INT(qvmi__rsp_send(&c, big, QVMI_RSP_MAX_PACKET + 1), ==,
		  -EINVAL);
	qvmi__rsp_deinit(&c);
	close(peer);
	free(big);
	qvmi_ctx_destroy(ctx);
}

/* ---- gdb target descriptions (gdb-xml.c) ---------------------------------- */

static int layout_of(const char *xml, qvmi_gdb_fetch_fn fetch, void *arg)
{
	struct qvmi__gdb_layout l;
	int err = qvmi__gdb_parse_layout(xml, strlen(xml), fetch, arg, &l);

	if (!err)
		qvmi__gdb_layout_deinit(&l);
	return err;
}

/* "f<k>": a register, and an include of f<k+1> while k < *(int *)arg;
 * "many": 33 includes; any other name: register 999 alone. */
static int fetch_chain(const char *href, char **ret, size_t *len, void *arg)
{
	int k = href[0] == 'f' ? atoi(href + 1) : 999, last = *(int *)arg;
	char *b = malloc(6000);
	size_t n;

	CHECK(b);
	n = (size_t)snprintf(b, 6000,
			     "<reg name=\"r%d\" bitsize=\"64\" "
			     "regnum=\"%d\"/>",
			     k, k);
	if (!strcmp(href, "many"))
		for (int i = 0; i < 33; i++)
			n += (size_t)snprintf(b + n, 6000 - n,
					      "<xi:include href=\"f%d\"/>",
					      200 + i);
	else if (k < last)
		n += (size_t)snprintf(b + n, 6000 - n,
				      "<xi:include href=\"f%d\"/>", k + 1);
	*ret = b;
	*len = n;
	return 0;
}

static void gdb_xml_bounds(void)
{
	char *x = malloc(80000);
	size_t n;
	int last;

	CHECK(x);
	/* 16 attributes, then 17 */
	for (int k = 16; k <= 17; k++) {
		n = (size_t)snprintf(x, 80000,
				     "<reg name=\"r\" bitsize=\"64\"");
		for (int i = 2; i < k; i++)
			n += (size_t)snprintf(x + n, 80000 - n, " a%d=\"\"", i);
		snprintf(x + n, 80000 - n, "/>");
		CHECK_INT(layout_of(x, NULL, NULL), ==, k == 16 ? 0 : -EBADMSG);
	}
	/* a number of 20 digits that wraps to 64 */
	CHECK_INT(
		layout_of("<reg name=\"r\" bitsize=\"18446744073709551680\"/>",
			  NULL, NULL),
		==, -EBADMSG);
	/* 1024 registers, then 1025 */
	for (int k = 1024; k <= 1025; k++) {
		n = 0;
		for (int i = 0; i < k; i++)
			n += (size_t)snprintf(
				x + n, 80000 - n,
				"<reg name=\"r%d\" bitsize=\"8\"/>", i);
		CHECK_INT(layout_of(x, NULL, NULL), ==,
			  k == 1024 ? 0 : -EBADMSG);
	}
	/* includes: 4 deep, then 5; 33 files; a 300-byte name */
	last = 4;
	CHECK_OK(layout_of("<xi:include href=\"f1\"/>", fetch_chain, &last));
	last = 5;
	CHECK_INT(layout_of("<xi:include href=\"f1\"/>", fetch_chain, &last),
		  ==, -ELOOP);
	last = 0;
	CHECK_INT(layout_of("<xi:include href=\"many\"/>", fetch_chain, &last),
		  ==, -ELOOP);
	n = (size_t)snprintf(x, 80000, "<xi:include href=\"g");
	memset(x + n, 'x', 300);
	snprintf(x + n + 300, 80000 - n - 300, "\"/>");
	CHECK_INT(layout_of(x, fetch_chain, &last), ==, -EBADMSG);
	free(x);
}

/* ---- the gdbstub's handshake and thread list (gdb.c) ---------------------- */

static int gdb_attach_model(struct model *m)
{
	struct qvmi_ctx *ctx = NULL;
	QVMI_OPTS(qvmi_gdb_opts, o, .timeout_ms = 2000);
	int err;

	CHECK_OK(qvmi_ctx_create(&ctx));
	err = qvmi__attach_gdb_fd(ctx, model_start(m), &o);
	qvmi_ctx_destroy(ctx);
	model_join(m);
	return err;
}

static void gdb_stub_limits(void)
{
	char *list = malloc(4097 * 9 + 2), *p;

	CHECK(list);
	/* stop replies before the answer to qSupported: 4 taken, not 5 */
	for (int k = 4; k <= 5; k++) {
		struct model m = { .early_stops = k };

		CHECK_INT(gdb_attach_model(&m), ==, k == 4 ? 0 : -EPROTO);
	}
	/* 4096 threads, then 4097 */
	p = list;
	*p++ = 'm';
	for (int i = 1; i <= 4096; i++)
		p += sprintf(p, "%s%x", i > 1 ? "," : "", i);
	{
		struct model m = { .threads = list };

		CHECK_OK(gdb_attach_model(&m));
	}
	p = list;
	*p++ = 'm';
	for (int i = 1; i <= 4097; i++)
		p += sprintf(p, "%s%x", i > 1 ? "," : "", i);
	{
		struct model m = { .threads = list };

		CHECK_INT(gdb_attach_model(&m), ==, -EPROTO);
	}
	free(list);
}

static const struct qvmi_test bounds_wire_tests[] = {
	{ "ses_hdr_size_multiple_of_8", ses_hdr_size_multiple_of_8 },
	{ "ses_info_limits", ses_info_limits },
	{ "ses_info_short", ses_info_short },
	{ "ses_errtext_bounds", ses_errtext_bounds },
	{ "kvmi_id_past_table", kvmi_id_past_table },
	{ "rsp_decode_bounds", rsp_decode_bounds },
	{ "rsp_frame_hex_bounds", rsp_frame_hex_bounds },
	{ "rsp_numbers_bounds", rsp_numbers_bounds },
	{ "rsp_conn_limits", rsp_conn_limits },
	{ "gdb_xml_bounds", gdb_xml_bounds },
	{ "gdb_stub_limits", gdb_stub_limits },
};

QVMI_SUITE(bounds_wire, bounds_wire_tests);
